import Foundation
import Testing
@testable import LSTMFormat

/// Hand-built checks of the pure mapping rules (`Spec/keras-mapping.md`, K-M1 … K-M5, K-F6).
@Suite struct KerasMappingTests {
    /// K-M1: kernel [in, 4u] columns in gate order i, f, c, o; W_g = kernel[:, g-slice]ᵀ.
    @Test func kernelColumnsMapToGatesInIFCOOrder() {
        let input = 2, u = 3
        let kernel = Tensor(shape: [input, 4 * u], float32: (0..<(input * 4 * u)).map { Float($0) })  // value = 12·r + col
        let recurrent = Tensor(shape: [u, 4 * u], float32: (0..<(u * 4 * u)).map { Float(1000 + $0) })
        let bias = Tensor(shape: [4 * u], float32: (0..<(4 * u)).map { Float(500 + $0) })
        let t = KerasWeightMapping.cellTensors(kernel: kernel, recurrent: recurrent, bias: bias, units: u, layer: 0, cell: .fwd)
        // W_f is columns 3..5 (second block): W_f[j, r] = kernel[r, 3 + j] = 12r + 3 + j.
        #expect(t["lstm.0.fwd.W_f"]?.float32Values() == [3, 15, 4, 16, 5, 17])
        #expect(t["lstm.0.fwd.W_i"]?.shape == [3, 2])
        #expect(t["lstm.0.fwd.U_o"]?.float32Values().first == Float(1009))  // U_o[0, 0] = recurrent[0, 9]
        #expect(t["lstm.0.fwd.b_c"]?.float32Values() == [506, 507, 508])
    }

    /// K-M1 inverse: kernel → canonical → kernel gives the same bytes.
    @Test func kernelRoundTripIsBytePreserving() throws {
        let kernel = Tensor(shape: [3, 8], float32: (0..<24).map { Float($0) * 0.1 + 1e-7 })
        var tensors = KerasWeightMapping.cellTensors(kernel: kernel, recurrent: Tensor(shape: [2, 8], float32: (0..<16).map(Float.init)),
                                                     bias: nil, units: 2, layer: 0, cell: .fwd)
        tensors["dense.0.V"] = Tensor(shape: [1, 2], float32: [1, 2])
        tensors["dense.0.c"] = Tensor(shape: [1], float32: [0])
        let arch = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 3, hiddenSize: 2)], returnSequences: false, dense: [DenseLayerSpec(inputSize: 2, outputSize: 1)])
        let model = try LSTMModel(architecture: arch, tensors: tensors)
        let back = KerasWeightMapping.kerasWeights(model)
        #expect(back[0][0] == kernel)
        #expect(back[0][2].float32Values() == Array(repeating: 0, count: 8))  // M14: no bias → zeros
        #expect(back[1][0].shape == [2, 1])
    }

    /// K-M5: tf.keras's CuDNN kernel rule k.T.reshape((in, u), order="F") per gate, bias halves summed.
    @Test func cudnnConversionFollowsKeras() {
        // in = 2, u = 3, gate block k = [[0,1,2],[3,4,5]] (+10·g per gate). By hand: k.T = [[0,3],[1,4],[2,5]];
        // its Fortran-order flattening is 0,1,2,3,4,5, refilled column-major into (2,3): [[0,2,4],[1,3,5]].
        let block: [Float] = [0, 1, 2, 3, 4, 5]
        var values: [Float] = []
        for r in 0..<2 { for g in 0..<4 { values += block[(r * 3)..<(r * 3 + 3)].map { $0 + Float(10 * g) } } }
        let converted = KerasCuDNN.kernel(Tensor(shape: [2, 12], float32: values), units: 3)
        let row0 = Array(converted.float32Values()[0..<3]), row1 = Array(converted.float32Values()[12..<15])
        #expect(row0 == [0, 2, 4])
        #expect(row1 == [1, 3, 5])
        let bias = KerasCuDNN.bias(Tensor(shape: [8], float32: [1, 2, 3, 4, 10, 20, 30, 40]), units: 1)
        #expect(bias.float32Values() == [11, 22, 33, 44])
    }

    /// K-F6: a weights-only file without a config is read with inferred defaults and a warning.
    @Test func weightsWithoutConfigWarn() throws {
        let fixture = try #require(KerasFixture.accepted.first { $0.id == "k3_stacked_autonames" })
        let url = try #require(fixture.url("weights_h5"))
        final class Box: @unchecked Sendable { var notes: [String] = [] }
        let box = Box()
        let model = try FormatRegistry.read(url, options: ReadOptions(warn: { box.notes.append($0) })).model
        #expect(box.notes.count == 1)
        #expect(box.notes.first?.hasSuffix("; give the model's Keras JSON config") == true)
        #expect(model.architecture.layers.map(\.hiddenSize) == fixture.architecture?.layers.map(\.hiddenSize))
    }

    /// K-C2: options the canonical model cannot express are refused naming layer, class and option.
    @Test func statefulAndBranchingConfigsAreRefused() {
        let stateful = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"LSTM","config":{"name":"s","units":2,"stateful":true}}]}}"#
        #expect(throws: KerasError.unsupportedOption(layer: "s", className: "LSTM", option: "stateful", value: "true",
                                                      reason: "the canonical model starts every sequence from zero state and returns only h")) {
            try KerasConfig.parse(Data(stateful.utf8), generation: .keras3)
        }
        let gru = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"GRU","config":{"name":"g","units":2}}]}}"#
        #expect(throws: KerasError.unsupportedLayer(name: "g", className: "GRU", reason: KerasConfig.refusalReason("GRU"))) {
            try KerasConfig.parse(Data(gru.utf8), generation: .keras3)
        }
        let hard = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"LSTM","config":{"name":"l","units":2,"recurrent_activation":"hard_sigmoid"}}]}}"#
        #expect(throws: Never.self) {
            let k2 = try KerasConfig.parse(Data(hard.utf8), generation: .keras2)
            let k3 = try KerasConfig.parse(Data(hard.utf8), generation: .keras3)
            #expect(k2.layers[0].kind != k3.layers[0].kind)  // M7: Keras 2 and Keras 3 hard_sigmoid stay distinct
        }
    }
}

