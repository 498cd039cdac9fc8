import Foundation
import Testing
@testable import LSTMFormat

/// Every accepted issue-7 case and variant, written back as `.keras` and as legacy `.h5`, loads in real Keras
/// and predicts what Keras predicted for the source within 1e-5 (`Spec/keras-mapping.md`, K-W3, K-W5, K-W6).
/// Python: LSTMFORMAT_PYTHON; LSTMFORMAT_SKIP_PYTHON=1 skips.
@Suite struct KerasCaseInteropTests {
    /// (folder under Fixtures/, file, Keras config or nil, float32 expected outputs). The precision-policy cases
    /// (float16-policies, bfloat16) are written with their policies and checked in `KerasPolicyInteropTests` (K-W6b).
    static let accepted: [(String, String, String?, String)] = [
        ("keras-cases/order-not-names", "checkpoint_epoch_1.h5", "model_rerun.json", "y.npy"),
        ("keras-cases/subclassed-weights", "k3_ordered.keras", nil, "y_k3.npy"),
        ("keras-cases/subclassed-weights", "tfk_headfirst.h5", nil, "y_tfk.npy"),
        ("keras-cases/inference-dropout", "mc_k3.keras", nil, "y_k3.npy"),
        ("keras-cases/keras1", "k1_model.h5", nil, "y.npy"),
        ("keras-cases/activation-layer", "act_k3.keras", nil, "y_k3.npy"),
        ("keras-cases/activation-layer", "act_tfk.h5", nil, "y_tfk.npy"),
        ("keras-cases/rnn-lstmcell", "cell_k3.keras", nil, "y_cell_k3.npy"),
        ("keras-cases/rnn-lstmcell", "stacked_tfk.h5", nil, "y_stacked_tfk.npy"),
        ("keras-cases/return-state", "unused_state.keras", nil, "y_unused.npy"),
        ("keras-cases/layer-names", "slash.h5", nil, "y_slash.h5.npy"),
        ("keras-variants/nested_k3", "m.keras", nil, "y.npy"),
        ("keras-variants/nested_tfk", "m.h5", nil, "y.npy"),
        ("keras-variants/mc_dropout_tfk", "m.h5", nil, "y.npy"),
        ("keras-variants/swapped_names_tfk", "weights.h5", "swapped.json", "y.npy"),
    ]

    /// Skipped (not passed) with LSTMFORMAT_SKIP_PYTHON=1.
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1")) func acceptedCasesExportToFilesRealKerasLoads() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [String: [[String]]] = ["keras3": [], "tf_keras": []]
        for (k, (dir, file, config, expected)) in Self.accepted.enumerated() {
            var options = ReadOptions()
            if let config { options.keras = KerasReadOptions(config: try Data(contentsOf: FixturePaths.fixture("\(dir)/\(config)"))) }
            let model = try FormatRegistry.read(FixturePaths.fixture("\(dir)/\(file)"), options: options).model
            let x = FixturePaths.fixture("\(dir)/x.npy").path, y = FixturePaths.fixture("\(dir)/\(expected)").path
            let keras2Sigmoid = KerasInteropTests.uses(model, .hardSigmoidKeras2)
            if !keras2Sigmoid {
                let url = folder.appendingPathComponent("\(k).keras")
                try FormatRegistry.write(model, to: url, format: KerasFormat.self)
                jobs["keras3"]?.append(["--file", url.path, "--loader", "keras3", "--inputs", x, "--expect", y])
            }
            let h5 = folder.appendingPathComponent("\(k).h5")
            try FormatRegistry.write(model, to: h5, format: KerasH5Format.self)
            jobs["tf_keras"]?.append(["--file", h5.path, "--loader", "tf_keras", "--inputs", x, "--expect", y])
            if !keras2Sigmoid { jobs["keras3"]?.append(["--file", h5.path, "--loader", "keras3", "--inputs", x, "--expect", y]) }
        }
        try KerasInteropTests.expectEveryCheckPasses(jobs, folder: folder)
    }

    /// K-W6a: a written Keras file that cannot carry the source's lower-precision policy (K-W6b: after `--dtype` the
    /// tensors no longer have the policy's variable dtype) names the layer and the policy; one that carries every
    /// policy, or a source without one, says nothing about it.
    @Test func K_W6a_anUncarriedPolicyIsNamed() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func notes(_ fixture: String, _ format: any ModelFileFormat.Type, _ name: String, dtype: DType? = nil) throws -> String {
            try KerasPolicyInteropTests.convert(FixturePaths.fixture(fixture), to: folder.appendingPathComponent(name), format: format, dtype: dtype)
        }
        let formats: [(any ModelFileFormat.Type, String)] = [(KerasFormat.self, "m.keras"), (KerasH5Format.self, "m.h5")]
        for (fixture, policy, dtype) in [("keras-policies/mixed_float16/k3.keras", "mixed_float16", DType.float16),
                                         ("keras-policies/float16/tfk.h5", "float16", .float32),
                                         ("keras-cases/bfloat16/mixed_bfloat16.keras", "mixed_bfloat16", .float16),
                                         ("keras-policies/bfloat16/k3.keras", "bfloat16", .float32)] {
            for (format, name) in formats {
                let said = try notes(fixture, format, name, dtype: dtype)
                #expect(said.contains("K-W6a") && said.contains(policy) && said.contains("'lstm"), "\(fixture) --dtype \(dtype) -> \(name): \(said)")
            }
        }
        for fixture in ["keras-policies/float16/k3.keras", "keras-policies/mixed_bfloat16/tfk.h5", "keras-cases/float16-policies/mixed_k3.keras"] {
            for (format, name) in formats {
                let said = try notes(fixture, format, name)
                #expect(!said.contains("K-W6a"), "K-W6b carries \(fixture) -> \(name): \(said)")
            }
        }
        #expect(!(try notes("keras-cases/bfloat16/bfloat16.keras", KerasFormat.self, "bf.keras")).contains("K-W6a"), "K-W6b carries bfloat16")
        #expect(!(try notes("keras-cases/activation-layer/act_k3.keras", KerasFormat.self, "plain.keras")).contains("K-W6a"), "no policy, no note")
    }

    /// K-W5: a `/` in a layer name (tf_keras allows it, Keras 3 does not) is replaced in written Keras files,
    /// the original kept in `.keras` metadata.
    @Test func slashNamesAreRenamedAndRemembered() throws {
        let model = try FormatRegistry.read(FixturePaths.fixture("keras-cases/layer-names/slash.h5")).model
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.keras")
        try FormatRegistry.write(model, to: url, format: KerasFormat.self)
        let back = try FormatRegistry.read(url).model
        #expect(back.metadata["keras.lstm.0.name"] == "enc_lstm")
        #expect(back.metadata["keras.renamed_layers"]?.contains("enc/lstm") == true)
    }

    /// K-W3: a legacy .h5 with Keras 2's hard sigmoid says that Keras 3 reads it differently.
    @Test func keras2HardSigmoidExportSaysHowKeras3ReadsIt() throws {
        let model = try FormatRegistry.read(FixturePaths.fixture("keras-cases/keras1/k1_model.h5")).model
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notes = KerasCaseTests.Notes()
        try FormatRegistry.write(model, to: folder.appendingPathComponent("m.h5"), format: KerasH5Format.self,
                                 options: WriteOptions(warn: { notes.add($0) }))
        #expect(notes.joined.contains("Keras 3 reads 'hard_sigmoid'"), "\(notes.all)")
        #expect(throws: FileError.self) { try FormatRegistry.write(model, to: folder.appendingPathComponent("m.keras"), format: KerasFormat.self) }
    }
}
