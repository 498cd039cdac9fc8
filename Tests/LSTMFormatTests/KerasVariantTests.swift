import Foundation
import Testing
@testable import LSTMFormat

/// Issue 7 variants made by real Keras / tf_keras (`scripts/keras_fixtures.py variants`,
/// `Fixtures/keras-variants/<id>/`): y.npy is Keras's prediction for the file as Keras loads it; refuse.txt a
/// phrase the refusal must contain.
@Suite struct KerasVariantTests {
    static func url(_ relative: String) -> URL { FixturePaths.fixture("keras-variants/" + relative) }

    static func read(_ file: String, config: String? = nil, byName: Bool = false) throws -> (LSTMModel, KerasCaseTests.Notes) {
        let notes = KerasCaseTests.Notes()
        var options = ReadOptions(warn: { notes.add($0) })
        if let config { options.keras = KerasReadOptions(config: try Data(contentsOf: url(config)), configPath: config) }
        options.keras.byName = byName
        return (try FormatRegistry.read(url(file), options: options).model, notes)
    }

    static func error(_ model: LSTMModel, _ folder: String, _ expected: String = "y.npy") throws -> Double {
        let y = try LSTMNumerics.forward(model, inputs: try NumPy.readNPY(url("\(folder)/x.npy")), precision: .float32).float64Values()
        let want = try NumPy.readNPY(url("\(folder)/\(expected)")).float64Values()
        guard y.count == want.count else { return .infinity }
        return zip(y, want).map { abs($0 - $1) }.max()! / max(1, want.map(abs).max()!)
    }

    /// K-O1: same-shaped layers whose names are swapped get the weights Keras gives them: by position, or by
    /// name with K-O2.
    @Test func swappedNamesFollowKeras() throws {
        let (byPosition, _) = try Self.read("swapped_names_tfk/weights.h5", config: "swapped_names_tfk/swapped.json")
        #expect(try Self.error(byPosition, "swapped_names_tfk") <= 1e-5)
        let (byName, _) = try Self.read("swapped_names_tfk/weights.h5", config: "swapped_names_tfk/swapped.json", byName: true)
        #expect(try Self.error(byName, "swapped_names_tfk", "y_by_name.npy") <= 1e-5)
    }

    /// K-A1: an array no layer takes is an error naming it; optimizer state is the one exemption.
    @Test func everyArrayIsAccountedFor() throws {
        let error = #expect(throws: (any Error).self) { _ = try Self.read("unmapped_k3/m.weights.h5", config: "unmapped_k3/config.json") }
        let phrase = try String(contentsOf: Self.url("unmapped_k3/refuse.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(String(describing: error as Any).contains(phrase), "\(String(describing: error))")
        let (optimized, _) = try Self.read("optimizer_k3/m.keras")
        #expect(try Self.error(optimized, "optimizer_k3") <= 1e-5)
    }

    /// K-O1, K-O3: a layer whose arrays do not fit names the config's layer and the file's layer; a missing
    /// Keras 3 group names the config's layer and what the file holds.
    @Test func mismatchesNameBothSides() throws {
        let legacy = #expect(throws: (any Error).self) {
            _ = try FormatRegistry.read(FixturePaths.fixture("keras-cases/order-not-names/checkpoint_epoch_1.h5"),
                                        options: ReadOptions(formatOptions: FormatOptions(KerasReadOptions(config: try Data(contentsOf: Self.url("swapped_names_tfk/swapped.json"))))))
        }
        let text = String(describing: legacy as Any)
        #expect(text.contains("the config's layer 'second' takes the weights of the file's layer 'lstm'") && text.contains("kernel"), "\(text)")
        let missing = #expect(throws: (any Error).self) {
            _ = try FormatRegistry.read(FixturePaths.fixture("keras-cases/subclassed-weights/k3_ordered.weights.h5"),
                                        options: ReadOptions(formatOptions: FormatOptions(KerasReadOptions(config: try Data(contentsOf: Self.url("unmapped_k3/config.json"))))))
        }
        let m = String(describing: missing as Any)
        #expect(m.contains("/layers/dense/vars/0") && m.contains("/layers holds lstm, lstm_1"), "\(m)")
    }

    /// K-C6: nested straight-chain models are flattened (Keras 3 nested groups, tf_keras one weight group).
    @Test(arguments: ["nested_k3/m.keras", "nested_tfk/m.h5"])
    func nestedModelsAreFlattened(file: String) throws {
        let (model, _) = try Self.read(file)
        #expect(model.architecture.layers.count == 2 && model.architecture.dense.first?.activation == .tanh)
        #expect(try Self.error(model, String(file.split(separator: "/")[0])) <= 1e-5)
        #expect(model.metadata["keras.rewrites"]?.contains("encoder") == true)
    }

    /// K-C5: an Activation that cannot be folded is refused saying why.
    @Test(arguments: ["act_after_lstm_k3", "act_after_relu_k3"])
    func unfoldableActivationsAreRefused(id: String) throws {
        let phrase = try String(contentsOf: Self.url("\(id)/refuse.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let error = #expect(throws: (any Error).self) { _ = try Self.read("\(id)/m.keras") }
        #expect(String(describing: error as Any).contains(phrase), "\(String(describing: error))")
    }

    /// K-N1: Monte-Carlo dropout converts to the deterministic model, with a note.
    @Test func monteCarloDropoutIsTheDeterministicModel() throws {
        let (model, notes) = try Self.read("mc_dropout_tfk/m.h5")
        #expect(try Self.error(model, "mc_dropout_tfk") <= 1e-5)
        #expect(notes.joined.contains("'dropout'"))
    }

    /// K-R3: a SavedModel directory and a TensorFlow checkpoint (its .index, its .data-* and the `checkpoint`
    /// file naming it) are recognised, and the refusal says how to get a Keras file (library and command line).
    @Test func tensorFlowArtifactsAreRecognised() throws {
        for (file, phrase) in [("tf_artifacts/saved_model", "SavedModel directory"), ("tf_artifacts/ckpt/weights.index", "TensorFlow checkpoint"),
                               ("tf_artifacts/ckpt/weights.data-00000-of-00001", "model.load_weights(\"weights\")"),
                               ("tf_artifacts/ckpt/checkpoint", "model.load_weights(\"weights\")")] {
            let error = #expect(throws: FileError.self) { _ = try FormatRegistry.read(Self.url(file)) }
            #expect(String(describing: error as Any).contains(phrase), "\(file): \(String(describing: error))")
            let r = try CLI.run(["inspect", Self.url(file).path])
            #expect(r.status == 2 && r.stderr.contains(phrase) && r.stderr.contains("model.save(\"model.keras\")")
                    && r.stderr.split(separator: "\n").count == 1, "\(file): \(r.stderr)")
        }
    }

    /// K-D1: the default gate activation by the version that wrote the file.
    @Test func defaultGateActivationFollowsTheKerasVersion() {
        #expect(KerasDefaults.recurrentActivation(.keras1) == "hard_sigmoid")
        #expect(KerasDefaults.recurrentActivation(.keras2, version: "2.2.5") == "hard_sigmoid")
        #expect(KerasDefaults.recurrentActivation(.keras2, version: "2.3.0") == "sigmoid")
        #expect(KerasDefaults.recurrentActivation(.keras2, version: "2.21.0") == "sigmoid")
        #expect(KerasDefaults.recurrentActivation(.keras3) == "sigmoid")
    }
}
