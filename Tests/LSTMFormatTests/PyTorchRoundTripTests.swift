import Foundation
import Testing
@testable import LSTMFormat

/// Writing state dicts (`Spec/pytorch-mapping.md`, P-W1 … P-W3, P-T3).
@Suite struct PyTorchRoundTripTests {
    /// P-T3: every Keras fixture PyTorch can express goes Keras → safetensors → Keras unchanged.
    @Test func kerasToPyTorchToKeras() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var written = 0, refused = 0
        for fixture in KerasFixture.accepted {
            let model = try KerasInteropTests.source(fixture)
            let url = folder.appendingPathComponent("\(fixture.id).safetensors")
            do {
                try FormatRegistry.write(model, to: url)
            } catch {
                // P-W2: only what nn.LSTM cannot express is refused, and nothing is written.
                let text = String(describing: error)
                #expect(text.contains("backward-only") || text.contains("merges") || text.contains("nn.LSTM computes") || text.contains("embedding") || text.contains("masks"), "\(fixture.id): \(text)")
                #expect(!FileManager.default.fileExists(atPath: url.path))
                refused += 1
                continue
            }
            let back = try FormatRegistry.read(url).model
            #expect(back.architecture == model.architecture, "\(fixture.id)")
            #expect(back.tensors == model.tensors, "\(fixture.id)")
            let keras = folder.appendingPathComponent("\(fixture.id).keras")
            try FormatRegistry.write(back, to: keras)
            let again = try FormatRegistry.read(keras).model
            #expect(again.tensors == model.tensors && again.architecture == model.architecture, "\(fixture.id)")
            written += 1
        }
        #expect(written >= 10 && refused >= 3, "written \(written), refused \(refused)")
    }

    /// P-W1: a model read from PyTorch is written back with its original keys and bias=False modules.
    @Test func originalKeysArePreserved() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "two_lstms_two_linears" })
        let model = try FormatRegistry.read(fixture.file("model.safetensors"), options: ReadOptions(architecture: try fixture.architecture())).model
        let (entries, metadata) = try PyTorchStateDict.stateDict(model)
        #expect(entries.map(\.name) == fixture.keys)
        #expect(try ModelArchitecture.fromJSON(Data(metadata[PyTorchStateDict.Key.architecture]!.utf8)) == model.architecture)
        let original = try SafetensorsFile.decode(Data(contentsOf: fixture.file("model.safetensors")))
        let byName = Dictionary(uniqueKeysWithValues: original.tensors.map { ($0.name, $0.tensor) })
        for (name, t) in entries where !name.contains("bias_") { #expect(byName[name] == t, "\(name)") }
    }

    /// P-W1: other models get one nn.LSTM per run of layers and `linear` heads.
    @Test func defaultNamesFollowRuns() throws {
        let a = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 3, hiddenSize: 4), LSTMLayerSpec(inputSize: 4, hiddenSize: 4),
                                           LSTMLayerSpec(inputSize: 4, hiddenSize: 2, direction: .bidirectional, mergeMode: .concat)],
                                  returnSequences: false, dense: [DenseLayerSpec(inputSize: 4, outputSize: 1, activation: .sigmoid)])
        let model = RandomModels.make(architecture: a, seed: 9)
        let names = try PyTorchStateDict.stateDict(model).entries.map(\.name)
        #expect(names.prefix(5) == ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "lstm.weight_ih_l1"])
        #expect(names.contains("lstm_1.weight_hh_l0_reverse"))
        #expect(names.suffix(2) == ["linear.weight", "linear.bias"])
    }

    /// P-W2: what nn.LSTM cannot express is refused naming the layer.
    @Test func inexpressibleModelsAreRefused() throws {
        for (spec, words) in [(LSTMLayerSpec(inputSize: 2, hiddenSize: 2, direction: .backward), "backward-only"),
                              (LSTMLayerSpec(inputSize: 2, hiddenSize: 2, direction: .bidirectional, mergeMode: .sum), "merges its directions by sum"),
                              (LSTMLayerSpec(inputSize: 2, hiddenSize: 2, gateActivation: .hardSigmoidKeras3), "hard_sigmoid_keras3"),
                              (LSTMLayerSpec(inputSize: 2, hiddenSize: 2, cellActivation: .relu), "relu")] {
            let model = RandomModels.make(architecture: ModelArchitecture(layers: [spec], returnSequences: true, dense: []), seed: 1)
            let e = #expect(throws: PyTorchError.self) { try PyTorchStateDict.stateDict(model) }
            #expect(String(describing: e.map { $0 as Any } ?? "").contains("lstm.0") && String(describing: e.map { $0 as Any } ?? "").contains(words))
        }
    }
}
