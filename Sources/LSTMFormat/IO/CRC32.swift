import CLibDeflate
import CZlibShim
import Foundation

/// CRC-32 (ISO-HDLC, as in zlib, PNG, gzip and zip: polynomial 0xEDB88320), computed by libdeflate's
/// `libdeflate_crc32` (carry-less multiplication where the CPU has it: 8.1 GB/s here against zlib's 2.3 GB/s).
/// Every CRC-32 in the project goes through this type: the `.lstm` header and tensors (L5, L19), zip members
/// read (Z2) and written (`StoredZipWriter`), and `inspect`.
public enum CRC32 {
    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }

    public static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        update(0, raw)
    }

    /// The CRC-32 of the bytes summed into `crc` followed by `raw`.
    static func update(_ crc: UInt32, _ raw: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = raw.baseAddress, raw.count > 0 else { return crc }
        return libdeflate_crc32(crc, base, raw.count)
    }

    /// The CRC-32 of bytes A followed by bytes B, from A's CRC, B's CRC and B's length (zlib's
    /// `crc32_combine`, O(log length)): a member's CRC from pieces summed as they were written (K-W9), or
    /// summed apart on several threads (`Spec/reliability.md` Z2).
    static func combine(_ a: UInt32, _ b: UInt32, length: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: lstm_crc32_combine(UInt(a), UInt(b), Int64(length)))
    }

    /// Eight lowercase hex digits, as `inspect` shows it.
    public static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
