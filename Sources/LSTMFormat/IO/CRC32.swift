import CZlibShim
import Foundation

/// CRC-32 (ISO-HDLC, the zlib/PNG/zip polynomial 0xEDB88320), computed by zlib.
public enum CRC32 {
    public static func checksum(_ data: Data, continuing crc: UInt32 = 0) -> UInt32 {
        data.withUnsafeBytes { raw -> UInt32 in
            var value = UInt(crc)
            var base = raw.baseAddress?.assumingMemoryBound(to: Bytef.self)
            var remaining = raw.count
            // zlib takes a uInt length: feed large buffers in pieces.
            while remaining > 0, let p = base {
                let n = min(remaining, 1 << 30)
                value = crc32(value, p, uInt(n))
                base = p + n
                remaining -= n
            }
            return UInt32(truncatingIfNeeded: value)
        }
    }

    /// Eight lowercase hex digits, as `inspect` shows it.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
