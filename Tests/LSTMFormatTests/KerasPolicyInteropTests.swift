import Foundation
import Testing
@testable import LSTMFormat

/// K-W6b: a Keras model's lower-precision dtype policy (float16, mixed_float16, mixed_bfloat16, bfloat16) is
/// carried into the `.keras` and legacy `.h5` we write, so real Keras predicts for the written file exactly what it
/// predicts for the source (`Spec/keras-mapping.md`, K-W6b, K-W6a). Sources: `Fixtures/keras-policies/<policy>/`
/// (`scripts/keras_policy_fixtures.py`: a Keras 3 `k3.keras` and a tf_keras `tfk.h5` with the same weights) and
/// the per-layer user cases of `Fixtures/keras-cases/float16-policies` and `bfloat16`.
/// Python: LSTMFORMAT_PYTHON; LSTMFORMAT_SKIP_PYTHON=1 skips.
@Suite struct KerasPolicyInteropTests {
    static let policies = ["float16", "mixed_float16", "mixed_bfloat16", "bfloat16"]
    /// `Fixtures/keras-policies/inner/<P>/` (`scripts/keras_policy_fixtures.py inner`, K-N2b).
    static let innerPolicies = ["float16", "mixed_float16", "mixed_bfloat16"]

    /// `source` → `.lstm` → `format` at `url` (through the canonical file, as `lstm-format convert` twice would
    /// go), optionally converted to `dtype` first; returns the writer's notes.
    @discardableResult
    static func convert(_ source: URL, to url: URL, format: any ModelFileFormat.Type, dtype: DType? = nil) throws -> String {
        var model = try FormatRegistry.read(source).model
        if let dtype { model = model.converted(to: dtype) }
        let lstm = url.appendingPathExtension("lstm")
        try FormatRegistry.write(model, to: lstm, format: CompactFormat.self)
        let notes = KerasCaseTests.Notes()
        try FormatRegistry.write(try FormatRegistry.read(lstm).model, to: url, format: format, options: WriteOptions(warn: { notes.add($0) }))
        return notes.joined
    }

    static func fixture(_ relative: String) -> URL { FixturePaths.fixture(relative) }

