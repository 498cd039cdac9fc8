import Foundation
import Testing
@testable import LSTMFormat

/// One hand-built file per rule of the preamble and header (`Spec/lstm-format.md`, L1–L8, L22, L23), each
/// expecting its specific error.
@Suite struct CompactHeaderRuleTests {
    static func decode(_ bytes: [UInt8]) throws(CompactError) -> LSTMModel {
        try CompactFormat.decode(Data(bytes))
    }

    /// The model `CompactFileBuilder.minimal()` describes, built independently of any file.
    static func minimalModel() throws -> LSTMModel {
        let arch = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 1, hiddenSize: 1)], returnSequences: true, dense: [])
        var tensors: [String: Tensor] = [:]
        for (k, name) in CompactFileBuilder.names.enumerated() {
            tensors[name] = Tensor(shape: name.contains(".b_") ? [1] : [1, 1], float32: [Float(k) + 0.5])
        }
        return try LSTMModel(architecture: arch, tensors: tensors)
    }

    @Test func validMinimalFileDecodes() throws {
        #expect(try Self.decode(CompactFileBuilder.minimal().bytes()) == Self.minimalModel())
    }

    /// L22: the writer's bytes are exactly those the spec lays out (canonical JSON, padding, offsets).
    @Test func L22_writerProducesTheSpecifiedBytes() throws {
        var b = CompactFileBuilder.minimal()
        b.metadata = #"[["a\"\\\n\u0001","ü"],["b","x"]]"#
        var model = try Self.minimalModel()
        model.metadata = ["b": "x", "a\"\\\n\u{1}": "ü"]
        #expect(Array(CompactFormat.encode(model)) == b.bytes())
        #expect(b.bytes().count == b.dataStart + 704 + 4)
    }

    @Test func L1_truncatedPreamble() {
        let bytes = Array(CompactFileBuilder.minimal().bytes().prefix(10))
        #expect(throws: CompactError.truncatedPreamble(fileSize: 10)) { try Self.decode(bytes) }
        #expect(throws: CompactError.truncatedPreamble(fileSize: 0)) { try Self.decode([]) }
    }

    @Test func L1_badMagic() {
        var b = CompactFileBuilder.minimal()
        b.magic = Array("LSTMFMT\0".utf8)
        #expect(throws: CompactError.badMagic(found: Array("LSTMFMT\0".utf8))) { try Self.decode(b.bytes()) }
        // A text-mode transfer turns CR LF into LF: caught by the magic.
        var mangled = CompactFileBuilder.minimal().bytes()
        mangled.remove(at: 5)
        #expect(throws: CompactError.badMagic(found: [0x89, 0x4C, 0x53, 0x54, 0x4D, 0x0A, 0x1A, 0x01])) { try Self.decode(mangled) }
    }

    @Test func L2_unknownVersion() {
        var b = CompactFileBuilder.minimal()
        b.version = 3
        #expect(throws: CompactError.unsupportedVersion(found: 3, supported: 2)) { try Self.decode(b.bytes()) }
    }

    @Test func L3_headerTooLarge() {
        var b = CompactFileBuilder.minimal()
        b.headerLength = 16 * 1024 * 1024 + 1
        #expect(throws: CompactError.headerTooLarge(length: 16_777_217, limit: 16_777_216)) { try Self.decode(b.bytes()) }
        b.headerLength = UInt64.max  // would overflow a signed length
        #expect(throws: CompactError.headerTooLarge(length: UInt64.max, limit: 16_777_216)) { try Self.decode(b.bytes()) }
    }

    @Test func L4_truncatedHeader() {
        let b = CompactFileBuilder.minimal()
        let bytes = Array(b.bytes().prefix(24 + 10))
        #expect(throws: CompactError.truncatedHeader(headerEnd: UInt64(24 + b.header.count), fileSize: 34)) { try Self.decode(bytes) }
    }

    @Test func L5_headerChecksumMismatch() {
        var b = CompactFileBuilder.minimal()
        let right = ReferenceCRC32.checksum(b.header)
        b.headerCRC = right ^ 0x8000_0000
        #expect(throws: CompactError.headerChecksumMismatch(stored: right ^ 0x8000_0000, computed: right)) { try Self.decode(b.bytes()) }
    }

    @Test func L5_crcIsTheStandardCRC32() {
        // The check value of CRC-32/ISO-HDLC; the test reference and zlib must both give it.
        #expect(ReferenceCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
    }

    static func malformed(_ edit: @escaping @Sendable (String) -> String) -> CompactError? {
        var b = CompactFileBuilder.minimal()
        b.editHeader = edit
        do { _ = try decode(b.bytes()); return nil } catch { return error }
    }

    @Test func L6_headerNotJSON() {
        guard case .malformedHeader = Self.malformed({ String($0.dropLast()) }) else { Issue.record("truncated JSON accepted"); return }
        guard case .malformedHeader = Self.malformed({ _ in "[1, 2]" }) else { Issue.record("JSON array accepted"); return }
        guard case .malformedHeader = Self.malformed({ _ in "\u{FF}" }) else { Issue.record("non-UTF-8 accepted"); return }
    }

    /// L20: a crafted header nested 200 000 deep is an error, not a stack overflow.
    @Test func L6_deeplyNestedHeader() {
        let e = Self.malformed { _ in #"{"x":"# + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}" }
        guard case .malformedHeader = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func L6_missingKey() {
        let e = Self.malformed { $0.replacingOccurrences(of: #""tensors":"#, with: #""tensorz":"#) }
        guard case .malformedHeader(let why) = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(why.contains("tensors"))
    }

    @Test func L6_wrongType() {
        let e = Self.malformed { $0.replacingOccurrences(of: #""hidden_size":1"#, with: #""hidden_size":"1""#) }
        guard case .malformedHeader(let why) = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(why.contains("hidden_size"))
    }

    @Test func L6_duplicateKey() {
        var b = CompactFileBuilder.minimal()
        b.editHeader = { $0.replacingOccurrences(of: #"{"architecture":"#, with: #"{"tensors":[],"architecture":"#) }
        #expect(throws: CompactError.duplicateHeaderKey("tensors")) { try CompactFormat.decode(b.data()) }
        // Escapes name the same key: "\u0074ensors" is "tensors".
        b.editHeader = { $0.replacingOccurrences(of: #"{"architecture":"#, with: #"{"\u0074ensors":[],"architecture":"#) }
        #expect(throws: CompactError.duplicateHeaderKey("tensors")) { try CompactFormat.decode(b.data()) }
        // Nested objects have their own keys; equal keys in sibling objects are fine.
        b = CompactFileBuilder.minimal()
        b.architecture = b.architecture.replacingOccurrences(of: #""hidden_size":1,"#, with: #""hidden_size":1,"hidden_size":1,"#)
        #expect(throws: CompactError.duplicateHeaderKey("hidden_size")) { try CompactFormat.decode(b.data()) }
    }

    @Test func L7_unknownActivation() {
        var b = CompactFileBuilder.minimal()
        b.architecture = b.architecture.replacingOccurrences(of: #""gate_activation":"sigmoid""#, with: #""gate_activation":"swish""#)
        #expect(throws: CompactError.invalidArchitecture(.unknownActivation(place: "lstm.0 gate activation", name: "swish"))) {
            try Self.decode(b.bytes())
        }
    }

    @Test func L7_unknownDirection() {
        var b = CompactFileBuilder.minimal()
        b.architecture = b.architecture.replacingOccurrences(of: #""forward""#, with: #""sideways""#)
        #expect(throws: CompactError.unknownValue(field: "lstm.0.direction", value: "sideways")) { try Self.decode(b.bytes()) }
    }

    @Test func L7_invalidArchitecture() {
        var b = CompactFileBuilder.minimal()
        b.architecture = b.architecture.replacingOccurrences(of: #""input_size":1}"#, with: #""input_size":1,"merge_mode":"sum"}"#)
        #expect(throws: CompactError.invalidArchitecture(.invalidArchitecture("lstm.0: merge mode is only for bidirectional layers"))) {
            try Self.decode(b.bytes())
        }
        b = CompactFileBuilder.minimal()
        b.architecture = b.architecture.replacingOccurrences(of: #""layers":[{"#, with: #""layers":[{"merge_mode":"diagonal","#)
        #expect(throws: CompactError.unknownValue(field: "lstm.0.merge_mode", value: "diagonal")) { try Self.decode(b.bytes()) }
    }

    @Test func L8_duplicateMetadataKey() {
        var b = CompactFileBuilder.minimal()
        b.metadata = #"[["a","1"],["k","2"],["k","3"]]"#
        #expect(throws: CompactError.duplicateMetadataKey("k")) { try Self.decode(b.bytes()) }
    }

    @Test func L8_unsortedMetadata() {
        var b = CompactFileBuilder.minimal()
        b.metadata = #"[["b","1"],["a","2"]]"#
        #expect(throws: CompactError.unsortedMetadata(key: "a", after: "b")) { try Self.decode(b.bytes()) }
        b.metadata = #"[["a","1","extra"]]"#
        guard case .malformedHeader = Self.catching({ try Self.decode(b.bytes()) }) else { Issue.record("triple accepted"); return }
    }

    /// L23: keys a version-1 reader does not know are ignored, at every level of the header.
    @Test func L23_unknownKeysAreIgnored() throws {
        var b = CompactFileBuilder.minimal()
        b.editHeader = {
            $0.replacingOccurrences(of: #"{"architecture":"#, with: #"{"future":{"x":[1,2]},"architecture":"#)
                .replacingOccurrences(of: #""dense":[]"#, with: #""dense":[],"dropout":0.5"#)
                .replacingOccurrences(of: #""input_size":1}"#, with: #""input_size":1,"peephole":false}"#)
                .replacingOccurrences(of: #"{"crc32""#, with: #"{"quantization":null,"crc32""#)
        }
        #expect(try Self.decode(b.bytes()) == Self.minimalModel())
    }

    static func catching(_ body: () throws -> Any) -> CompactError? {
        do { _ = try body(); return nil } catch { return error as? CompactError }
    }
}
