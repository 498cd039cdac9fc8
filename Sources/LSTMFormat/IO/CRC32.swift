import CZlibShim
import Foundation

/// CRC-32 (ISO-HDLC, as in zlib, PNG, gzip and zip: polynomial 0xEDB88320), computed by zlib's `crc32`.
/// Used for the `.lstm` header and tensors and shown by `inspect`.
public enum CRC32 {
    /// zlib takes a 32-bit length; longer buffers are fed in chunks of this size.
    private static let chunk = 1 << 30

    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    public static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        update(UInt32(crc32(0, nil, 0)), raw)
    }

    /// The CRC-32 of the bytes summed into `crc` followed by `raw`.
    static func update(_ crc: UInt32, _ raw: UnsafeRawBufferPointer) -> UInt32 {
        var crc = uLong(crc)
        guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return UInt32(crc) }
        var done = 0
        while done < raw.count {
            let n = min(chunk, raw.count - done)
            crc = crc32(crc, base + done, uInt(n))
            done += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// Eight lowercase hex digits, as `inspect` shows it.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
