import CZlibShim
import Foundation

/// CRC-32 (ISO-HDLC, as in zlib, PNG and gzip) from zlib's `crc32`, used for the `.lstm` header and tensors.
enum CRC32 {
    /// zlib takes a 32-bit length; longer buffers are fed in chunks of this size.
    private static let chunk = 1 << 30

    static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        var crc = crc32(0, nil, 0)
        guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return UInt32(crc) }
        var done = 0
        while done < raw.count {
            let n = min(chunk, raw.count - done)
            crc = crc32(crc, base + done, uInt(n))
            done += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
