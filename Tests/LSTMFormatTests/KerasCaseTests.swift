import Foundation
import Synchronization
import Testing
@testable import LSTMFormat

/// The user-reported Keras files of issue 7 (`Fixtures/keras-cases/<case>/CASE.md`, copied from the shared
/// cases): each behaves as its CASE.md says. Expected outputs were computed by Keras / tf_keras and are stored
/// next to the files; "within 1e-5" is max|ours − Keras| ≤ 1e-5 · max(1, max|Keras|) (`Spec/keras-mapping.md`).
@Suite struct KerasCaseTests {
    /// Collects the notes a read sends to `ReadOptions.warn`.
    final class Notes: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var joined: String { all.joined(separator: "\n") }
        func add(_ s: String) { lines.withLock { $0.append(s) } }
    }

    static func url(_ relative: String) -> URL { FixturePaths.fixture("keras-cases/" + relative) }

    /// Reads a case file (with an optional `--config` JSON and by-name matching), collecting its notes.
    static func read(_ file: String, config: String? = nil, byName: Bool = false) throws -> (LSTMModel, Notes) {
        let notes = Notes()
        var options = ReadOptions(warn: { notes.add($0) })
        if let config { options.keras = KerasReadOptions(config: try Data(contentsOf: url(config)), configPath: config) }
        options.keras.byName = byName
        return (try FormatRegistry.read(url(file), options: options).model, notes)
    }

    /// max|ours − Keras| / max(1, max|Keras|) of the float32 forward pass on the case's x.npy.
    static func error(_ model: LSTMModel, folder: String, expected: String) throws -> Double {
        let x = try NumPy.readNPY(url("\(folder)/x.npy"))
        let y = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
        let want = try NumPy.readNPY(url("\(folder)/\(expected)"))
        #expect(y.shape == want.shape, "\(folder)/\(expected): shape \(y.shape) vs Keras \(want.shape)")
        guard y.shape == want.shape else { return .infinity }
        let a = y.float64Values(), b = want.float64Values()
        let scale = max(1, b.map(abs).max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    static func expectRefusal(_ file: String, config: String? = nil, contains parts: [String]) {
        let error = #expect(throws: (any Error).self) { _ = try read(file, config: config) }
        let text = String(describing: error.map { $0 } as Any)
        for part in parts { #expect(text.contains(part), "\(file): \(text)") }
    }

    // K-O1 / K-O2: order-not-names
    @Test func legacyWeightsGoToLayersByPosition() throws {
        for config in ["model.json", "model_rerun.json"] {
            let (model, _) = try Self.read("order-not-names/checkpoint_epoch_1.h5", config: "order-not-names/\(config)")
            #expect(try Self.error(model, folder: "order-not-names", expected: "y.npy") <= 1e-5, "\(config)")
        }
        // by name: the re-run config's names (lstm_2, …) are not in the file; the error names both sides.
        let error = #expect(throws: (any Error).self) {
            _ = try Self.read("order-not-names/checkpoint_epoch_1.h5", config: "order-not-names/model_rerun.json", byName: true)
        }
        #expect(String(describing: error as Any).contains("lstm_2") && String(describing: error as Any).contains("lstm, lstm_1, dense"))
        let (byName, _) = try Self.read("order-not-names/checkpoint_epoch_1.h5", config: "order-not-names/model.json", byName: true)
        #expect(try Self.error(byName, folder: "order-not-names", expected: "y.npy") <= 1e-5)
        // Without a config: defaults, and a note that says which (relu/softmax are not defaults).
        let (inferred, notes) = try Self.read("order-not-names/checkpoint_epoch_1.h5")
        #expect(notes.joined.contains("recurrent_activation=sigmoid") && notes.joined.contains("keras_version 2.21.0"), "\(notes.all)")
        #expect(try Self.error(inferred, folder: "order-not-names", expected: "y.npy") > 1e-3)
    }

    // K-A1, K-A2, K-C10: subclassed-weights
    @Test func subclassedWeightsAreAllMapped() throws {
        for file in ["k3_ordered.weights.h5", "k3_ordered.keras"] {
            let (model, notes) = try Self.read("subclassed-weights/\(file)")
            #expect(try Self.error(model, folder: "subclassed-weights", expected: "y_k3.npy") <= 1e-5, "\(file)")
            #expect(notes.joined.contains("inferred"), "\(file): \(notes.all)")
        }
        for file in ["tfk_ordered.h5", "tfk_headfirst.h5"] {
            let (model, _) = try Self.read("subclassed-weights/\(file)")
            #expect(try Self.error(model, folder: "subclassed-weights", expected: "y_tfk.npy") <= 1e-5, "\(file)")
        }
    }

    // K-N1: inference-dropout
    @Test func inferenceDropoutIsNamedInANoteAndTheMetadata() throws {
        for (file, layer) in [("mc_k3.keras", "dropout"), ("mc_tfk.h5", "dropout"), ("mc_lstm_tfk.h5", "lstm_1")] {
            let (model, notes) = try Self.read("inference-dropout/\(file)")
            #expect(notes.joined.contains("'\(layer)'") && notes.joined.contains("training=True"), "\(file): \(notes.all)")
            #expect(model.metadata["keras.inference_dropout"]?.contains(layer) == true, "\(file)")
        }
        let (k3, _) = try Self.read("inference-dropout/mc_k3.keras")
        #expect(try Self.error(k3, folder: "inference-dropout", expected: "y_k3.npy") <= 1e-5)
    }

    // K-N2, K-F7: float16-policies, bfloat16
    @Test(arguments: [("float16-policies/mixed_k3.keras", "y32.npy", "mixed_float16"), ("float16-policies/mixed_tfk.h5", "y32.npy", "mixed_float16"),
                      ("float16-policies/f16_k3.keras", "y32_f16.npy", "float16"), ("bfloat16/mixed_bfloat16.keras", "y32_mixed_bfloat16.npy", "mixed_bfloat16"),
                      ("bfloat16/bfloat16.keras", "y32_bfloat16.npy", "bfloat16")])
    func precisionPoliciesConvertExactlyWithANote(file: String, expected: String, policy: String) throws {
        let (model, notes) = try Self.read(file)
        let folder = String(file.split(separator: "/")[0])
        #expect(try Self.error(model, folder: folder, expected: expected) <= 1e-5)
        #expect(notes.joined.contains("dtype policy \(policy)"), "\(notes.all)")
        #expect(model.metadata["keras.dtype_policy"]?.contains(policy) == true)
    }

    @Test func bfloat16WeightsReadBitExactly() throws {
        let (model, _) = try Self.read("bfloat16/bfloat16.keras")
        #expect(model.dtypes == [.bfloat16])
        // The file's bytes, read independently of the Keras adapter: /layers/dense/vars/1 is the Dense bias.
        let file = try HDF5File.open(image: try KerasArchive.member(Self.url("bfloat16/bfloat16.keras"), "model.weights.h5"), label: "bfloat16")
        defer { try? file.close() }
        let bias = try file.readTensor("/layers/dense/vars/1")
        #expect(bias.dtype == .bfloat16 && model.tensors[TensorName.denseC(0)]?.bytes == bias.bytes)
    }

    // K-K1, K-K2: keras1
    @Test func keras1FilesConvertAsTfKerasConvertsThem() throws {
        for (file, config) in [("k1_weights.h5", "keras1/tfk_config.json"), ("k1_gpu_weights.h5", "keras1/tfk_config.json"), ("k1_model.h5", nil), ("k1_weights.h5", nil)] {
            let (model, notes) = try Self.read("keras1/\(file)", config: config)
            #expect(try Self.error(model, folder: "keras1", expected: "y.npy") <= 1e-5, "\(file) \(config ?? "")")
            #expect(model.architecture.layers[0].gateActivation == .hardSigmoidKeras2)
            if config == nil, file == "k1_weights.h5" { #expect(notes.joined.contains("Keras 1"), "\(notes.all)") }
        }
    }

    // K-C5: activation-layer
    @Test func activationLayerFoldsIntoTheDenseBefore() throws {
        for (file, expected) in [("act_k3.keras", "y_k3.npy"), ("act_tfk.h5", "y_tfk.npy")] {
            let (model, _) = try Self.read("activation-layer/\(file)")
            #expect(model.architecture.dense.last?.activation == .sigmoid)
            #expect(try Self.error(model, folder: "activation-layer", expected: expected) <= 1e-5, "\(file)")
        }
    }

    // K-C7: rnn-lstmcell
    @Test(arguments: [("cell_k3.keras", "y_cell_k3.npy", 1), ("cell_tfk.h5", "y_cell_tfk.npy", 1),
                      ("stacked_k3.keras", "y_stacked_k3.npy", 2), ("stacked_tfk.h5", "y_stacked_tfk.npy", 2)])
    func rnnOfLSTMCellsIsStackedLSTMLayers(file: String, expected: String, layers: Int) throws {
        let (model, _) = try Self.read("rnn-lstmcell/\(file)")
        #expect(model.architecture.layers.count == layers)
        #expect(try Self.error(model, folder: "rnn-lstmcell", expected: expected) <= 1e-5)
    }

    // K-C9: return-state
    @Test func unusedReturnStateConvertsAndStatesFromLayersAreRefused() throws {
        for (file, expected) in [("unused_state.keras", "y_unused.npy"), ("unused_state_tfk.h5", "y_unused_tfk.npy")] {
            let (model, _) = try Self.read("return-state/\(file)")
            #expect(try Self.error(model, folder: "return-state", expected: expected) <= 1e-5, "\(file)")
        }
        Self.expectRefusal("return-state/init_state.keras", contains: ["initial_state", "h0, c0", "initial states fed from other layers are not supported"])
    }

    // K-C2: time-major
    @Test func timeMajorIsRefusedForItsRealReason() {
        Self.expectRefusal("time-major/time_major.h5", contains: ["time_major=true", "[steps, batch, features]"])
    }

    // layer-names (reading; the writer side is K-W5 in KerasInteropTests)
    @Test func slashNamesRead() throws {
        let (model, _) = try Self.read("layer-names/slash.h5")
        #expect(model.metadata["keras.lstm.0.name"] == "enc/lstm")
        #expect(try Self.error(model, folder: "layer-names", expected: "y_slash.h5.npy") <= 1e-5)
    }
}

/// The same cases through the command line, as a user runs them.
@Suite(.serialized) struct KerasCaseCLITests {
    static func path(_ relative: String) -> String { KerasCaseTests.url(relative).path }

    /// `convert FILE out.lstm [args]` then `forward out.lstm --inputs x.npy`; returns the convert result and
    /// the relative error against Keras's `expected` (nil when convert failed).
    static func convertAndForward(_ file: String, _ args: [String] = [], expected: String?) throws -> (CLI.Result, Double?) {
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.lstm").path, y = dir.appendingPathComponent("y.npy").path
        let r = try CLI.run(["convert", path(file), out] + args)
        guard r.status == 0, let expected else { return (r, nil) }
        let folder = String(file.split(separator: "/")[0])
        let f = try CLI.run(["forward", out, "--inputs", path("\(folder)/x.npy"), "--output", y])
        #expect(f.status == 0, "\(f.stderr)")
        let got = try NumPy.readNPY(URL(fileURLWithPath: y)).float64Values()
        let want = try NumPy.readNPY(KerasCaseTests.url("\(folder)/\(expected)")).float64Values()
        guard got.count == want.count else { return (r, .infinity) }
        return (r, zip(got, want).map { abs($0 - $1) }.max()! / max(1, want.map(abs).max()!))
    }

    @Test func casesConvertThroughTheCommandLine() throws {
        let accepted: [(String, [String], String)] = [
            ("order-not-names/checkpoint_epoch_1.h5", ["--config", Self.path("order-not-names/model_rerun.json")], "y.npy"),
            ("subclassed-weights/k3_ordered.weights.h5", [], "y_k3.npy"),
            ("keras1/k1_model.h5", [], "y.npy"),
            ("keras1/k1_gpu_weights.h5", ["--config", Self.path("keras1/tfk_config.json")], "y.npy"),
            ("activation-layer/act_tfk.h5", [], "y_tfk.npy"),
            ("rnn-lstmcell/stacked_k3.keras", [], "y_stacked_k3.npy"),
            ("return-state/unused_state.keras", [], "y_unused.npy"),
            ("bfloat16/bfloat16.keras", [], "y32_bfloat16.npy"),
        ]
        for (file, args, expected) in accepted {
            let (r, err) = try Self.convertAndForward(file, args, expected: expected)
            #expect(r.status == 0, "\(file): \(r.stderr)")
            #expect((err ?? .infinity) <= 1e-5, "\(file): error \(String(describing: err))")
        }
    }

    @Test func notesAndRefusalsAreOneLineEach() throws {
        let (mc, _) = try Self.convertAndForward("inference-dropout/mc_tfk.h5", expected: nil)
        #expect(mc.status == 0 && mc.stderr.contains("lstm-format: note: dropout is active at inference") && mc.stderr.contains("'dropout'"), "\(mc.stderr)")
        let (mixed, _) = try Self.convertAndForward("float16-policies/mixed_tfk.h5", expected: nil)
        #expect(mixed.status == 0 && mixed.stderr.contains("dtype policy mixed_float16"), "\(mixed.stderr)")
        for (file, part) in [("time-major/time_major.h5", "time_major=true"), ("return-state/init_state.keras", "initial_state")] {
            let (r, _) = try Self.convertAndForward(file, expected: nil)
            #expect(r.status == 2 && r.stderr.contains(part) && r.stderr.split(separator: "\n").count == 1, "\(file): \(r.stderr)")
        }
        let (byName, _) = try Self.convertAndForward("order-not-names/checkpoint_epoch_1.h5",
                                                     ["--config", Self.path("order-not-names/model_rerun.json"), "--by-name"], expected: nil)
        #expect(byName.status == 2 && byName.stderr.contains("lstm_2"), "\(byName.stderr)")
    }
}
