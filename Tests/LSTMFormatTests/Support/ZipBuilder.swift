import Foundation

/// Builds zip archives byte by byte (PKWARE APPNOTE §4.3), independently of the reader under test, so that
/// every field can lie: the declared sizes, the CRC-32, the method, duplicate names.
struct ZipBuilder {
    struct Member {
        var name: String
        /// The bytes stored in the archive (already deflated for method 8).
        var raw: [UInt8]
        var method: UInt16 = 0
        var crc32: UInt32
        var uncompressedSize: UInt32
    }

    var members: [Member] = []

    /// A stored member with its true CRC and size.
    mutating func stored(_ name: String, _ bytes: [UInt8], crc32: UInt32) {
        members.append(Member(name: name, raw: bytes, crc32: crc32, uncompressedSize: UInt32(bytes.count)))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = [], directory: [UInt8] = []
        func u16(_ v: UInt16, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32, _ into: inout [UInt8]) { u16(UInt16(v & 0xFFFF), &into); u16(UInt16(v >> 16), &into) }
        for m in members {
            let offset = UInt32(out.count)
            let name = Array(m.name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(m.method, &out); u16(0, &out); u16(0x21, &out)
            u32(m.crc32, &out); u32(UInt32(m.raw.count), &out); u32(m.uncompressedSize, &out)
            u16(UInt16(name.count), &out); u16(0, &out); out += name; out += m.raw
            u32(0x0201_4B50, &directory); u16(20, &directory); u16(20, &directory); u16(0, &directory); u16(m.method, &directory)
            u16(0, &directory); u16(0x21, &directory); u32(m.crc32, &directory); u32(UInt32(m.raw.count), &directory)
            u32(m.uncompressedSize, &directory); u16(UInt16(name.count), &directory); u16(0, &directory); u16(0, &directory)
            u16(0, &directory); u16(0, &directory); u32(0, &directory); u32(offset, &directory); directory += name
        }
        let cdOffset = UInt32(out.count)
        out += directory
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(UInt16(members.count), &out); u16(UInt16(members.count), &out)
        u32(UInt32(directory.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }
}
