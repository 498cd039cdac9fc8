import Foundation
import Testing
@testable import LSTMFormat

/// K-W6d: a float64 layer in a float32 Keras model (and a float32 layer in a float64 one) keeps its policy and its
/// tensors' dtype through `.lstm` into the `.keras` and legacy `.h5` we write, so real Keras predicts for the written
/// file bit for bit what it predicts for the source; where the policy cannot be written (after `--dtype`), K-W6a's
/// note names it and says whether the weights are still the source's (`Spec/keras-mapping.md`, K-W6d, K-W6a).
/// Sources: `Fixtures/keras-policies/fullprec/` (`scripts/keras_policy_fixtures.py fullprec`, Keras 3.15.1 and
/// tf_keras 2.21.0). Python: LSTMFORMAT_PYTHON; LSTMFORMAT_SKIP_PYTHON=1 skips the Keras test.
@Suite struct KerasPolicyFullPrecisionTests {
    static let dir = "keras-policies/fullprec"
    /// The script's cases (`fullprec_models`): each as a Keras 3 `<case>.keras` and a tf_keras `<case>_tfk.h5`.
    static let cases = ["f64lstm", "f64dense", "mixf64", "f32in64", "bi64"]

    static func fixture(_ name: String) -> URL { FixturePaths.fixture("\(dir)/\(name)") }

