import Foundation
import ZIPFoundation

/// One member of a zip archive (`.keras`, `.npz`), read with its CRC-32 checked.
///
/// ZIPFoundation's consumer-based `Archive.extract` computes the CRC-32 of what it reads but leaves comparing
/// it with the archive's record to the caller; unchecked, a flipped byte inside a stored member (e.g. the
/// `"activation"` key of a `.keras` config) reads as a different, valid-looking file.
enum ZipMember {
    static func read(_ entry: Entry, from archive: Archive) throws -> Data {
        var data = Data()
        data.reserveCapacity(Int(min(entry.uncompressedSize, 1 << 26)))
        let actual = try archive.extract(entry, skipCRC32: false) { data.append($0) }
        guard actual == entry.checksum else {
            throw ZipMemberError.checksumMismatch(member: entry.path, recorded: entry.checksum, actual: actual)
        }
        return data
    }
}

public enum ZipMemberError: Error, CustomStringConvertible, Equatable, Sendable {
    case checksumMismatch(member: String, recorded: UInt32, actual: UInt32)

    public var description: String {
        switch self {
        case .checksumMismatch(let m, let r, let a):
            "zip member '\(m)' is damaged: its CRC-32 is \(String(format: "%08x", a)), the archive records \(String(format: "%08x", r))"
        }
    }
}
