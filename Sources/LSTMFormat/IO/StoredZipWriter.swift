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
            let name = Data(m.name.utf8)
            var local = Data()
            local.le(UInt32(0x0403_4B50)); local.le(UInt16(20)); local.le(UInt16(0)); local.le(UInt16(0))
            local.le(dosTime); local.le(dosDate); local.le(crc)
            local.le(UInt32(m.bytes.count)); local.le(UInt32(m.bytes.count))
            local.le(UInt16(name.count)); local.le(UInt16(0))
            local.append(name)
            try AtomicFile.writeAll(local, toDescriptor: fd)
            try AtomicFile.writeAll(m.bytes, toDescriptor: fd)
            // Central directory entry: made by UNIX (3) zip 2.0, regular file rw-r--r--.
            directory.le(UInt32(0x0201_4B50)); directory.le(UInt16(0x0314)); directory.le(UInt16(20))
            directory.le(UInt16(0)); directory.le(UInt16(0)); directory.le(dosTime); directory.le(dosDate)
            directory.le(crc); directory.le(UInt32(m.bytes.count)); directory.le(UInt32(m.bytes.count))
            directory.le(UInt16(name.count)); directory.le(UInt16(0)); directory.le(UInt16(0))
            directory.le(UInt16(0)); directory.le(UInt16(0)); directory.le(UInt32(0o100644) << 16)
            directory.le(UInt32(offset))
            directory.append(name)
            offset += local.count + m.bytes.count
        }
        var end = Data()
        end.le(UInt32(0x0605_4B50)); end.le(UInt16(0)); end.le(UInt16(0))
        end.le(UInt16(members.count)); end.le(UInt16(members.count))
        end.le(UInt32(directory.count)); end.le(UInt32(offset)); end.le(UInt16(0))
        try AtomicFile.writeAll(directory + end, toDescriptor: fd)
    }
}

private extension Data {
    mutating func le<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
