import Foundation

/// Writes a zip archive whose members are stored (not compressed), with CRC-32s from `CRC32` (libdeflate;
/// `Spec/keras-mapping.md`, K-W8): the default `.keras`, `.pt` and `.npz` writer. ZIPFoundation (still used for
/// deflated members and ZIP64) computes CRC-32 on Linux with a byte-at-a-time Swift loop, since it looks for a
/// `zlib` module Linux does not have: about 100 MB/s, measured at a quarter of a 50 MB `.keras` write.
///
/// The layout is the plain one every reader takes: per member a local header (no data descriptor: the CRC is
/// computed first), the bytes, then the central directory and its end record. Without ZIP64, so members and
/// offsets MUST stay below 4 GiB: `fits` says whether they do (callers use ZIPFoundation otherwise).
enum StoredZipWriter {
    /// A member: its name (ASCII) and bytes, which live as long as the call.
    struct Member {
        let name: String
        let bytes: UnsafeRawBufferPointer
    }

    /// MS-DOS date 1980-01-01, time 00:00 (the date Keras writes, K-W4).
    static let dosDate: UInt16 = (1 << 5) | 1
    static let dosTime: UInt16 = 0
    /// The extra field Android's zipalign pads local headers with: a 2-byte alignment, then zeros (K-W9).
    static let alignmentExtraID: UInt16 = 0xD935
    /// Largest start `write(_:last:to:body:)` pads a last member to (the alignment field holds 16 bits).
    static let largestStart = 1 << 15

    /// Whether the archive of members of these sizes (and name lengths) fits the zip format without ZIP64.
    static func fits(_ members: [(nameLength: Int, size: Int)]) -> Bool {
        var offset = 0
        for m in members { offset += 30 + m.nameLength + m.size }
        let directory = members.reduce(0) { $0 + 46 + $1.nameLength }
        return offset + directory + 22 < Int(UInt32.max) && members.count < Int(UInt16.max)
    }

    /// Writes members held as `Data` (each viewed in place for the length of the call, never copied).
    static func write(_ members: [(name: String, bytes: Data)], to url: URL) throws {
        func viewing(_ k: Int, _ viewed: [Member]) throws {
            guard k < members.count else { return try write(viewed, to: url) }
            try members[k].bytes.withUnsafeBytes { try viewing(k + 1, viewed + [Member(name: members[k].name, bytes: $0)]) }
        }
        try viewing(0, [])
    }

    /// Writes the archive to a new file at `url` (created exclusively, as `AtomicFile` expects).
    static func write(_ members: [Member], to url: URL) throws {
        precondition(fits(members.map { ($0.name.utf8.count, $0.bytes.count) }), "StoredZipWriter: needs ZIP64")
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        var directory = Data()
        var offset = 0
        for m in members {
            let crc = CRC32.checksum(m.bytes)
            let local = localHeader(m.name, crc: crc, size: m.bytes.count)
            try AtomicFile.writeAll(local, toDescriptor: fd)
            try AtomicFile.writeAll(m.bytes, toDescriptor: fd)
            directory.append(directoryEntry(m.name, crc: crc, size: m.bytes.count, offset: offset))
            offset += local.count + m.bytes.count
        }
        try AtomicFile.writeAll(directory + endRecord(members: members.count, directory: directory.count, at: offset), toDescriptor: fd)
    }

    /// Where `write(_:last:to:body:)` would start the last member's bytes after `leading` (a power of two from
    /// 4096 up, so the member's 4096-aligned data stays aligned in the archive: H16), or nil when that is
    /// beyond `largestStart` (leading members of more than about 32 KiB).
    static func lastMemberStart(after leading: [Member], last name: String) -> Int? {
        let bare = leading.reduce(0) { $0 + 30 + $1.name.utf8.count + $1.bytes.count } + 30 + name.utf8.count + 6
        var start = RawDataWriter.alignment
        while start < bare { start *= 2 }
        return start <= largestStart ? start : nil
    }

