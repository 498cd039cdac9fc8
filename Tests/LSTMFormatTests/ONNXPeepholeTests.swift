import Foundation
import Testing
@testable import LSTMFormat

/// ONNX `P` (`Spec/onnx-mapping.md` O-R14, O-W6; `Spec/canonical-model.md` M25): hand-made graphs with peepholes
/// (`scripts/onnx_peephole_fixtures.py`) read within 1e-5 of onnxruntime, files we write with peepholes run in
/// onnxruntime, and the `convert` round trip through `.lstm` keeps onnxruntime's numbers.
@Suite(.serialized) struct ONNXPeepholeTests {
    static let fixtures = ["hand_peephole_forward", "hand_peephole_reverse_final_state", "hand_peephole_bidi_seq",
                           "hand_peephole_bidi_final_state"]

    /// O-R14: each fixture reads as a model with peepholes that computes onnxruntime's outputs within 1e-5.
    @Test(arguments: fixtures)
    func importMatchesOnnxruntime(_ id: String) throws {
        let dir = ONNXFixtureTests.dir(id)
        let model = try ONNXFixtureTests.read(id)
        #expect(model.architecture.layers.allSatisfy { $0.peepholes })
        let x = try NumPy.readNPY(dir.appendingPathComponent("x.npy"))
        let expected = try NumPy.readNPY(dir.appendingPathComponent("y.npy"))
        for precision in [Precision.float32, .float64] {
            let y = try LSTMNumerics.forward(model, inputs: x, precision: precision)
            #expect(y.shape == expected.shape, "\(id)")
            let worst = zip(y.float64Values(), expected.float64Values()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(id) \(precision): max |ours − onnxruntime| = \(worst)")
        }
    }

    /// O-R14: row d of P is p_i ‖ p_o ‖ p_f of direction d, bit for bit (checked on the file's own initializer).
    @Test func peepholeBlocksLandOnTheirGates() throws {
        let id = "hand_peephole_bidi_seq"
        let model = try ONNXFixtureTests.read(id)
        let proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: ONNXFixtureTests.dir(id).appendingPathComponent("model.onnx")))
        let P = Tensor.decode(try #require(proto.graph.initializer.first { $0.name == "P" }).rawData, as: Float.self)
        let H = 4
        for (d, cell) in ["fwd", "bwd"].enumerated() {
            for (block, gate) in ["i", "o", "f"].enumerated() {
                let p = try #require(model.tensors["lstm.0.\(cell).p_\(gate)"]).float32Values()
                #expect(p == Array(P[(d * 3 * H + block * H)..<(d * 3 * H + (block + 1) * H)]), "\(cell) p_\(gate)")
            }
        }
    }

