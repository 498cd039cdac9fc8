import Foundation

/// A zip archive opened for reading (`.keras`, `.npz`): the central directory, parsed with every offset and
/// size checked against the file, and members read through `ZipInflate` (`Spec/reliability.md`, Z1–Z5).
///
/// ZIPFoundation (still used to write archives) inflates with a loop that never ends on some damaged streams
/// and checks CRCs with a byte loop on Linux; reading here needs only the central directory, zlib's `inflate`
/// and `CRC32` (libdeflate). The file is memory-mapped; a stored member is a view of the mapping (no copy, M4), a
/// deflated one is inflated once.
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
    /// The mapped file `data` views (nil for an archive in memory).
    let mapping: MappedFile?

    /// Opens `url`; throws `ZipError` when it is not a zip archive or its directory is damaged.
    init(url: URL) throws {
        try IOProblem.requireFile(url)
        let mapping = try MappedFile(url: url)
        try self.init(data: mapping.data, mapping: mapping)
    }

    init(data: Data) throws {
        try self.init(data: data, mapping: nil)
    }

    private init(data: Data, mapping: MappedFile?) throws {
        self.data = data
        self.mapping = mapping
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
            // A view or a copy with indices from 0: a slice of the mapping keeps the file's offsets as its
            // indices, which callers indexing from 0 would misread (found by the zip fuzz target).
            if let mapping {
                out = mapping.view(Int(start)..<Int(end))
                let crc = Self.checksumDroppingPages(out, mapping: mapping, offset: Int(start))
                guard crc == member.crc32 else { throw ZipError.checksumMismatch(member: member.name, recorded: member.crc32, actual: crc) }
                return out
            }
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

    /// The bytes of a stored member as they lie in the mapped file, for readers that use them in place (an
    /// HDF5 image): nil when the member is compressed or the archive is not mapped. Checked as `read` checks.
    func storedRange(_ member: Member, limit: UInt64) throws -> Range<Int>? {
        guard let mapping, member.method == 0 else { return nil }
        _ = try read(member, limit: limit)  // sizes, bounds and CRC-32, pages dropped as checked
        let start = try dataStart(member)
        precondition(mapping.count >= Int(start) + Int(member.compressedSize))
        return Int(start)..<(Int(start) + Int(member.compressedSize))
    }

    /// Members of at least this many bytes are summed in two halves on two threads (Z2).
    static let parallelChecksumThreshold = 16 << 20

    /// CRC-32 of a view of `mapping` at `offset`, 8 MiB at a time, dropping each part's pages once summed: a
    /// large stored member is checked without all of it becoming resident at once (M4). From
    /// `parallelChecksumThreshold` bytes, in two halves on two threads, joined (Z2).
    private static func checksumDroppingPages(_ bytes: Data, mapping: MappedFile, offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard raw.count >= parallelChecksumThreshold else { return checksum(raw, 0..<raw.count, mapping: mapping, offset: offset) }
            let half = raw.count / 2
            let halves = Halves(raw: raw)
            defer { halves.crcs.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let range = k == 0 ? 0..<half : half..<halves.raw.count
                halves.crcs[k] = checksum(halves.raw, range, mapping: mapping, offset: offset)
            }
            return CRC32.combine(halves.crcs[0], halves.crcs[1], length: raw.count - half)
        }
    }

    /// The member's bytes and the two halves' CRC-32s, shared by the two threads (each writes its own).
    private struct Halves: @unchecked Sendable {
        let raw: UnsafeRawBufferPointer
        let crcs = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
    }

    /// CRC-32 of `raw[range]`, 8 MiB at a time, each part's pages dropped once summed.
    private static func checksum(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, mapping: MappedFile, offset: Int) -> UInt32 {
        let part = 8 << 20
        var crc: UInt32 = 0
        var done = range.lowerBound
        while done < range.upperBound {
            let n = min(part, range.upperBound - done)
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: raw[done..<(done + n)]))
            mapping.dropResidentPages((offset + done)..<(offset + done + n))
            done += n
        }
        return crc
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
