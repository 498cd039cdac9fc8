import Foundation
import Testing
@testable import LSTMFormat

/// Token ids and the embedding `Gather` (`Spec/onnx-mapping.md` O-R15, O-R16, O-W7, O-W8): what tf2onnx and
/// torch.onnx.export write reads as the canonical embedding (M17); files we write guard the vocabulary and run
/// in onnxruntime; masks are refused with the reason.
@Suite struct ONNXEmbeddingTests {
    static func model(_ id: String, warn: @escaping (String) -> Void = { _ in }) throws -> LSTMModel {
        let url = ONNXFixtureTests.dir(id).appendingPathComponent("model.onnx")
        return try ONNXFormat.decode(try Data(contentsOf: url), folder: url.deletingLastPathComponent(), warn: warn)
    }

    /// O-R15: the exporters' Gather is the canonical embedding: E is the table initializer, bit for bit, and
    /// the first LSTM reads its rows.
    @Test(arguments: [("torch_embedding", "embedding.weight"), ("dynamo_embedding", "embedding.weight"),
                      ("tf2onnx_embedding", "sequential_1/embedding_1/GatherV2/ReadVariableOp:0")])
    func gatherOfTheTableIsTheEmbedding(_ id: String, _ table: String) throws {
        let m = try Self.model(id)
        #expect(m.architecture.embedding == EmbeddingSpec(vocabularySize: 7, maskZero: false), "\(id)")
        #expect(m.architecture.inputSize == 3)
        let data = try Data(contentsOf: ONNXFixtureTests.dir(id).appendingPathComponent("model.onnx"))
        let proto = try Onnx_ModelProto(serializedBytes: data)
        let t = try #require(proto.graph.initializer.first { $0.name == table }, "\(id): \(proto.graph.initializer.map(\.name))")
        #expect(m.tensors[TensorName.embedding]?.bytes == t.rawData, "\(id)")
        #expect(m.metadata["onnx.embedding"]?.isEmpty == false)
    }