    /// Writes `leading`, then a last member called `name` that `body` writes straight into the archive (K-W9):
    /// `body` creates the file at `url` and writes the member's bytes from offset `lastMemberStart` to the end of
    /// the file, leaving the bytes before it to this writer, and returns the regions it wrote whose CRC-32s it
    /// summed as it went. Then the member's CRC-32 is made from those and the rest of the member read from the
    /// file, and the leading members, the last member's local header (padded to the start with Android
    /// zipalign's alignment extra field) and the central directory are written around it. Throws `IOProblem`
    /// when the archive would need ZIP64; precondition: `lastMemberStart` is not nil.
    static func write(_ leading: [Member], last name: String, to url: URL, body: (_ start: Int) throws -> [RawDataWriter.Region]) throws {
        guard let start = lastMemberStart(after: leading, last: name) else { preconditionFailure("StoredZipWriter: leading members too large") }
        let known = try body(start)
        let fd = open(url.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        let end = Int(st.st_size), count = end - start
        guard count >= 0, fits(leading.map { ($0.name.utf8.count, $0.bytes.count) } + [(name.utf8.count + start, count)]) else {
            throw IOProblem.cannotWrite("the archive would need ZIP64 (4 GiB or more)")
        }
        let crc = try checksum(fd, from: start, count: count, known: known)
        var prefix = Data(), directory = Data()
        for m in leading {
            let crc = CRC32.checksum(m.bytes)
            directory.append(directoryEntry(m.name, crc: crc, size: m.bytes.count, offset: prefix.count))
            prefix.append(localHeader(m.name, crc: crc, size: m.bytes.count))
            prefix.append(contentsOf: m.bytes)
        }
        let headerOffset = prefix.count
        var extra = Data()
        let padding = start - prefix.count - 30 - name.utf8.count - 4
        extra.le(alignmentExtraID); extra.le(UInt16(padding)); extra.le(UInt16(start))
        extra.append(Data(count: padding - 2))
        prefix.append(localHeader(name, crc: crc, size: count, extra: extra))
        precondition(prefix.count == start, "StoredZipWriter: the last member's header does not end at its start")
        directory.append(directoryEntry(name, crc: crc, size: count, offset: headerOffset))
        try AtomicFile.writeAll(prefix, toDescriptor: fd, at: 0)
        try AtomicFile.writeAll(directory + endRecord(members: leading.count + 1, directory: directory.count, at: end), toDescriptor: fd, at: end)
    }

    // MARK: records

    private static func localHeader(_ name: String, crc: UInt32, size: Int, extra: Data = Data()) -> Data {
        var local = Data()
        local.le(UInt32(0x0403_4B50)); local.le(UInt16(20)); local.le(UInt16(0)); local.le(UInt16(0))
        local.le(dosTime); local.le(dosDate); local.le(crc)
        local.le(UInt32(size)); local.le(UInt32(size))
        local.le(UInt16(name.utf8.count)); local.le(UInt16(extra.count))
        local.append(Data(name.utf8))
        local.append(extra)
        return local
    }

    /// Central directory entry: made by UNIX (3) zip 2.0, regular file rw-r--r--.
    private static func directoryEntry(_ name: String, crc: UInt32, size: Int, offset: Int) -> Data {
        var entry = Data()
        entry.le(UInt32(0x0201_4B50)); entry.le(UInt16(0x0314)); entry.le(UInt16(20))
        entry.le(UInt16(0)); entry.le(UInt16(0)); entry.le(dosTime); entry.le(dosDate)
        entry.le(crc); entry.le(UInt32(size)); entry.le(UInt32(size))
        entry.le(UInt16(name.utf8.count)); entry.le(UInt16(0)); entry.le(UInt16(0))
        entry.le(UInt16(0)); entry.le(UInt16(0)); entry.le(UInt32(0o100644) << 16)
        entry.le(UInt32(offset))
        entry.append(Data(name.utf8))
        return entry
    }

    private static func endRecord(members: Int, directory: Int, at offset: Int) -> Data {
        var end = Data()
        end.le(UInt32(0x0605_4B50)); end.le(UInt16(0)); end.le(UInt16(0))
        end.le(UInt16(members)); end.le(UInt16(members))
        end.le(UInt32(directory)); end.le(UInt32(offset)); end.le(UInt16(0))
        return end
    }

    // MARK: file access

    /// The CRC-32 of `count` bytes of `fd` from `offset`: the `known` regions' CRC-32s (summed as they were
    /// written) combined with those of the bytes between them, read 4 MiB at a time (just written: they come
    /// from the page cache, and the process never holds more than one piece of them). Known regions outside
    /// the range or overlapping one another are an error, never trusted.
    static func checksum(_ fd: Int32, from offset: Int, count: Int, known: [RawDataWriter.Region] = []) throws -> UInt32 {
        let piece = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece, alignment: 64)
        defer { buffer.deallocate() }
        var crc: UInt32 = 0, position = offset
        func read(upTo end: Int) throws {
            while position < end {
                let n = pread(fd, buffer.baseAddress, min(piece, end - position), off_t(position))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw IOProblem.cannotWrite(String(cString: strerror(n < 0 ? errno : EIO))) }
                crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                position += n
            }
        }
        for region in known.sorted(by: { $0.offset < $1.offset }) {
            guard region.offset >= position, region.offset + region.count <= offset + count else {
                throw IOProblem.cannotWrite("a region written at \(region.offset) (\(region.count) bytes) is not inside the member")
            }
            try read(upTo: region.offset)
            crc = CRC32.combine(crc, region.crc, length: region.count)
            position += region.count
        }
        try read(upTo: offset + count)
        return crc
    }
}

private extension Data {
    mutating func le<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
