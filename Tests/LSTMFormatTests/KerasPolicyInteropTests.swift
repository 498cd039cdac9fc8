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
        // K-W6c: source layers folded into one written layer under different policies (`Fixtures/keras-policies/folded`).
        // Each written file is the source's own form, so each Keras predicts it bit for bit as the source; only the RNN
        // under mixed_float16 around a float32 cell has no written form, and K-W6a's note says so.
        let folded = "keras-policies/folded", fx = Self.fixture("\(folded)/x.npy")
        for name in Self.foldedCases.map({ "\($0).keras" }) + Self.foldedCases.filter { $0 != "rnnwrap" }.map({ "\($0)_tfk.h5" }) {
            let source = Self.fixture("\(folded)/\(name)"), tool = name.hasSuffix(".keras") ? "keras3" : "tf_keras"
            let y = Self.fixture("\(folded)/y_\(source.deletingPathExtension().lastPathComponent).npy")
            for target in tool == "keras3" ? ["keras", "h5"] : ["h5"] {
                let out = folder.appendingPathComponent("folded-\(name).\(target)")
                let notes = try Self.convert(source, to: out, format: target == "keras" ? KerasFormat.self : KerasH5Format.self)
                let noted = notes.contains("K-W6a")
                #expect(noted == name.hasPrefix("rnnwrap"), "\(folded)/\(name) -> .\(target): \(notes)")
                guard !noted else { continue }
                check(out, tool, x: fx, against: source, tool)
                jobs[tool]?.append(["--file", out.path, "--loader", tool, "--inputs", fx.path, "--predict",
                                    "--expect", y.path, "--rtol", "0", "--atol", "1e-3"])
            }
        }
        try KerasInteropTests.expectEveryCheckPasses(jobs, folder: folder) { "\($0[1]) against \($0[8])" }
    }

    /// `Fixtures/keras-policies/folded/<case>.keras` (Keras 3) and `<case>_tfk.h5` (tf_keras, none for rnnwrap), made by
    /// `scripts/keras_policy_fixtures.py folded` (K-W6c).
    static let foldedCases = ["head", "sigmoid", "biwrap", "tdwrap", "nested", "rnnwrap"]

    /// K-W6c without Keras: the reader records the effective policy of every source layer a written layer stands for,
    /// float32 included (`keras.layer_policies`); the written file declares each on its own counterpart (a folded
    /// Activation as its own layer), so reading it back records the same; an `.lstm` recorded before K-W6c (no
    /// `keras.layer_policies`) carries nothing and K-W6a names its policies.
    @Test func K_W6c_layerPoliciesAreRecordedAndWrittenBack() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let m = "mixed_float16"
        let expected: [String: [String: [String]]] = [
            "head.keras": ["lstm.0": ["lstm", m], "dense.0": ["logits", m], "dense.0.activation": ["probs", "float32"]],
            "sigmoid_tfk.h5": ["lstm.0": ["lstm", "float32"], "dense.0": ["dense", m], "dense.0.activation": ["act", "float32"]],
            "biwrap.keras": ["lstm.0": ["bi", m], "lstm.0.forward": ["bi/forward_lstm", "float32"], "lstm.0.backward": ["bi/backward_lstm", "float32"],
                             "dense.0": ["out", "float32"]],
            "tdwrap_tfk.h5": ["lstm.0": ["lstm", "float32"], "dense.0": ["td/dense", "float32"], "dense.0.time_distributed": ["td", m]],
            "rnnwrap.keras": ["lstm.0": ["rnn", m], "lstm.0.cell": ["rnn", "float32"], "dense.0": ["out", "float32"]],
            "nested.keras": ["lstm.0": ["lstm", "float16"], "dense.0": ["out", "float16"]],
        ]
        for (file, roles) in expected.sorted(by: { $0.key < $1.key }) {
            let source = try FormatRegistry.read(Self.fixture("keras-policies/folded/\(file)")).model
            let recorded = KerasLayerPolicies.recorded(source)
            #expect(recorded?.mapValues { [$0.layer, $0.policy] } == roles, "keras-policies/folded/\(file)")
            guard !file.hasPrefix("rnnwrap") else { continue }  // one written LSTM for two source layers
            for (format, ext) in [(KerasFormat.self as any ModelFileFormat.Type, "keras"), (KerasH5Format.self, "h5")] {
                let out = folder.appendingPathComponent("\(file).\(ext)")
                try Self.convert(Self.fixture("keras-policies/folded/\(file)"), to: out, format: format)
                let back = try FormatRegistry.read(out).model
                #expect(KerasLayerPolicies.recorded(back) == recorded, "\(file) -> .\(ext)")
                // A flattened nested model's InputLayer has no written counterpart (its cast is the LSTM's own).
                #expect(back.metadata["keras.dtype_policy"] == source.metadata["keras.dtype_policy"]?.replacingOccurrences(of: "\"inner_input: float16\",", with: ""),
                        "\(file) -> .\(ext)")
                #expect(back.architecture == source.architecture && back.tensors == source.tensors, "\(file) -> .\(ext)")
            }
        }
        // Before K-W6c: the same model without keras.layer_policies carries nothing and says so.
        var old = try FormatRegistry.read(Self.fixture("keras-policies/mixed_float16/k3.keras")).model
        old.metadata[KerasLayerPolicies.key] = nil
        let notes = KerasCaseTests.Notes()
        try FormatRegistry.write(old, to: folder.appendingPathComponent("old.keras"), format: KerasFormat.self, options: WriteOptions(warn: { notes.add($0) }))
        #expect(notes.joined.contains("K-W6a") && notes.joined.contains("keras.layer_policies"), "\(notes.joined)")
        #expect(try FormatRegistry.read(folder.appendingPathComponent("old.keras")).model.metadata["keras.dtype_policy"] == nil)
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

    /// K-N2b: the TimeDistributed note names the wrapper's own policy, the dtype Keras 3 computes the inner layer in
    /// (real Keras 3.15.1: `TimeDistributed(Dense(2, dtype="float16"), dtype="mixed_bfloat16")` predicts bit for bit
    /// as mixed_bfloat16 on both, 3.9e-3 from float16 on both).
    @Test func K_N2b_theTimeDistributedNoteNamesTheWrappersPolicy() throws {
        func dense(_ dtype: String) -> [String: Any] { ["class_name": "Dense", "config": ["name": "dense", "units": 2, "dtype": dtype]] }
        for (wrapper, compute) in [("mixed_bfloat16", "bfloat16"), ("float32", "float32")] {
            let config: [String: Any] = ["class_name": "Sequential", "config": ["name": "m", "layers": [
                ["class_name": "InputLayer", "config": ["name": "in", "batch_shape": [NSNull(), NSNull(), 3]]],
                ["class_name": "LSTM", "config": ["name": "lstm", "units": 4, "return_sequences": true]],
                ["class_name": "TimeDistributed", "config": ["name": "td", "dtype": wrapper, "layer": dense("float16")]]]]]
            let notes = KerasInferenceNotes.messages(try KerasConfig.parse(config, generation: .keras3).notes).joined(separator: "\n")
            #expect(notes.contains("'td/dense': the policy is on the layer inside a TimeDistributed whose own policy is \(wrapper)")
                    && notes.contains("computes it in \(compute) (the wrapper's)"), "\(notes)")
        }
    }

    /// K-N2, K-N2b: a policy on a wrapper's inner layer only (Keras 3 writes `Bidirectional(LSTM(3, dtype=P))` as a
    /// float32 wrapper around P LSTMs) is named in the read note and recorded in `keras.dtype_policy` as
    /// `wrapper/inner` (an RNN's cell under the RNN's name); a TimeDistributed's inner policy comes with the note that
    /// Keras 3 computes it in the wrapper's dtype (float32 here). Layer names are the script's (`scripts/keras_policy_fixtures.py inner`).
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

    /// K-W6b, K-W6c's rule on its own: each written config object carries the lower-precision policy of the source
    /// layer it stands for when its tensors fit; an object standing for two source layers only when they compute alike
    /// (a float32 RNN around a P cell does); a recorded layer without a counterpart is covered when its neighbours
    /// cast to or output its dtype; without `keras.layer_policies` nothing is carried; the rest is K-W6a's.
    @Test func K_W6c_aPolicyIsCarriedWhereItFitsAndTheRestIsNamed() {
        typealias O = KerasPolicyCarry.Object
        typealias L = KerasPolicyCarry.Layer
        func p(_ layer: String, _ policy: String) -> KerasSourcePolicy { KerasSourcePolicy(layer: layer, policy: policy) }
        func lstm(_ roles: [String] = ["lstm.0"], dtypes: Set<DType> = [.float32], rnn: Bool = false) -> L {
            L(written: "lstm", source: "lstm", objects: [O(key: "lstm", roles: roles, dtypes: dtypes, weighted: true, rnnAroundCell: rnn)])
        }
        let dense = L(written: "dense", source: "dense", objects: [O(key: "dense", roles: ["dense.0"], dtypes: [.float32], weighted: true)])
        let act = L(written: "act", source: "act", objects: [O(key: "act", roles: ["dense.0.activation"])])
        let order = ["input", "lstm", "drop", "dense", "act"]
        let m = "mixed_float16"
        // The mixed-precision head: a float32 Activation stays float32 (its own layer), the Dropout is covered by the Dense.
        let head = KerasPolicyCarry.carry(["lstm.0": p("lstm", m), "dense.0": p("dense", m), "dense.0.activation": p("act", "float32")],
                                          recorded: [("lstm", m), ("drop", m), ("dense", m)], layers: [lstm(), dense, act], order: order)
        #expect(head.carried == ["lstm": m, "dense": m] && head.uncarried.isEmpty, "\(head)")
        // A mixed Dropout between float32 layers rounds where the written model does not.
        let drop = KerasPolicyCarry.carry(["lstm.0": p("lstm", "float32"), "dense.0": p("dense", "float32")], recorded: [("drop", m)],
                                          layers: [lstm(), dense], order: order)
        #expect(drop.carried.isEmpty && drop.uncarried.map(\.layer) == ["drop"], "\(drop)")
        // A float16 InputLayer (a nested model's) before a float16 LSTM only repeats the LSTM's cast; before a float32 one it rounds.
        let input16 = KerasPolicyCarry.carry(["lstm.0": p("lstm", "float16"), "dense.0": p("dense", "float32")],
                                             recorded: [("input", "float16"), ("lstm", "float16")], layers: [lstm(dtypes: [.float16]), dense], order: order)
        #expect(input16.carried == ["lstm": "float16"] && input16.uncarried.isEmpty, "\(input16)")
        let input32 = KerasPolicyCarry.carry(["lstm.0": p("lstm", "float32"), "dense.0": p("dense", "float16")],
                                             recorded: [("input", "float16"), ("dense", "float16")], layers: [lstm(), dense], order: order)
        #expect(input32.uncarried.map(\.layer) == ["dense", "input"], "float16 needs float16 tensors: \(input32)")
        // RNN and cell: a float32 RNN around a mixed cell is LSTM(mixed); a mixed RNN around a float32 cell is not expressible.
        let rnn = ["lstm.0", "lstm.0.cell"]
        let cellOnly = KerasPolicyCarry.carry(["lstm.0": p("rnn", "float32"), "lstm.0.cell": p("rnn", m)], recorded: [("rnn", m)],
                                              layers: [lstm(rnn, rnn: true)], order: ["rnn"])
        #expect(cellOnly.carried == ["lstm": m] && cellOnly.uncarried.isEmpty, "\(cellOnly)")
        let wrapperOnly = KerasPolicyCarry.carry(["lstm.0": p("rnn", m), "lstm.0.cell": p("rnn", "float32")], recorded: [("rnn", m)],
                                                 layers: [lstm(rnn, rnn: true)], order: ["rnn"])
        #expect(wrapperOnly.carried.isEmpty && wrapperOnly.uncarried.map(\.layer) == ["rnn"], "\(wrapperOnly)")
        // One config for two LSTMs (a legacy .h5 Bidirectional) that computed differently carries nothing.
        let shared = KerasPolicyCarry.carry(["lstm.0.forward": p("bi/f", m), "lstm.0.backward": p("bi/b", "float32")], recorded: [("bi/f", m)],
                                            layers: [lstm(["lstm.0.forward", "lstm.0.backward"])], order: ["bi"])
        #expect(shared.carried.isEmpty && shared.uncarried.map(\.layer) == ["bi/f"], "\(shared)")
        let twoLow = KerasPolicyCarry.carry(["lstm.0.forward": p("bi/f", m), "lstm.0.backward": p("bi/b", "mixed_bfloat16")],
                                            recorded: [("bi/f", m), ("bi/b", "mixed_bfloat16")], layers: [lstm(["lstm.0.forward", "lstm.0.backward"])], order: ["bi"])
        #expect(twoLow.carried.isEmpty && twoLow.uncarried.map(\.layer) == ["bi/f", "bi/b"], "float32 variables both, float16 and bfloat16 computes: \(twoLow)")
        // Recorded before K-W6c (no keras.layer_policies): nothing is carried, everything named.
        let old = KerasPolicyCarry.carry(nil, recorded: [("lstm", m)], layers: [lstm()], order: order)
        #expect(old.carried.isEmpty && old.uncarried.map(\.layer) == ["lstm"])
    }
}
