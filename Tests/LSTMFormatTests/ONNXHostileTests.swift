import Foundation
import Testing
@testable import LSTMFormat

/// Damaged and hostile ONNX files give one clean error, never a crash, a hang or a huge allocation
/// (`Spec/onnx-mapping.md`, O-R1, O-R3, O-R12).
@Suite struct ONNXHostileTests {
    static func fixtureBytes(_ id: String) throws -> Data {
        try Data(contentsOf: ONNXFixtureTests.dir(id).appendingPathComponent("model.onnx"))
    }

    /// Thousands of seeded truncations and byte changes of real exporter files: each decodes to a valid model or
    /// throws `ONNXError`; the process survives (seed printed in the test name).
    @Test(arguments: ["torch_bidi_stacked_seq", "tf2onnx_bidirectional_last", "hand_typed_fields"])
    func mutationsNeverCrash(_ id: String) throws {
        let original = [UInt8](try Self.fixtureBytes(id))
        var rng = SeededRandom(seed: 0x0DD5EED)
        var thrown = 0, read = 0
        for round in 0..<1500 {
            var bytes = original
            switch round % 3 {
            case 0:
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 1:
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            default:
                // A huge declared length (varint 2^62) spliced in at a random place.
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                bytes.insert(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F], at: at)
            }
            do {
                _ = try ONNXFormat.decode(Data(bytes))
                read += 1
            } catch {
                thrown += 1
            }
        }
        #expect(thrown > 1000, "\(id): \(thrown) refused, \(read) read")
    }

    @Test func truncatedFileIsMalformed() throws {
        let bytes = try Self.fixtureBytes("torch_plain")
        let error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(bytes.prefix(bytes.count / 2)) }
        #expect(String(describing: error).contains("not a readable ONNX model"))
    }

    /// O-R12: declared sizes are checked (overflow-safe) before any data is decoded or allocated.
    @Test func hugeDeclaredTensorSizesAreRefused() throws {
        var model = try Onnx_ModelProto(serializedBytes: try Self.fixtureBytes("hand_layout1"))
        let k = try #require(model.graph.initializer.firstIndex { $0.name == "W" })
        model.graph.initializer[k].dims = [1 << 40, 1 << 40, 3]
        var error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(try model.serializedBytes()) }
        #expect(String(describing: error).contains("tensor 'W'") && String(describing: error).contains("overflows"))
        model.graph.initializer[k].dims = [1 << 31, 16, 3]
        error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(try model.serializedBytes()) }
        #expect(String(describing: error).contains("raw_data has 192 bytes"))
    }

    /// O-R12: external data past the end of its file, or behind a symlink leaving the folder, is refused before
    /// reading.
    @Test func externalDataIsBoundedAndConfined() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = ONNXFixtureTests.dir("hand_external_data")
        let model = folder.appendingPathComponent("model.onnx"), weights = folder.appendingPathComponent("weights.bin")
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.onnx"), to: model)
        let full = try Data(contentsOf: source.appendingPathComponent("weights.bin"))
        try full.prefix(full.count - 4).write(to: weights)
        var error = #expect(throws: FileError.self) { try FormatRegistry.read(model) }
        #expect(String(describing: error).contains("past its end"), "\(String(describing: error))")

        try FileManager.default.removeItem(at: weights)
        let outside = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: outside) }
        try full.write(to: outside.appendingPathComponent("weights.bin"))
        try FileManager.default.createSymbolicLink(at: weights, withDestinationURL: outside.appendingPathComponent("weights.bin"))
        error = #expect(throws: FileError.self) { try FormatRegistry.read(model) }
        #expect(String(describing: error).contains("leaves the model's folder"), "\(String(describing: error))")

        // Decoding from memory has no folder: external data is refused, not looked up in the working directory.
        let bytes = try Data(contentsOf: model)
        let e2 = #expect(throws: ONNXError.self) { try ONNXFormat.decode(bytes) }
        #expect(String(describing: e2).contains("without the model's folder"))
    }

    /// O-R3: nodes out of order, and graphs nested deeper than the limit, are clean errors.
    @Test func unsortedAndDeeplyNestedGraphsAreRefused() throws {
        var model = try Onnx_ModelProto(serializedBytes: try Self.fixtureBytes("hand_layout1"))
        model.graph.node.reverse()
        let error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(try model.serializedBytes()) }
        #expect(String(describing: error).contains("is not produced before it"))

        var inner = Onnx_GraphProto()
        for _ in 0..<100 {
            var attr = Onnx_AttributeProto()
            attr.name = "body"
            attr.type = .graph
            attr.g = inner
            var node = Onnx_NodeProto()
            node.opType = "If"
            node.attribute = [attr]
            inner = Onnx_GraphProto()
            inner.node = [node]
        }
        var deep = Onnx_ModelProto()
        deep.irVersion = 8
        deep.graph = inner
        let e2 = #expect(throws: ONNXError.self) { try ONNXFormat.decode(try deep.serializedBytes()) }
        #expect(String(describing: e2).contains("not a readable ONNX model"))
    }

    /// O-R1: detection looks at the first bytes only; other formats' files are not claimed.
    @Test func detectionByContent() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let renamed = folder.appendingPathComponent("model.bin")
        try FileManager.default.copyItem(at: ONNXFixtureTests.dir("torch_plain").appendingPathComponent("model.onnx"), to: renamed)
        #expect(try FormatRegistry.detect(renamed).name == "onnx")
        let text = folder.appendingPathComponent("fake.onnx")
        try Data("not a model".utf8).write(to: text)
        #expect(throws: FileError.self) { try FormatRegistry.detect(text) }
    }
}