    /// O-R15: a file that reads a row for id −1 (plain ONNX Gather, Keras 3's wrapping take) says that the read
    /// model refuses it; the model does refuse it (M17), and an id past the vocabulary too.
    @Test func negativeIdsAreNamedAndRefused() throws {
        var notes: [String] = []
        let m = try Self.model("torch_embedding") { notes.append($0) }
        #expect(notes.contains { $0.contains("negative token ids") && $0.contains("0…6") }, "\(notes)")
        for bad: Int64 in [-1, 7] {
            #expect(throws: NumericsError.self) {
                try LSTMNumerics.forward(m, input: .tokens(try TokenIDs(shape: [1, 2], ids: [1, bad])), precision: .float32)
            }
        }
    }

    /// O-R15: glue that sends a valid id to another row is refused naming the node; glue that keeps every valid
    /// id's row (Cast, Transpose of the ids) is read.
    @Test func glueIsCheckedForEveryId() throws {
        let error = #expect(throws: ONNXError.self) { try Self.model("hand_embedding_shifted") }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains("(Gather)") && text.contains("token id 0 reads row 1"), "\(text)")
        let m = try Self.model("hand_embedding_transposed_ids")
        #expect(m.architecture.embedding?.vocabularySize == 7)
    }

    /// O-W7, O-R15: a model with an embedding writes and reads back to the same model; no negative-id note for
    /// our guarded file.
    @Test func embeddingModelRoundTrips() throws {
        var a = RandomModels.architecture(returnSequences: false, dense: [(2, .softmax)])
        a.embedding = EmbeddingSpec(vocabularySize: 9)
        let model = RandomModels.make(architecture: a, seed: 0xE3B)
        var notes: [String] = []
        let back = try ONNXFormat.decode(try ONNXFormat.encode(model)) { notes.append($0) }
        #expect(back.architecture == model.architecture)
        for (name, t) in model.tensors { #expect(back.tensors[name] == t, "\(name)") }
        #expect(notes.isEmpty, "\(notes)")
    }

    /// O-W7, O-R13: the ids keep their type: int32 from Keras (and from int32 ids in ONNX), int64 otherwise.
    @Test func tokenIdsKeepTheirType() throws {
        func inputType(_ m: LSTMModel) throws -> Int32 {
            try Onnx_ModelProto(serializedBytes: try ONNXFormat.encode(m)).graph.input[0].type.tensorType.elemType
        }
        var a = RandomModels.architecture()
        a.embedding = EmbeddingSpec(vocabularySize: 4)
        var m = RandomModels.make(architecture: a, seed: 11)
        #expect(try inputType(m) == ONNXDataType.int64)
        m.metadata["source.format"] = "keras"
        #expect(try inputType(m) == ONNXDataType.int32)
        let tf2onnx = try Self.model("tf2onnx_embedding"), torch = try Self.model("torch_embedding")
        #expect(tf2onnx.metadata["onnx.input_type"] == "int32" && torch.metadata["onnx.input_type"] == "int64")
        #expect(try inputType(tf2onnx) == ONNXDataType.int32 && inputType(torch) == ONNXDataType.int64)
    }

    /// O-W8: a masked model is refused naming the mask and why sequence_lens cannot stand for it.
    @Test(arguments: [0, 1])
    func maskedModelsAreRefused(_ kind: Int) throws {
        var a = RandomModels.architecture()
        if kind == 0 { a.embedding = EmbeddingSpec(vocabularySize: 5, maskZero: true) } else { a.maskValue = 0 }
        let error = #expect(throws: ONNXError.self) { try ONNXFormat.encode(RandomModels.make(architecture: a, seed: 5)) }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains(kind == 0 ? "mask_zero" : "mask value") && text.contains("sequence_lens"), "\(text)")
    }

    /// O-W5, O-W7: onnxruntime runs the file we write on token ids with our forward pass's outputs, and refuses
    /// an id of −1 or V as the canonical model does.
    @Test(.enabled(if: !ONNXWriterTests.skipPython, "LSTMFORMAT_SKIP_PYTHON=1"))
    func onnxruntimeRunsTheEmbeddingAndGuardsTheVocabulary() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var a = RandomModels.architecture(layers: [(.bidirectional, .concat)])
        a.embedding = EmbeddingSpec(vocabularySize: 9)
        let model = RandomModels.make(architecture: a, seed: 0xE3C)
        let url = folder.appendingPathComponent("m.onnx")
        try FormatRegistry.write(model, to: url)
        let ids = try TokenIDs(shape: [3, 6], ids: (0..<18).map { Int64(($0 * 5) % 9) })
        let y = try LSTMNumerics.forward(model, input: .tokens(ids), precision: .float32)
        func npy(_ name: String, _ shape: [Int], _ values: [Int64]) throws -> String {
            let u = folder.appendingPathComponent(name)
            try Self.int64NPY(shape: shape, values).write(to: u)
            #expect(try NumPy.readModelInput(u) == .tokens(try TokenIDs(shape: shape, ids: values)))
            return u.path
        }
        let yURL = folder.appendingPathComponent("y.npy")
        let x = try npy("x.npy", ids.shape, ids.ids)
        try NumPy.writeNPY(y.converted(to: .float32), to: yURL)
        let jobs = [[url.path, x, yURL.path],
                    [url.path, try npy("negative.npy", [1, 2], [0, -1]), "--raises"],
                    [url.path, try npy("past.npy", [1, 2], [9, 1]), "--raises"]]
        #expect(try ONNXWriterTests.runChecks(jobs, folder: folder) == [0, 0, 0])
    }

    /// A little-endian int64 `.npy` (format 1.0; header padded to 64 bytes) of C-order `values`.
    static func int64NPY(shape: [Int], _ values: [Int64]) -> Data {
        var header = "{'descr': '<i8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        for v in values { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }
}
