import Foundation
import Testing
@testable import LSTMFormat

/// What real exporters wrote (`Fixtures/onnx/`, made by `scripts/onnx_fixtures.py`) reads into the canonical model
/// and reproduces onnxruntime's outputs (`Spec/onnx-mapping.md`, O-R1 – O-R12).
@Suite struct ONNXFixtureTests {
    /// Fixtures the reader must read: id → (return_sequences, number of LSTM layers, directions, dense layers).
    static let readable: [String] = [
        "torch_plain", "torch_last_step_sigmoid", "torch_stacked_last_step", "torch_final_state_softmax",
        "torch_bidi_stacked_seq",
        "tf2onnx_plain", "tf2onnx_many_to_one", "tf2onnx_stacked", "tf2onnx_bidirectional", "tf2onnx_bidirectional_last",
        "tf2onnx_go_backwards",
        "hand_layout1", "hand_reverse_final_state_gemm_softmax", "hand_bidi_final_state", "hand_bidi_seq_relu_head",
        "hand_hard_sigmoid_keras2", "hand_hard_sigmoid_keras3", "hand_relu_cell", "hand_typed_fields",
        "hand_peephole_zero", "hand_external_data",
        "torch_embedding", "tf2onnx_embedding", "hand_embedding_transposed_ids", "tf2onnx_tf_keras_hard_sigmoid",
        "dynamo_plain", "dynamo_embedding", "dynamo_last_step_sigmoid", "dynamo_stacked_last_step",
        "dynamo_final_state_softmax", "dynamo_bidirectional_seq", "dynamo_bidi_stacked_seq",
        "torch_stacked_final_state", "torch_bidi_stacked_final_state", "dynamo_stacked_final_state",
        "dynamo_bidi_stacked_final_state", "torch_bidi_final_state_cat", "dynamo_bidi_final_state_cat",
    ]

    /// Fixtures the reader must refuse, with the words the one-line reason must contain.
    static let refused: [(String, String)] = [
        ("hand_clip", "clip"),
        ("hand_input_forget", "input_forget"),
        ("hand_mixed_activations", "candidate activation Tanh differs from the output activation Relu"),
        ("hand_scaled_tanh", "ScaledTanh"),
        ("hand_sequence_lens", "sequence_lens"),
        ("hand_initial_h_input", "initial_h is the graph input 'h0'"),
        ("hand_initial_h_nonzero", "initial_h is not all zero"),
        ("hand_unknown_op", "(Erf)"),
        ("hand_external_escape", "'../secret.bin' leaves the model's folder"),
        ("hand_external_absolute", "'/etc/passwd' is an absolute path"),
        ("torch_bidi_last_step", "bidirectional LSTM's output: its backward half"),
        ("tf2onnx_hard_sigmoid", "(Loop): the exporter unrolled the LSTM into a Loop"),
        ("tf2onnx_embedding_mask_zero", "(Loop): the exporter unrolled the LSTM into a Loop"),
        ("tf2onnx_masking", "(Loop): the exporter unrolled the LSTM into a Loop"),
        ("torch_first_layer_state", "selects entry 0 of 2 stacked final states, a final state of an earlier layer"),
        ("dynamo_time_major", "the input is time-major [steps, batch, features] (PyTorch batch_first=False)"),
    ]

    static func dir(_ id: String) -> URL { FixturePaths.fixture("onnx/\(id)") }

    static func read(_ id: String) throws -> LSTMModel {
        try FormatRegistry.read(dir(id).appendingPathComponent("model.onnx")).model
    }

