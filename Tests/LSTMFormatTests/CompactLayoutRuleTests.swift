import Foundation
import Testing
@testable import LSTMFormat

/// One hand-built file per rule of the tensor table and the data layout (`Spec/lstm-format.md`, L9–L19), each
/// expecting its specific error. Entry k of `CompactFileBuilder.minimal()` is at offset 64·k.
@Suite struct CompactLayoutRuleTests {
    static func decode(_ b: CompactFileBuilder, verify: Bool = true) throws(CompactError) -> LSTMModel {
        try CompactFormat.decode(b.data(), verifyChecksums: verify)
    }

    static let wf = "lstm.0.fwd.W_f", wi = "lstm.0.fwd.W_i", bo = "lstm.0.fwd.b_o"

    @Test func L9_unknownDType() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].dtype = "int8"
        #expect(throws: CompactError.unknownDType(tensor: Self.wf, dtype: "int8")) { try Self.decode(b) }
    }

    @Test func L10_duplicateTensorName() {
        var b = CompactFileBuilder.minimal()
        b.entries[1].name = Self.wf
        #expect(throws: CompactError.duplicateTensor(Self.wf)) { try Self.decode(b) }
    }

    @Test func L11_negativeDimension() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].shape = "[-1,-1]"
        #expect(throws: CompactError.negativeDimension(tensor: Self.wf, shape: [-1, -1])) { try Self.decode(b) }
    }

    @Test func L11_overflowInShapeProduct() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].shape = "[4611686018427387904,4]"  // 2^62 · 4 = 2^64 elements
        #expect(throws: CompactError.shapeOverflow(tensor: Self.wf, shape: [1 << 62, 4])) { try Self.decode(b) }
        b.entries[0].shape = "[2305843009213693952,2]"  // 2^62 elements fit, 2^64 bytes do not
        #expect(throws: CompactError.shapeOverflow(tensor: Self.wf, shape: [1 << 61, 2])) { try Self.decode(b) }
    }

    @Test func L12_shapeLengthMismatch() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].length = 8
        #expect(throws: CompactError.lengthMismatch(tensor: Self.wf, expected: 4, actual: 8)) { try Self.decode(b) }
        b = CompactFileBuilder.minimal()
        b.entries[0].dtype = "float64"
        #expect(throws: CompactError.lengthMismatch(tensor: Self.wf, expected: 8, actual: 4)) { try Self.decode(b) }
    }

    @Test func L13_tensorsOutOfCanonicalOrder() {
        var b = CompactFileBuilder.minimal()
        b.entries.swapAt(0, 1)
        (b.entries[0].offset, b.entries[1].offset) = (0, 64)
        #expect(throws: CompactError.unexpectedTensor(position: 0, expected: Self.wf, actual: Self.wi)) { try Self.decode(b) }
    }

    @Test func L13_missingTensor() {
        var b = CompactFileBuilder.minimal()
        b.entries.removeLast()
        #expect(throws: CompactError.missingTensor(Self.bo)) { try Self.decode(b) }
    }

    @Test func L13_extraTensor() {
        var b = CompactFileBuilder.minimal()
        b.entries.append(.init(name: "dense.0.c", shape: "[1]", offset: 768, data: [0, 0, 0, 0]))
        #expect(throws: CompactError.unexpectedTensor(position: 12, expected: nil, actual: "dense.0.c")) { try Self.decode(b) }
    }

    @Test func L13_shapeMismatch() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].shape = "[1]"
        #expect(throws: CompactError.shapeMismatch(tensor: Self.wf, expected: [1, 1], actual: [1])) { try Self.decode(b) }
    }

    @Test func L14_misalignedOffset() {
        var b = CompactFileBuilder.minimal()
        b.entries[1].offset = 4
        #expect(throws: CompactError.misalignedOffset(tensor: Self.wi, offset: 4)) { try Self.decode(b) }
        b.entries[1].offset = -1
        #expect(throws: CompactError.misalignedOffset(tensor: Self.wi, offset: -1)) { try Self.decode(b) }
    }

    @Test func L15_offsetsOverlapping() {
        var b = CompactFileBuilder.minimal()
        b.entries[1].offset = 0
        #expect(throws: CompactError.overlappingTensor(tensor: Self.wi, offset: 0, expected: 64)) { try Self.decode(b) }
    }

    @Test func L15_firstTensorOverlapsHeaderPadding() {
        var b = CompactFileBuilder.minimal()
        b.entries[0].offset = -64
        b.entries[0].data = []  // the builder would write it over the header
        #expect(throws: CompactError.overlappingTensor(tensor: Self.wf, offset: -64, expected: 0)) { try Self.decode(b) }
    }

    @Test func L15_holeBetweenTensors() {
        var b = CompactFileBuilder.minimal()
        for k in 1..<b.entries.count { b.entries[k].offset += 64 }
        #expect(throws: CompactError.holeBeforeTensor(tensor: Self.wi, offset: 128, expected: 64)) { try Self.decode(b) }
    }

    @Test func L16_dataPastEnd() {
        let b = CompactFileBuilder.minimal()
        let full = b.bytes()
        let cut = Data(full.dropLast(2))
        #expect(throws: CompactError.tensorPastEnd(tensor: Self.bo, end: full.count, fileSize: full.count - 2)) {
            try CompactFormat.decode(cut)
        }
        // Truncated inside the header padding: the first tensor is already out of the file.
        let early = Data(full.prefix(24 + b.header.count))
        #expect(throws: CompactError.tensorPastEnd(tensor: Self.wf, end: b.dataStart + 4, fileSize: early.count)) {
            try CompactFormat.decode(early)
        }
    }

    @Test func L17_trailingBytes() {
        let full = CompactFileBuilder.minimal().bytes()
        #expect(throws: CompactError.trailingBytes(dataEnd: full.count, fileSize: full.count + 1)) {
            try CompactFormat.decode(Data(full + [0]))
        }
        // A polyglot: a zip end-of-central-directory record appended.
        let eocd: [UInt8] = [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
        #expect(throws: CompactError.trailingBytes(dataEnd: full.count, fileSize: full.count + 22)) {
            try CompactFormat.decode(Data(full + eocd))
        }
    }

    @Test func L18_nonZeroPaddingAfterHeader() {
        let b = CompactFileBuilder.minimal()
        var bytes = b.bytes()
        let at = 24 + b.header.count  // first padding byte; a JSON space here would still parse
        #expect(at < b.dataStart)
        bytes[at] = 0x20
        #expect(throws: CompactError.nonZeroPadding(fileOffset: at, byte: 0x20)) { try CompactFormat.decode(Data(bytes)) }
    }

    @Test func L18_nonZeroPaddingBetweenTensors() {
        let b = CompactFileBuilder.minimal()
        var bytes = b.bytes()
        let at = b.dataStart + 64 * 3 + 63  // last padding byte after tensor 3
        bytes[at] = 0x01
        #expect(throws: CompactError.nonZeroPadding(fileOffset: at, byte: 0x01)) { try CompactFormat.decode(Data(bytes)) }
    }

    @Test func L19_tensorCRCMismatch() throws {
        var b = CompactFileBuilder.minimal()
        let right = ReferenceCRC32.checksum(b.entries[2].data)
        b.entries[2].crc32 = right ^ 1
        #expect(throws: CompactError.tensorChecksumMismatch(tensor: "lstm.0.fwd.W_c", stored: right ^ 1, computed: right)) {
            try Self.decode(b)
        }
        // The opt-out skips only this check: the file decodes, with its (here intact) data.
        let model = try Self.decode(b, verify: false)
        #expect(model.tensors["lstm.0.fwd.W_c"]?.float32Values() == [2.5])
    }

    @Test func L26_unverifiedCRCIsNotReused() throws {
        // A file whose stored CRC is wrong, read with checks off: writing it again must store the bytes' real CRC.
        var b = CompactFileBuilder.minimal()
        let right = ReferenceCRC32.checksum(b.entries[2].data)
        b.entries[2].crc32 = right ^ 1
        let unchecked = try Self.decode(b, verify: false)
        let rewritten = try CompactFormat.decode(CompactFormat.encode(unchecked))
        #expect(rewritten.tensors["lstm.0.fwd.W_c"]?.crc32 == right)
        #expect(InspectReport(file: "m", format: "lstm", model: unchecked).tensors[2].crc32 == CRC32.hex(right))
    }

    @Test func L26_verifiedCRCIsReused() throws {
        let b = CompactFileBuilder.minimal()
        let model = try Self.decode(b)
        let stored = b.entries.map { ReferenceCRC32.checksum($0.data) }
        #expect(model.orderedTensors.map { $0.tensor.verifiedCRC32 } == stored.map { Optional($0) })
        #expect(model.orderedTensors.map { $0.tensor.crc32 } == stored)
        // A converted tensor has new bytes and no cached CRC.
        #expect(model.orderedTensors[0].tensor.converted(to: .float16).verifiedCRC32 == nil)
    }

    @Test func L19_damagedTensorData() throws {
        let b = CompactFileBuilder.minimal()
        var bytes = b.bytes()
        bytes[b.dataStart + 64 * 11] ^= 0x01  // lowest bit of b_o
        let stored = ReferenceCRC32.checksum(b.entries[11].data)
        let computed = ReferenceCRC32.checksum(bytes[(b.dataStart + 704)..<(b.dataStart + 708)])
        #expect(throws: CompactError.tensorChecksumMismatch(tensor: Self.bo, stored: stored, computed: computed)) {
            try CompactFormat.decode(Data(bytes))
        }
        let unchecked = try CompactFormat.decode(Data(bytes), verifyChecksums: false)
        #expect(unchecked.tensors[Self.bo]?.bytes.first == b.entries[11].data[0] ^ 0x01)
    }
}