/// K-W1: tf_keras cannot load bfloat16 weights, so the legacy .h5 writer refuses them and writes nothing; K-W6:
/// the Keras 3 writers store them as Keras 3 does, bytes unchanged.
@Suite struct KerasBFloat16RefusalTests {
    @Test(arguments: ["m.keras", "m.weights.h5", "legacy.h5"])
    func bfloat16IsRefusedOnlyWhereKerasCannotLoadIt(name: String) throws {
        let model = try FormatRegistry.read(FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras")).model.converted(to: .bfloat16)
        let dir = try FixturePaths.temporaryFolder()
        let url = dir.appendingPathComponent(name)
        let format: any ModelFileFormat.Type = name == "legacy.h5" ? KerasH5Format.self : try FormatRegistry.format(forOutput: url)
        if name == "legacy.h5" {
            #expect(throws: (any Error).self) { try FormatRegistry.write(model, to: url, format: format) }
            do { try FormatRegistry.write(model, to: url, format: format) } catch {
                #expect(String(describing: error).contains("lstm.0.fwd.W_f is bfloat16: Keras cannot load bfloat16 weights"), "\(error)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "nothing written")
            // float32 (exact for bfloat16) is accepted.
            try FormatRegistry.write(model.converted(to: .float32), to: url, format: format)
            #expect(FileManager.default.fileExists(atPath: url.path))
            return
        }
        try FormatRegistry.write(model, to: url, format: format)
        var options = ReadOptions()
        if name == "m.weights.h5" {
            options.keras = KerasReadOptions(config: try KerasConfigWriter.json(try KerasConfigWriter.plan(model, target: .keras3), model: model, target: .keras3))
        }
        let back = try FormatRegistry.read(url, options: options).model
        #expect(back.tensors == model.tensors, "bfloat16 bytes survive \(name)")
    }
}