    /// Real Keras's `predict` on every written file equals its `predict` on the source (or on the same weights saved
    /// by the other Keras) in the same process, bit for bit (`--rtol 0 --atol 0`), and the committed predictions of
    /// `scripts/keras_policy_fixtures.py` within one step of the compute dtype (they were made in another process,
    /// possibly on another CPU).
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1")) func K_W6b_kerasPredictsForTheWrittenFileWhatItPredictsForTheSource() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [String: [[String]]] = ["keras3": [], "tf_keras": []]
        func check(_ file: URL, _ loader: String, x: URL, against model: URL, _ modelLoader: String) {
            jobs[loader]?.append(["--file", file.path, "--loader", loader, "--inputs", x.path, "--predict",
                                  "--expect-model", model.path, "--expect-loader", modelLoader, "--rtol", "0", "--atol", "0"])
        }
        var written = 0
        for policy in Self.policies {
            let dir = "keras-policies/\(policy)"
            let x = Self.fixture("\(dir)/x.npy"), k3 = Self.fixture("\(dir)/k3.keras"), tfk = Self.fixture("\(dir)/tfk.h5")
            let step = policy.hasSuffix("bfloat16") ? "8e-3" : "1e-3"
            let sources = policy == "bfloat16" ? [k3] : [k3, tfk]
            for source in sources {
                let tag = "\(policy)-\(source.deletingPathExtension().lastPathComponent)"
                let keras = folder.appendingPathComponent("\(tag).keras")
                let notes = try Self.convert(source, to: keras, format: KerasFormat.self)
                #expect(!notes.contains("K-W6a"), "\(tag).keras carries its policy: \(notes)")
                check(keras, "keras3", x: x, against: k3, "keras3")
                jobs["keras3"]?.append(["--file", keras.path, "--loader", "keras3", "--inputs", x.path, "--predict",
                                        "--expect", Self.fixture("\(dir)/y_k3.npy").path, "--rtol", "0", "--atol", step])
                written += 1
                let h5 = folder.appendingPathComponent("\(tag).h5")
                if policy == "bfloat16" {
                    // K-W1: tf_keras cannot hold bfloat16 variables in a legacy .h5; nothing is written.
                    #expect(throws: FileError.self) { try Self.convert(source, to: h5, format: KerasH5Format.self) }
                    continue
                }
                let h5Notes = try Self.convert(source, to: h5, format: KerasH5Format.self)
                #expect(!h5Notes.contains("K-W6a"), "\(tag).h5 carries its policy: \(h5Notes)")
                check(h5, "keras3", x: x, against: k3, "keras3")
                check(h5, "tf_keras", x: x, against: tfk, "tf_keras")
                jobs["tf_keras"]?.append(["--file", h5.path, "--loader", "tf_keras", "--inputs", x.path, "--predict",
                                          "--expect", Self.fixture("\(dir)/y_tfk.npy").path, "--rtol", "0", "--atol", step])
                written += 1
            }
        }
        // Per-layer policies, as users had them (a mixed_float16 LSTM before a float32 Dense, …). Keras 3 cannot load
        // tf_keras's own mixed_tfk.h5 (its LSTM config has time_major), so that one is checked in tf_keras only.
        for (file, targets) in [("keras-cases/float16-policies/mixed_k3.keras", ["keras", "h5"]), ("keras-cases/float16-policies/f16_k3.keras", ["keras", "h5"]),
                                ("keras-cases/bfloat16/mixed_bfloat16.keras", ["keras", "h5"]), ("keras-cases/bfloat16/bfloat16.keras", ["keras"]),
                                ("keras-cases/float16-policies/mixed_tfk.h5", ["h5"])] {
            let source = Self.fixture(file), x = source.deletingLastPathComponent().appendingPathComponent("x.npy")
            let keras3Source = file.hasSuffix(".keras")
            for target in targets {
                let out = folder.appendingPathComponent("case-\(written).\(target)")
                written += 1
                let notes = try Self.convert(source, to: out, format: target == "keras" ? KerasFormat.self : KerasH5Format.self)
                #expect(!notes.contains("K-W6a"), "\(file) -> .\(target) carries its policy: \(notes)")
                if keras3Source { check(out, "keras3", x: x, against: source, "keras3") }
                else { check(out, "tf_keras", x: x, against: source, "tf_keras") }
            }
        }
        // K-N2b: policies on a wrapper's inner layer only (`Fixtures/keras-policies/inner/<P>/`). Each Keras predicts
        // for the written file, bit for bit, what it predicts for the source: Keras 3 for its .keras sources (written
        // .keras and .h5), tf_keras for its .h5 sources (written .h5); and the committed predictions within a step.
        for policy in Self.innerPolicies {
            let dir = "keras-policies/inner/\(policy)", x = Self.fixture("\(dir)/x.npy")
            let step = policy.hasSuffix("bfloat16") ? "8e-3" : "1e-3"
            for name in ["bi.keras", "td.keras", "rnn.keras", "bi_tfk.h5", "td_tfk.h5"] {
                let source = Self.fixture("\(dir)/\(name)"), tool = name.hasSuffix(".keras") ? "keras3" : "tf_keras"
                let y = Self.fixture("\(dir)/y_\(source.deletingPathExtension().lastPathComponent).npy")
                for target in tool == "keras3" ? ["keras", "h5"] : ["h5"] {
                    let out = folder.appendingPathComponent("inner-\(policy)-\(name).\(target)")
                    let notes = try Self.convert(source, to: out, format: target == "keras" ? KerasFormat.self : KerasH5Format.self)
                    #expect(!notes.contains("K-W6a"), "\(dir)/\(name) -> .\(target) carries its inner policies: \(notes)")
                    check(out, tool, x: x, against: source, tool)
                    jobs[tool]?.append(["--file", out.path, "--loader", tool, "--inputs", x.path, "--predict",
                                        "--expect", y.path, "--rtol", "0", "--atol", step])
                }
            }
        }
        try KerasInteropTests.expectEveryCheckPasses(jobs, folder: folder) { "\($0[1]) against \($0[8])" }
    }

    /// K-W6b without Keras: the written file declares the source's policies, so reading it back records the same
    /// `keras.dtype_policy` (layer names and policies) and the same tensors as the source; a policy that does not fit after `--dtype` is
    /// not declared.
    @Test func K_W6b_writtenFilesDeclareTheSourcesPolicies() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var sources = Self.policies.map { "keras-policies/\($0)/k3.keras" } + Self.policies.dropLast().map { "keras-policies/\($0)/tfk.h5" }
        sources += ["keras-cases/float16-policies/mixed_k3.keras", "keras-cases/float16-policies/mixed_tfk.h5", "keras-cases/bfloat16/mixed_bfloat16.keras"]
        sources += Self.innerPolicies.flatMap { p in ["bi.keras", "td.keras", "rnn.keras", "bi_tfk.h5", "td_tfk.h5"].map { "keras-policies/inner/\(p)/\($0)" } }
        for (k, file) in sources.enumerated() {
            let source = try FormatRegistry.read(Self.fixture(file)).model, recorded = source.metadata["keras.dtype_policy"]
            #expect(recorded != nil, "\(file) records its policy")
            for (format, ext) in [(KerasFormat.self as any ModelFileFormat.Type, "keras"), (KerasH5Format.self, "h5")] where !(ext == "h5" && file.contains("/bfloat16/k3")) {
                let out = folder.appendingPathComponent("\(k).\(ext)")
                try Self.convert(Self.fixture(file), to: out, format: format)
                let back = try FormatRegistry.read(out).model
                #expect(back.metadata["keras.dtype_policy"] == recorded, "\(file) -> .\(ext)")
                #expect(back.tensors == source.tensors, "\(file) -> .\(ext): the weights' bytes survive (K-W6: bfloat16 too)")
            }
        }
        let out = folder.appendingPathComponent("f16.keras")
        try Self.convert(Self.fixture("keras-policies/mixed_float16/k3.keras"), to: out, format: KerasFormat.self, dtype: .float16)
        #expect(try FormatRegistry.read(out).model.metadata["keras.dtype_policy"] == nil, "mixed_float16 does not fit float16 tensors")
        // K-N2b, K-W6a: an inner policy that does not fit after --dtype is named, not dropped in silence.
        for file in ["bi.keras", "td.keras", "bi_tfk.h5"] {
            let inner = folder.appendingPathComponent("f16-\(file).keras")
            let notes = try Self.convert(Self.fixture("keras-policies/inner/mixed_float16/\(file)"), to: inner, format: KerasFormat.self, dtype: .float16)
            #expect(notes.contains("K-W6a") && notes.contains("/"), "\(file) --dtype float16: \(notes)")
            #expect(try FormatRegistry.read(inner).model.metadata["keras.dtype_policy"] == nil, "\(file): float32 declared")
        }
    }

    /// K-N2, K-N2b: a policy on a wrapper's inner layer only (Keras 3 writes `Bidirectional(LSTM(3, dtype=P))` as a
    /// float32 wrapper around P LSTMs) is named in the read note and recorded in `keras.dtype_policy` as
    /// `wrapper/inner` (an RNN's cell under the RNN's name); a TimeDistributed's inner policy comes with the note that
    /// Keras 3 computes it in float32. Layer names are the script's (`scripts/keras_policy_fixtures.py inner`).
    @Test func K_N2b_innerLayerPoliciesAreNamedInTheReadNote() throws {
        for policy in Self.innerPolicies {
            let dir = "keras-policies/inner/\(policy)"
            // Keras 3 writes the Bidirectional's LSTM "lstm" as forward_lstm and backward_lstm; tf_keras keeps "lstm"
            // and builds backward_lstm from its config.
            let expected: [(String, [String])] = [
                ("bi.keras", ["bi/forward_lstm", "bi/backward_lstm"]), ("td.keras", ["td/dense"]), ("rnn.keras", ["rnn"]),
                ("bi_tfk.h5", ["bi/lstm", "bi/backward_lstm"]), ("td_tfk.h5", ["td/dense"])]
            for (file, layers) in expected {
                let notes = KerasCaseTests.Notes()
                let model = try FormatRegistry.read(Self.fixture("\(dir)/\(file)"), options: ReadOptions(warn: { notes.add($0) })).model
                #expect(KerasPolicyCarry.recorded(model).map { [$0.layer, $0.policy] } == layers.map { [$0, policy] }, "\(dir)/\(file)")
                for layer in layers { #expect(notes.joined.contains("'\(layer)' (\(policy))"), "\(dir)/\(file): \(notes.joined)") }
                #expect(notes.joined.contains("Keras 3's TimeDistributed") == file.hasPrefix("td"), "\(dir)/\(file): \(notes.joined)")
            }
        }
    }

    /// K-W6b's rule on its own: a layer carries the policy recorded under its source name when its tensors have the
    /// policy's variable dtype; a recorded layer the written model lacks (a Dropout) is covered only when every
    /// written layer with weights computes in its dtype; everything else is K-W6a's.
    @Test func K_W6b_aPolicyIsCarriedWhereItFitsAndTheRestIsNamed() {
        typealias L = KerasPolicyCarry.Layer
        let layers = [L(written: "lstm", source: "lstm", dtypes: [.float32]), L(written: "masking", source: "mask", dtypes: []),
                      L(written: "dense", source: "dense", dtypes: [.float32])]
        let weighted: Set<String> = ["lstm", "dense"]
        let global = KerasPolicyCarry.carry([("mask", "mixed_float16"), ("lstm", "mixed_float16"), ("drop", "mixed_float16"), ("dense", "mixed_float16")],
                                            layers: layers, weighted: weighted)
        #expect(global.carried == ["lstm": "mixed_float16", "masking": "mixed_float16", "dense": "mixed_float16"])
        #expect(global.uncarried.isEmpty, "\(global.uncarried)")
        let perLayer = KerasPolicyCarry.carry([("lstm", "mixed_float16"), ("drop", "mixed_float16")], layers: layers, weighted: weighted)
        #expect(perLayer.carried == ["lstm": "mixed_float16"])
        #expect(perLayer.uncarried.map(\.layer) == ["drop"], "the float32 Dense does not cast where the Dropout did")
        let float16 = KerasPolicyCarry.carry([("lstm", "float16"), ("dense", "mixed_bfloat16")], layers: layers, weighted: weighted)
        #expect(float16.carried == ["dense": "mixed_bfloat16"], "float16 needs float16 tensors; mixed_bfloat16 float32 ones")
        #expect(float16.uncarried.map(\.layer) == ["lstm"])
        let unnamed = KerasPolicyCarry.carry([("lstm", "float16")], layers: [L(written: "lstm", source: nil, dtypes: [.float16])], weighted: ["lstm"])
        #expect(unnamed.carried.isEmpty && unnamed.uncarried.map(\.layer) == ["lstm"], "a made-up name carries nothing")
    }
}