    /// O-R1 – O-R12: the model computes onnxruntime's outputs within 1e-5 (float32 forward pass).
    @Test(arguments: readable)
    func matchesOnnxruntime(_ id: String) throws {
        let (model, format) = try FormatRegistry.read(Self.dir(id).appendingPathComponent("model.onnx"))
        #expect(format.name == ONNXFormat.name)
        let x = try NumPy.readModelInput(Self.dir(id).appendingPathComponent("x.npy"))
        let expected = try NumPy.readNPY(Self.dir(id).appendingPathComponent("y.npy"))
        let y = try LSTMNumerics.forward(model, input: x, precision: .float32)
        #expect(y.shape == expected.shape, "\(id)")
        let a = y.float64Values(), b = expected.float64Values()
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5, "\(id): max |ours − onnxruntime| = \(worst)")
        #expect(model.metadata["source.format"] == "onnx")
    }

    /// O-R4 – O-R11: every refusal names the node and the reason, and never returns a model.
    @Test(arguments: refused.map(\.0))
    func refuses(_ id: String) throws {
        let words = try #require(Self.refused.first { $0.0 == id }?.1)
        let error = #expect(throws: FileError.self) { try Self.read(id) }
        let text = error.map { String(describing: $0) } ?? ""
        #expect(text.contains(words), "\(id): \(text)")
        #expect(!text.contains("\n"))
    }

    /// O-R4: B = Wb ‖ Rb becomes one bias b = Wb + Rb, rounded once; gate blocks i, o, f, c land on f, i, c, o.
    @Test func biasIsSummedOnceAndGatesReordered() throws {
        let model = try Self.read("hand_layout1")
        // Recompute from the file's own initializers with the generated protobuf types.
        let data = try Data(contentsOf: Self.dir("hand_layout1").appendingPathComponent("model.onnx"))
        let proto = try Onnx_ModelProto(serializedBytes: data)
        func initializer(_ n: String) throws -> [Float] {
            let t = try #require(proto.graph.initializer.first { $0.name == n })
            return Tensor.decode(t.rawData, as: Float.self)
        }
        let B = try initializer("B"), W = try initializer("W")
        let H = 4, I = 3
        for (block, gate) in [(0, Gate.i), (1, .o), (2, .f), (3, .c)] {
            let b = try #require(model.tensors["lstm.0.fwd.b_\(gate.rawValue)"]).float32Values()
            #expect(b == (0..<H).map { B[block * H + $0] + B[4 * H + block * H + $0] }, "b_\(gate)")
            let w = try #require(model.tensors["lstm.0.fwd.W_\(gate.rawValue)"]).float32Values()
            #expect(w == Array(W[(block * H * I)..<((block + 1) * H * I)]), "W_\(gate)")
        }
    }

    /// O-R5: HardSigmoid alpha 0.2 and 1/6 are the two distinct canonical hard sigmoids.
    @Test func hardSigmoidsMapToTheirCanonicalActivations() throws {
        #expect(try Self.read("hand_hard_sigmoid_keras2").architecture.layers[0].gateActivation == .hardSigmoidKeras2)
        #expect(try Self.read("hand_hard_sigmoid_keras3").architecture.layers[0].gateActivation == .hardSigmoidKeras3)
    }

    /// O-R5: tf2onnx's native LSTM node for a tf_keras hard_sigmoid layer (HardSigmoid with the default alpha 0.2,
    /// beta 0.5) is tf_keras's own model: the same architecture and parameters as its `.h5`, and Keras's
    /// predictions within 1e-5.
    @Test func tfKerasHardSigmoidIsTheKeras2HardSigmoid() throws {
        let id = "tf2onnx_tf_keras_hard_sigmoid"
        let onnx = try Self.read(id)
        let keras = try FormatRegistry.read(Self.dir(id).appendingPathComponent("model.h5")).model
        #expect(onnx.architecture.layers[0].gateActivation == .hardSigmoidKeras2)
        #expect(onnx.architecture == keras.architecture)
        for (name, t) in keras.tensors { #expect(onnx.tensors[name] == t, "\(name)") }
        let x = try NumPy.readNPY(Self.dir(id).appendingPathComponent("x.npy"))
        let y = try LSTMNumerics.forward(onnx, inputs: x, precision: .float32).float64Values()
        let expected = try NumPy.readNPY(Self.dir(id).appendingPathComponent("y_keras.npy")).float64Values()
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
    }

    /// O-R4, O-R7, O-R8: what each exporter's glue means in canonical terms.
    @Test func architecturesOfExporterFiles() throws {
        let bi = try Self.read("tf2onnx_bidirectional_last").architecture
        #expect(bi.layers.map(\.direction) == [.bidirectional] && bi.layers[0].mergeMode == .concat && !bi.returnSequences)
        let back = try Self.read("tf2onnx_go_backwards").architecture
        #expect(back.layers.map(\.direction) == [.backward] && !back.returnSequences)
        let torch = try Self.read("torch_bidi_stacked_seq").architecture
        #expect(torch.layers.map(\.direction) == [.bidirectional, .bidirectional] && torch.returnSequences)
        #expect(torch.dense.map(\.activation) == [.tanh])
        // The dynamo exporter (torch.export + onnxscript, opset 20) merges directions by Transpose + Reshape with
        // the size computed by Shape/Slice/Mul/Reshape/Concat, and takes h_n[-1] from Y_h.
        let dynamo = try Self.read("dynamo_bidi_stacked_seq").architecture
        #expect(dynamo.layers.map(\.direction) == [.bidirectional, .bidirectional] && dynamo.layers.allSatisfy { $0.mergeMode == .concat })
        #expect(dynamo.returnSequences && dynamo.dense.map(\.activation) == [.tanh])
        let dynamoFinal = try Self.read("dynamo_final_state_softmax").architecture
        #expect(!dynamoFinal.returnSequences && dynamoFinal.dense.map(\.activation) == [.softmax])
        let dynamoStacked = try Self.read("dynamo_stacked_last_step").architecture
        #expect(dynamoStacked.layers.map(\.hiddenSize) == [5, 5] && !dynamoStacked.returnSequences)
        // O-R8: h_n of a stack (Concat of the layers' Y_h), its last layer's entries.
        for id in ["torch_bidi_stacked_final_state", "dynamo_bidi_stacked_final_state"] {
            let hn = try Self.read(id).architecture
            #expect(hn.layers.map(\.direction) == [.bidirectional, .bidirectional] && !hn.returnSequences, "\(id)")
            #expect(hn.layers.allSatisfy { $0.mergeMode == .concat } && hn.dense.map(\.activation) == [.softmax], "\(id)")
        }
        let stacked = try Self.read("tf2onnx_stacked").architecture
        #expect(stacked.layers.map(\.hiddenSize) == [5, 4] && stacked.dense.map(\.activation) == [.softmax])
    }

    /// Keras → tf2onnx → our reader gives Keras's own parameters (Keras's reader), bit for bit.
    @Test(arguments: ["tf2onnx_plain", "tf2onnx_many_to_one", "tf2onnx_stacked", "tf2onnx_bidirectional",
                      "tf2onnx_bidirectional_last", "tf2onnx_go_backwards", "tf2onnx_embedding"])
    func tf2onnxKeepsKerasParameters(_ id: String) throws {
        let onnx = try Self.read(id)
        let keras = try FormatRegistry.read(Self.dir(id).appendingPathComponent("model.keras")).model
        #expect(onnx.architecture == keras.architecture, "\(id)")
        for (name, t) in keras.tensors {
            #expect(onnx.tensors[name] == t, "\(id): \(name)")
        }
    }
}
