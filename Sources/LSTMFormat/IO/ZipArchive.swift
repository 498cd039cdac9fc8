import Foundation

/// A zip archive opened for reading (`.keras`, `.npz`): the central directory, parsed with every offset and
/// size checked against the file, and members read through `ZipInflate` (`Spec/reliability.md`, Z1–Z5).
///
/// ZIPFoundation (still used to write archives) inflates with a loop that never ends on some damaged streams
/// and checks CRCs with a byte loop on Linux; reading here needs only the central directory, zlib's `inflate`
/// and zlib's `crc32`. The file is memory-mapped; a member is read with one copy (stored) or one inflate.
struct ZipArchive {
    struct Member: Equatable {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64
        var isDirectory: Bool { name.hasSuffix("/") }
    }

    let data: Data
    let members: [Member]

    /// Opens `url`; throws `ZipError` when it is not a zip archive or its directory is damaged.
    init(url: URL) throws {
        try IOProblem.requireFile(url)
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch { throw IOProblem.cannotOpen(IOProblem.reason(error)) }
        try self.init(data: data)
    }

    init(data: Data) throws {
        self.data = data
        self.members = try ZipDirectory.parse(data)
        var seen = Set<String>()
        for m in members where !seen.insert(m.name).inserted { throw ZipError.duplicateMember(m.name) }
    }

    subscript(name: String) -> Member? { members.first { $0.name == name } }

    /// The member's bytes, inflated and CRC-checked; members declaring more than `limit` bytes are refused
    /// before anything is allocated.
    func read(_ member: Member, limit: UInt64) throws -> Data {
        guard member.uncompressedSize <= limit else {
            throw ZipError.memberTooLarge(member.name, size: member.uncompressedSize, limit: limit)
        }
        guard member.flags & 1 == 0 else { throw ZipError.unsupported(member.name, "it is encrypted") }
        let start = try dataStart(member)
        let (end, o) = start.addingReportingOverflow(member.compressedSize)
        guard !o, end <= UInt64(data.count) else { throw ZipError.damaged(member.name, "its data runs past the end of the file") }
        let base = data.startIndex
        let raw = data[(base + Int(start))..<(base + Int(end))]
        let out: Data
        switch member.method {
        case 0:
            guard member.compressedSize == member.uncompressedSize else {
                throw ZipError.damaged(member.name, "a stored member of \(member.compressedSize) bytes declares \(member.uncompressedSize)")
            }
            // A copy with indices from 0: a slice of the mapping keeps the file's offsets as its indices, which
            // callers indexing from 0 would misread (found by the zip fuzz target).
            out = Data(raw)
        case 8:
            out = try ZipInflate.inflate(raw, size: member.uncompressedSize, member: member.name)
        default:
            throw ZipError.unsupported(member.name, "compression method \(member.method) (only stored and deflate are)")
        }
        let crc = CRC32.checksum(out)
        guard crc == member.crc32 else { throw ZipError.checksumMismatch(member: member.name, recorded: member.crc32, actual: crc) }
        return out
    }

    /// Where the member's data begins: after its local header (30 bytes, the name and the extra field).
    private func dataStart(_ member: Member) throws -> UInt64 {
        let offset = member.localHeaderOffset
        guard offset <= UInt64(data.count), UInt64(data.count) - offset >= 30 else {
            throw ZipError.damaged(member.name, "its local header lies outside the file")
        }
        let o = Int(offset)
        guard ZipDirectory.u32(data, o) == 0x0403_4B50 else { throw ZipError.damaged(member.name, "no local header signature at offset \(offset)") }
        return offset + 30 + UInt64(ZipDirectory.u16(data, o + 26)) + UInt64(ZipDirectory.u16(data, o + 28))
    }
}

public enum ZipError: Error, CustomStringConvertible, Equatable, Sendable {
    case notAnArchive(String)
    case duplicateMember(String)
    case memberTooLarge(String, size: UInt64, limit: UInt64)
    case damaged(String, String)
    case unsupported(String, String)
    case checksumMismatch(member: String, recorded: UInt32, actual: UInt32)

    /// The problem without the "not a zip archive" frame, for a file already known to start like one.
    public var reason: String {
        if case .notAnArchive(let why) = self { return why }
        return description
    }

    public var description: String {
        switch self {
        case .notAnArchive(let why): "not a zip archive: \(why)"
        case .duplicateMember(let n): "the archive has two members named '\(n)'; refusing it (readers disagree on which one counts)"
        case .memberTooLarge(let n, let s, let l): "zip member '\(n)' declares \(s) bytes, more than its limit of \(l) bytes"
        case .damaged(let n, let why): "damaged zip member '\(n)': \(why)"
        case .unsupported(let n, let why): "zip member '\(n)' cannot be read: \(why)"
        case .checksumMismatch(let m, let r, let a):
            "damaged zip member '\(m)': its CRC-32 is \(CRC32.hex(a)), the archive records \(CRC32.hex(r))"
        }
    }
}