    /// O-R14: an all-zero P is the plain LSTM; a P of the wrong shape or with a NaN or infinity is refused naming
    /// the node.
    @Test func peepholeInputRules() throws {
        #expect(try !ONNXFixtureTests.read("hand_peephole_zero").architecture.layers[0].peepholes)
        let url = ONNXFixtureTests.dir("hand_peephole_forward").appendingPathComponent("model.onnx")
        let proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: url))
        let index = try #require(proto.graph.initializer.firstIndex { $0.name == "P" })
        func variant(_ edit: (inout Onnx_TensorProto) -> Void) throws -> Data {
            var p = proto
            edit(&p.graph.initializer[index])
            return try p.serializedBytes()
        }
        for (value, words) in [(Float.nan, "is nan"), (.infinity, "is inf")] {
            let data = try variant { t in
                var v = Tensor.decode(t.rawData, as: Float.self)
                v[5] = value
                t.rawData = v.withUnsafeBufferPointer { Data(buffer: $0) }
            }
            let error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(data) }
            let text = error.map { String(describing: $0) } ?? ""
            #expect(text.contains("(LSTM)") && text.contains("P[0, 5] \(words)"), "\(text)")
        }
        let wrongShape = try variant { t in
            t.dims = [1, 11]
            t.rawData = t.rawData.prefix(44)
        }
        let error = #expect(throws: ONNXError.self) { try ONNXFormat.decode(wrongShape) }
        #expect(String(describing: error).contains("P has shape [1, 11]; [1, 12] is expected"))
    }

    /// O-W6, O-W5: models with peepholes (every direction, stacks with and without them, many-to-one, other
    /// activations, an embedding) written as ONNX read back to the same model and run in onnxruntime within 1e-5.
    @Test(.enabled(if: !ONNXWriterTests.skipPython, "LSTMFORMAT_SKIP_PYTHON=1"))
    func onnxruntimeRunsWhatWeWrite() throws {
        typealias A = NumericsPeepholeTests
        let variants: [(String, ModelArchitecture)] = [
            ("forward-m2m", A.architecture([(.forward, nil, true, nil)])),
            ("backward-m2o", A.architecture([(.backward, nil, true, nil)], returnSequences: false)),
            ("backward-m2m", A.architecture([(.backward, nil, true, nil)], dense: false)),
            ("bi-m2m", A.architecture([(.bidirectional, .concat, true, nil)])),
            ("bi-m2o", A.architecture([(.bidirectional, .concat, true, nil)], returnSequences: false)),
            ("stack", A.architecture([(.forward, nil, false, nil), (.bidirectional, .concat, true, nil), (.forward, nil, true, nil)])),
            ("hard-sigmoid-relu", A.architecture([(.forward, nil, true, nil)], gate: .hardSigmoidKeras3, cell: .relu)),
        ]
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = []
        for (k, (name, arch)) in variants.enumerated() {
            let model = RandomModels.make(architecture: arch, dtype: .float32, seed: 0x9EE9 + UInt64(k), scale: 1.5)
            let data = try ONNXFormat.encode(model)
            let back = try ONNXFormat.decode(data)
            #expect(back.architecture == model.architecture, "\(name)")
            for (t, v) in model.tensors { #expect(back.tensors[t] == v, "\(name): \(t)") }
            let x = RandomModels.inputs(batch: 3, steps: 6, features: arch.inputSize, seed: UInt64(k)).converted(to: .float32)
            let y = try LSTMNumerics.forward(model, inputs: x, precision: .float64)
            let base = folder.appendingPathComponent(name)
            try FormatRegistry.write(model, to: base.appendingPathExtension("onnx"))
            try NumPy.writeNPY(x, to: base.appendingPathExtension("x.npy"))
            try NumPy.writeNPY(y.converted(to: .float32), to: base.appendingPathExtension("y.npy"))
            jobs.append([base.appendingPathExtension("onnx").path, base.appendingPathExtension("x.npy").path, base.appendingPathExtension("y.npy").path])
        }
        // With an embedding (token ids in, the guarded Gather of O-W7 before the LSTM node with P).
        var embedded = A.architecture([(.bidirectional, .concat, true, nil)])
        embedded.embedding = EmbeddingSpec(vocabularySize: 9)
        let model = RandomModels.make(architecture: embedded, dtype: .float32, seed: 0x9EEA, scale: 1.5)
        #expect(try ONNXFormat.decode(try ONNXFormat.encode(model)).tensors == model.tensors)
        let ids = try TokenIDs(shape: [3, 6], ids: (0..<18).map { Int64(($0 * 5) % 9) })
        let y = try LSTMNumerics.forward(model, input: .tokens(ids), precision: .float64)
        let base = folder.appendingPathComponent("embedding")
        try FormatRegistry.write(model, to: base.appendingPathExtension("onnx"))
        try ONNXEmbeddingTests.int64NPY(shape: ids.shape, ids.ids).write(to: base.appendingPathExtension("x.npy"))
        try NumPy.writeNPY(y.converted(to: .float32), to: base.appendingPathExtension("y.npy"))
        jobs.append([base.appendingPathExtension("onnx").path, base.appendingPathExtension("x.npy").path, base.appendingPathExtension("y.npy").path])
        let codes = try ONNXWriterTests.runChecks(jobs, folder: folder)
        #expect(codes == Array(repeating: 0, count: variants.count + 1), "\(codes)")
    }

    /// The user's path: `convert x.onnx x.lstm` reproduces onnxruntime (`verify --expect`), and the `.lstm` written
    /// back as `.onnx` runs in onnxruntime with the fixture's outputs.
    @Test(.enabled(if: !ONNXWriterTests.skipPython, "LSTMFORMAT_SKIP_PYTHON=1"))
    func convertThroughLSTMAndBack() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = []
        for id in Self.fixtures {
            let source = ONNXFixtureTests.dir(id)
            let lstm = folder.appendingPathComponent("\(id).lstm").path, onnx = folder.appendingPathComponent("\(id).onnx").path
            let c = try CLI.run(["convert", source.appendingPathComponent("model.onnx").path, lstm])
            #expect(c.status == 0, "\(id): \(c.stderr)")
            let v = try CLI.run(["verify", lstm, "--inputs", source.appendingPathComponent("x.npy").path,
                                 "--expect", source.appendingPathComponent("y.npy").path])
            #expect(v.status == 0, "\(id): \(v.stdout)\(v.stderr)")
            let i = try CLI.run(["inspect", lstm])
            #expect(i.stdout.contains("lstm.0 has peepholes p_f, p_i, p_o"), "\(id): \(i.stdout)")
            let w = try CLI.run(["convert", lstm, onnx])
            #expect(w.status == 0, "\(id): \(w.stderr)")
            jobs.append([onnx, source.appendingPathComponent("x.npy").path, source.appendingPathComponent("y.npy").path])
        }
        let codes = try ONNXWriterTests.runChecks(jobs, folder: folder)
        #expect(codes == Array(repeating: 0, count: Self.fixtures.count), "\(codes)")
    }
}
