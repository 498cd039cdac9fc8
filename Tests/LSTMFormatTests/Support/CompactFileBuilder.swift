import Foundation

/// Builds `.lstm` bytes by hand, field by field as `Spec/lstm-format.md` lays them out, independently of the
/// writer under test. Every field can be set to a wrong value to break one rule.
///
/// `minimal()` is a valid file of the model with one forward layer (input 1, hidden 1), no dense layer,
/// `return_sequences` true, and twelve float32 tensors of one element each, holding 0.5, 1.5, …, 11.5 in
/// canonical order, at offsets 0, 64, …, 704.
struct CompactFileBuilder {
    struct Entry {
        var name: String
        var dtype = "float32"
        var shape: String
        var offset: Int
        var length = 4
        /// Nil: the CRC-32 of `data`.
        var crc32: UInt32?
        var data: [UInt8]
    }

    static let magic: [UInt8] = [0x89, 0x4C, 0x53, 0x54, 0x4D, 0x0D, 0x0A, 0x1A]

    var magic = CompactFileBuilder.magic
    var version: UInt32 = 1
    /// Nil: the CRC-32 of the header text.
    var headerCRC: UInt32?
    /// Nil: the byte count of the header text.
    var headerLength: UInt64?
    var architecture = #"{"dense":[],"layers":[{"cell_activation":"tanh","direction":"forward","gate_activation":"sigmoid","hidden_size":1,"input_size":1}],"return_sequences":true}"#
    var metadata = "[]"
    var entries: [Entry]
    /// Applied to the header text before it is written (to add keys or break the JSON).
    var editHeader: @Sendable (String) -> String = { $0 }

    static let names: [String] = ["W", "U", "b"].flatMap { kind in ["f", "i", "c", "o"].map { "lstm.0.fwd.\(kind)_\($0)" } }

    static func minimal() -> CompactFileBuilder {
        let entries = names.enumerated().map { k, name in
            Entry(name: name, shape: name.contains(".b_") ? "[1]" : "[1,1]", offset: 64 * k,
                  data: littleEndian(Float(k) + 0.5))
        }
        return CompactFileBuilder(entries: entries)
    }

    static func littleEndian(_ f: Float) -> [UInt8] {
        let bits = f.bitPattern
        return (0..<4).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
    }

    var headerText: String {
        let table = entries.map { e in
            #"{"crc32":\#(e.crc32 ?? ReferenceCRC32.checksum(e.data)),"dtype":"\#(e.dtype)","length":\#(e.length),"name":"\#(e.name)","offset":\#(e.offset),"shape":\#(e.shape)}"#
        }
        return editHeader(#"{"architecture":\#(architecture),"metadata":\#(metadata),"tensors":[\#(table.joined(separator: ","))]}"#)
    }

    var header: [UInt8] { Array(headerText.utf8) }

    /// Where tensor data starts: 24 + header length rounded up to 64.
    var dataStart: Int { (24 + header.count + 63) / 64 * 64 }

    func bytes() -> [UInt8] {
        let header = self.header
        var out = magic
        out += le(version, 4)
        out += le(UInt64(headerCRC ?? ReferenceCRC32.checksum(header)), 4)
        out += le(headerLength ?? UInt64(header.count), 8)
        out += header
        let start = dataStart
        out += [UInt8](repeating: 0, count: start - out.count)
        for e in entries {
            let at = start + e.offset
            if out.count < at + e.data.count { out += [UInt8](repeating: 0, count: at + e.data.count - out.count) }
            out.replaceSubrange(at..<(at + e.data.count), with: e.data)
        }
        return out
    }

    func data() -> Data { Data(bytes()) }

    private func le<T: FixedWidthInteger>(_ v: T, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: UInt64(v) >> (8 * $0)) }
    }
}