    /// Real Keras's `predict` on every written file equals its `predict` on the source in the same process, bit for
    /// bit, and the script's committed predictions (float64, made on this machine's CPU) within 1e-6.
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1")) func K_W6d_fullPrecisionLayerPoliciesPredictBitForBit() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [String: [[String]]] = ["keras3": [], "tf_keras": []]
        let x = Self.fixture("x.npy")
        for name in Self.cases.map({ "\($0).keras" }) + Self.cases.map({ "\($0)_tfk.h5" }) {
            let source = Self.fixture(name), tool = name.hasSuffix(".keras") ? "keras3" : "tf_keras"
            let y = Self.fixture("y_\(source.deletingPathExtension().lastPathComponent).npy")
            for target in tool == "keras3" ? ["keras", "h5"] : ["h5"] {
                let out = folder.appendingPathComponent("\(name).\(target)")
                let notes = try KerasPolicyInteropTests.convert(source, to: out, format: target == "keras" ? KerasFormat.self : KerasH5Format.self)
                #expect(!notes.contains("K-W6a"), "\(Self.dir)/\(name) -> .\(target) carries its policies: \(notes)")
                jobs[tool]?.append(["--file", out.path, "--loader", tool, "--inputs", x.path, "--predict",
                                    "--expect-model", source.path, "--expect-loader", tool, "--rtol", "0", "--atol", "0"])
                jobs[tool]?.append(["--file", out.path, "--loader", tool, "--inputs", x.path, "--predict",
                                    "--expect", y.path, "--rtol", "0", "--atol", "1e-6"])
            }
        }
        try KerasInteropTests.expectEveryCheckPasses(jobs, folder: folder) { "\($0[1]) against \($0[8])" }
    }

    /// The reader records every layer's policy when they differ (float64 and float32, K-W6d), keeps the float64
    /// layer's tensors float64, and the written `.keras` / `.h5` declares each policy on its own layer: read back, the
    /// same policies and the same tensor bytes and dtypes. Expected policies are the script's `fullprec_models`.
    @Test func K_W6d_fullPrecisionLayerPoliciesAreRecordedAndWrittenBack() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (d, s, m) = ("float64", "float32", "mixed_float16")
        let expected: [String: [String: [String]]] = [
            "f64lstm.keras": ["lstm.0": ["lstm", d], "dense.0": ["out", s]],
            "f64lstm_tfk.h5": ["lstm.0": ["lstm", d], "dense.0": ["out", s]],
            "f64dense.keras": ["lstm.0": ["lstm", s], "dense.0": ["out", d]],
            "mixf64_tfk.h5": ["lstm.0": ["lstm", m], "dense.0": ["out", d]],
            "f32in64.keras": ["lstm.0": ["lstm", d], "dense.0": ["mid", d], "dense.1": ["out", s]],
            "bi64.keras": ["lstm.0": ["bi", s], "lstm.0.forward": ["bi/forward_lstm", d], "lstm.0.backward": ["bi/backward_lstm", d], "dense.0": ["out", s]],
            "bi64_tfk.h5": ["lstm.0": ["bi", s], "lstm.0.forward": ["bi/lstm", d], "lstm.0.backward": ["bi/backward_lstm", d], "dense.0": ["out", s]],
        ]
        let float64Prefixes = ["f64lstm": ["lstm.0."], "f64dense": ["dense.0."], "mixf64": ["dense.0."], "f32in64": ["lstm.0.", "dense.0."], "bi64": ["lstm.0."]]
        for (file, roles) in expected.sorted(by: { $0.key < $1.key }) {
            let source = try FormatRegistry.read(Self.fixture(file)).model
            let recorded = KerasLayerPolicies.recorded(source)
            #expect(recorded?.mapValues { [$0.layer, $0.policy] } == roles, "\(Self.dir)/\(file)")
            let wide = float64Prefixes[String(file.prefix { $0 != "." && $0 != "_" })] ?? []
            for (name, t) in source.tensors {
                #expect(t.dtype == (wide.contains { name.hasPrefix($0) } ? .float64 : .float32), "\(file): \(name) is \(t.dtype)")
            }
            for (format, ext) in [(KerasFormat.self as any ModelFileFormat.Type, "keras"), (KerasH5Format.self, "h5")] {
                let out = folder.appendingPathComponent("\(file).\(ext)")
                let notes = try KerasPolicyInteropTests.convert(Self.fixture(file), to: out, format: format)
                #expect(!notes.contains("K-W6a"), "\(file) -> .\(ext): \(notes)")
                let back = try FormatRegistry.read(out).model
                #expect(KerasLayerPolicies.recorded(back) == recorded, "\(file) -> .\(ext)")
                #expect(back.architecture == source.architecture && back.tensors == source.tensors, "\(file) -> .\(ext)")
            }
        }
        // A plain float32 model records nothing (no policy differs), as before K-W6d.
        let plain = try FormatRegistry.read(FixturePaths.fixture("keras-cases/activation-layer/act_k3.keras")).model
        #expect(plain.metadata[KerasLayerPolicies.key] == nil)
    }

    /// K-W6e: a Dropout-style layer (or a linear Activation) is not written, but Keras casts its input to its compute
    /// dtype. A float32 Dropout, GaussianNoise or linear Activation between float64 layers (`Fixtures/keras-policies/dropcast`, `scripts/keras_policy_fixtures.py
    /// dropcast`: Keras's predictions move by about 1e-8 there, `evidence.json`) is recorded under `cast.{name}` and
    /// named by the writers' note; a float64 Dropout between float32 layers widens, changes no value, and is not named.
    @Test func K_W6e_aNotWrittenLayerThatRoundsIsNamed() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(file: String, cast: [String], named: String?)] = [
            ("f32drop.keras", ["drop", "float32"], "'drop' (float32)"), ("f32drop_tfk.h5", ["drop", "float32"], "'drop' (float32)"),
            ("f32noise.keras", ["noise", "float32"], "'noise' (float32)"), ("f32noise_tfk.h5", ["noise", "float32"], "'noise' (float32)"),
            ("f32linear.keras", ["ident", "float32"], "'ident' (float32)"), ("f32linear_tfk.h5", ["ident", "float32"], "'ident' (float32)"),
            ("f64drop.keras", ["drop", "float64"], nil), ("f64drop_tfk.h5", ["drop", "float64"], nil),
        ]
        for c in cases {
            let source = FixturePaths.fixture("keras-policies/dropcast/\(c.file)")
            let recorded = KerasLayerPolicies.recorded(try FormatRegistry.read(source).model)
            #expect(recorded?["cast.\(c.cast[0])"].map { [$0.layer, $0.policy] } == c.cast, "\(c.file): \(String(describing: recorded))")
            for (format, ext) in [(KerasFormat.self as any ModelFileFormat.Type, "keras"), (KerasH5Format.self, "h5")] {
                let notes = try KerasPolicyInteropTests.convert(source, to: folder.appendingPathComponent("\(c.file).\(ext)"), format: format)
                if let named = c.named {
                    #expect(notes.contains("K-W6e") && notes.contains(named) && !notes.contains("K-W6a"), "\(c.file) -> .\(ext): \(notes)")
                } else {
                    #expect(notes.isEmpty, "\(c.file) -> .\(ext): \(notes)")
                }
            }
        }
    }

    /// K-W6e, by real Keras: the files written from the float64 Dropout between float32 layers predict bit for bit as
    /// their sources (the widening cast changes no value, so saying nothing is right). Those written from the float32
    /// Dropout between float64 layers do not: `evidence.json` has how far (the rounding the note names).
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1")) func K_W6e_whatKerasPredictsForTheWrittenFiles() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [String: [[String]]] = ["keras3": [], "tf_keras": []]
        let dir = "keras-policies/dropcast"
        let x = FixturePaths.fixture("\(dir)/x.npy")
        for name in ["f64drop.keras", "f64drop_tfk.h5"] {
            let source = FixturePaths.fixture("\(dir)/\(name)"), tool = name.hasSuffix(".keras") ? "keras3" : "tf_keras"
            for (format, ext) in [(KerasFormat.self as any ModelFileFormat.Type, "keras"), (KerasH5Format.self, "h5")] where tool == "keras3" || ext == "h5" {
                let out = folder.appendingPathComponent("\(name).\(ext)")
                _ = try KerasPolicyInteropTests.convert(source, to: out, format: format)
                jobs[tool]?.append(["--file", out.path, "--loader", tool, "--inputs", x.path, "--predict",
                                    "--expect-model", source.path, "--expect-loader", tool, "--rtol", "0", "--atol", "0"])
            }
        }
        try KerasInteropTests.expectEveryCheckPasses(jobs, folder: folder) { "\($0[1]) against \($0[8])" }
    }

    /// K-W6a: a policy that no longer fits after `--dtype` is named with the dtype the file declares, and the note
    /// says what is true of the weights: exact when the written tensors hold the source's variables (float16 widened to
    /// float32, float32 to float64), rounded when the conversion narrowed them (float16 of float32 variables, float32
    /// of float64 ones).
    @Test func K_W6a_theNoteSaysWhetherTheWeightsAreExact() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let exact = "the weights are exact"
        let cases: [(file: String, dtype: DType, named: [String], rounded: [String])] = [
            ("\(Self.dir)/f64lstm.keras", .float32, ["'lstm' (float64)"], ["'lstm' (float32)"]),
            ("\(Self.dir)/f64lstm_tfk.h5", .float16, ["'lstm' (float64)"], ["'lstm' (float16)"]),
            ("\(Self.dir)/f32in64.keras", .float64, ["'out' (float32)"], []),
            ("keras-policies/mixed_float16/k3.keras", .float16, ["(mixed_float16)"], ["(float16)"]),
            ("keras-policies/mixed_bfloat16/k3.keras", .bfloat16, ["(mixed_bfloat16)"], ["(bfloat16)"]),
            ("keras-policies/float16/tfk.h5", .float32, ["(float16)"], []),
            ("keras-policies/bfloat16/k3.keras", .float32, ["(bfloat16)"], []),
        ]
        for c in cases {
            let notes = try KerasPolicyInteropTests.convert(FixturePaths.fixture(c.file), to: folder.appendingPathComponent("out.keras"),
                                                            format: KerasFormat.self, dtype: c.dtype)
            let tag = "\(c.file) --dtype \(c.dtype.rawValue): \(notes)"
            #expect(notes.contains("K-W6a") && c.named.allSatisfy { notes.contains("computed") && notes.contains($0) }, "\(tag)")
            #expect(notes.contains(exact) == c.rounded.isEmpty, "\(tag)")
            for r in c.rounded { #expect(notes.contains("the weights of") && notes.contains(r) && notes.contains("rounded"), "\(tag)") }
        }
        // A legacy .h5 has one LSTM config for both directions (bimixdir: float64 forward, float32 backward): it cannot
        // carry the forward's policy, but its float64 weights are written unrounded, so the note says exact, where it
        // blamed a --dtype that never ran (the fresh-clone reviewer); after --dtype float16 both directions are rounded.
        for (dtype, rounded) in [(DType?.none, [String]()), (.float16, ["'bi/forward_fwd' (float16)", "'bi/bwd' (float16)"])] {
            let notes = try KerasPolicyInteropTests.convert(Self.fixture("bimixdir.keras"), to: folder.appendingPathComponent("bi.h5"),
                                                            format: KerasH5Format.self, dtype: dtype)
            let tag = "bimixdir.keras -> .h5 --dtype \(dtype?.rawValue ?? "none"): \(notes)"
            #expect(notes.contains("'bi/forward_fwd' (float64)") && notes.contains("declares float32 there"), "\(tag)")
            #expect(notes.contains(exact) == rounded.isEmpty && notes.contains("--dtype") == !rounded.isEmpty, "\(tag)")
            for r in rounded { #expect(notes.contains(r), "\(tag)") }
        }
        // float64 declared after --dtype float64: the note says so, not float32.
        let f64 = try KerasPolicyInteropTests.convert(Self.fixture("f32in64.keras"), to: folder.appendingPathComponent("f64.keras"),
                                                      format: KerasFormat.self, dtype: .float64)
        #expect(f64.contains("declares float64 there"), "\(f64)")
    }

    /// K-N2: bad input gives its one error line, not the policy note before it: a policy model whose weights do not
    /// match its config (`bad_units.keras`: mixf64.keras with the LSTM's units changed in `config.json` by the script)
    /// fails to read without any note, in-process and through the CLI (one stderr line naming the file, exit 2).
    @Test func K_N2_aPolicyModelThatFailsToReadPrintsOnlyItsError() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = Self.fixture("bad_units.keras")
        let notes = KerasCaseTests.Notes()
        #expect(throws: (any Error).self) { try FormatRegistry.read(bad, options: ReadOptions(warn: { notes.add($0) })) }
        #expect(notes.all.isEmpty, "\(notes.joined)")
        let good = KerasCaseTests.Notes()
        _ = try FormatRegistry.read(Self.fixture("mixf64.keras"), options: ReadOptions(warn: { good.add($0) }))
        #expect(good.joined.contains("dtype policy mixed_float16"), "the note is still given for a model that reads: \(good.joined)")
        let r = try CLI.run(["convert", bad.path, folder.appendingPathComponent("out.lstm").path])
        let lines = r.stderr.split(separator: "\n")
        #expect(r.status == 2 && lines.count == 1 && lines.first?.contains("bad_units.keras") == true && !r.stderr.contains("note"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.lstm").path))
    }
}
