import Foundation

/// The central directory of a zip archive (PKWARE APPNOTE 6.3.10 §4.3.12–4.3.16, with ZIP64), parsed from bytes
/// that are checked before every read.
enum ZipDirectory {
    static func parse(_ data: Data) throws -> [ZipArchive.Member] {
        let (count, cdOffset, cdSize) = try endRecord(data)
        let (cdEnd, o) = cdOffset.addingReportingOverflow(cdSize)
        guard !o, cdEnd <= UInt64(data.count) else { throw ZipError.notAnArchive("the central directory lies outside the file") }
        // Each record is at least 46 bytes: a count the directory cannot hold is a lie, not an allocation size.
        guard count <= cdSize / 46 else { throw ZipError.notAnArchive("\(count) members cannot fit in a \(cdSize)-byte directory") }
        var members: [ZipArchive.Member] = []
        members.reserveCapacity(Int(count))
        var p = Int(cdOffset)
        let end = Int(cdEnd)
        for _ in 0..<count {
            guard end - p >= 46, u32(data, p) == 0x0201_4B50 else { throw ZipError.notAnArchive("damaged central directory record at offset \(p)") }
            let flags = u16(data, p + 8), method = u16(data, p + 10), crc = u32(data, p + 16)
            var compressed = UInt64(u32(data, p + 20)), uncompressed = UInt64(u32(data, p + 24))
            let nameLength = Int(u16(data, p + 28)), extraLength = Int(u16(data, p + 30)), commentLength = Int(u16(data, p + 32))
            var offset = UInt64(u32(data, p + 42))
            guard end - p - 46 >= nameLength + extraLength + commentLength else { throw ZipError.notAnArchive("damaged central directory record at offset \(p)") }
            let base = data.startIndex
            let nameBytes = data[(base + p + 46)..<(base + p + 46 + nameLength)]
            let name = String(decoding: nameBytes, as: UTF8.self)
            // ZIP64 extended information (§4.5.3): present only for the fields that hold 0xFFFFFFFF.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            while extraEnd - q >= 4 {
                let id = u16(data, q), size = Int(u16(data, q + 2))
                guard extraEnd - q - 4 >= size else { break }
                if id == 0x0001 {
                    var r = q + 4
                    func next() throws -> UInt64 {
                        guard q + 4 + size - r >= 8 else { throw ZipError.notAnArchive("damaged ZIP64 field of '\(name)'") }
                        defer { r += 8 }
                        return u64(data, r)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if offset == 0xFFFF_FFFF { offset = try next() }
                }
                q += 4 + size
            }
            members.append(.init(name: name, method: method, flags: flags, crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
        return members
    }

    /// The end of central directory record (and its ZIP64 version when the classic one is saturated):
    /// member count, directory offset and size.
    private static func endRecord(_ data: Data) throws -> (count: UInt64, offset: UInt64, size: UInt64) {
        guard data.count >= 22 else { throw ZipError.notAnArchive("too short") }
        var p = data.count - 22
        let lowest = max(0, data.count - 22 - 0xFFFF)
        while p >= lowest, u32(data, p) != 0x0605_4B50 { p -= 1 }
        guard p >= lowest else { throw ZipError.notAnArchive("no end of central directory record") }
        var count = UInt64(u16(data, p + 10)), size = UInt64(u32(data, p + 12)), offset = UInt64(u32(data, p + 16))
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF, p >= 20, u32(data, p - 20) == 0x0706_4B50 {
            let z = u64(data, p - 20 + 8)
            guard z <= UInt64(data.count), UInt64(data.count) - z >= 56, u32(data, Int(z)) == 0x0606_4B50 else {
                throw ZipError.notAnArchive("damaged ZIP64 end of central directory record")
            }
            count = u64(data, Int(z) + 32); size = u64(data, Int(z) + 40); offset = u64(data, Int(z) + 48)
        }
        return (count, offset, size)
    }

    static func u16(_ d: Data, _ i: Int) -> UInt16 {
        let b = d.startIndex + i
        return UInt16(d[b]) | UInt16(d[b + 1]) << 8
    }

    static func u32(_ d: Data, _ i: Int) -> UInt32 {
        UInt32(u16(d, i)) | UInt32(u16(d, i + 2)) << 16
    }

    static func u64(_ d: Data, _ i: Int) -> UInt64 {
        UInt64(u32(d, i)) | UInt64(u32(d, i + 4)) << 32
    }
}
