import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B19a: `verify --expect`'s default tolerance passes Keras's own float32 `predict` and fails a
/// faulty conversion. Expected values are Keras's (`scripts/make_verify_tolerance_fixtures.py`, pinned Keras 3.15.1 /
/// TensorFlow 2.21.0): Fixtures/verify-tolerance/units1, units64, units256; units1000 (16 MB) is made at run time.
@Suite(.serialized) struct VerifyToleranceTests {
    static let committed = ["units1", "units64", "units256"]

    /// Fixtures/verify-tolerance/<case>, or the run-time units1000 folder.
    static func folder(_ name: String) throws -> URL {
        if name == "units1000" { return try #require(units1000, "the fixture script did not make units1000") }
        return FixturePaths.fixture("verify-tolerance/\(name)")
    }

    /// units1000 made once per test process by the committed script (Keras builds, saves and predicts it).
    static let units1000: URL? = {
        guard TestPython.enabled, let out = try? FixturePaths.temporaryFolder() else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestPython.path)
        p.arguments = [FixturePaths.repoRoot.appendingPathComponent("scripts/make_verify_tolerance_fixtures.py").path,
                       "--only", "units1000", "--out", out.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        let folder = out.appendingPathComponent("units1000")
        return p.terminationStatus == 0 && FileManager.default.fileExists(atPath: folder.appendingPathComponent("y.npy").path) ? folder : nil
    }()

    static func verify(_ model: String, _ folder: URL, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["verify", model, "--inputs", folder.appendingPathComponent("x.npy").path,
                     "--expect", folder.appendingPathComponent("y.npy").path] + extra)
    }

    /// A conversion fault applied to the canonical tensors of Keras's model.
    enum Fault: String, CaseIterable {
        case gatesSwapped = "W_f and W_i swapped"
        case perturbed = "every weight x (1 + 1e-3 r), r uniform in [-1, 1)"
        case float16 = "weights rounded to float16"
        case forgetBias = "b_f without Keras's unit forget bias"
        case denseBias = "dense bias + 1e-3"

        func apply(_ m: LSTMModel) throws -> LSTMModel? {
            var t = m.tensors
            func shifted(_ name: String, by delta: Double) -> Tensor {
                let x = m.tensors[name]!
                return Tensor(shape: x.shape, values: x.float64Values().map { $0 + delta }, dtype: x.dtype)
            }
            switch self {
            case .gatesSwapped:
                (t["lstm.0.fwd.W_f"], t["lstm.0.fwd.W_i"]) = (t["lstm.0.fwd.W_i"], t["lstm.0.fwd.W_f"])
            case .perturbed:
                var rng = SplitMix64(seed: 5)
                for (name, x) in m.orderedTensors {
                    t[name] = Tensor(shape: x.shape, values: x.float64Values().map { $0 * (1 + 1e-3 * rng.symmetricUnit()) }, dtype: x.dtype)
                }
            case .float16:
                return m.converted(to: .float16)
            case .forgetBias:
                t["lstm.0.fwd.b_f"] = shifted("lstm.0.fwd.b_f", by: -1)
            case .denseBias:
                guard m.tensors["dense.0.c"] != nil else { return nil }
                t["dense.0.c"] = shifted("dense.0.c", by: 1e-3)
            }
            return try LSTMModel(architecture: m.architecture, tensors: t, metadata: m.metadata)
        }
    }

    @Test(arguments: committed)
    func B19a_kerasFloat32PredictionsPassByDefault(_ name: String) throws {
        try Self.passes(name)
    }

    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1"))
    func B19a_kerasFloat32PredictionsOf1000UnitsPassByDefault() throws {
        try Self.passes("units1000")
    }

    @Test(arguments: committed, Fault.allCases)
    func B19a_aFaultyConversionFailsWithExitOne(_ name: String, _ fault: Fault) throws {
        try Self.fails(name, fault)
    }

    /// At 1000 units a whole `verify` takes a minute on a loaded machine (its gradient check), so each fault goes
    /// through `verify`'s own outputs check in the library: our float32 forward of the faulty model against Keras.
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1"))
    func B19a_faultyConversionsOf1000UnitsFailTheOutputsCheck() throws {
        let folder = try Self.folder("units1000")
        let model = try FormatRegistry.read(folder.appendingPathComponent("model.keras")).model
        let x = try NumPy.readNPY(folder.appendingPathComponent("x.npy")), e = try NumPy.readNPY(folder.appendingPathComponent("y.npy"))
        func check(_ m: LSTMModel) throws -> CheckResult {
            let y = try LSTMNumerics.forward(m, input: .features(x), precision: .float32)
            return try Verifier.outputsCheck(m.architecture, outputs: y, steps: x.shape[1], expected: e, precision: .float32, tolerance: nil)
        }
        #expect(try check(model).passed)
        // The old default (rtol 1e-5, atol 1e-6) fails Keras's own predictions here, as the reviewer found.
        let y = try LSTMNumerics.forward(model, input: .features(x), precision: .float32)
        let old = try Verifier.outputsCheck(model.architecture, outputs: y, steps: x.shape[1], expected: e, precision: .float32,
                                            tolerance: Tolerance(rtol: 1e-5, atol: 1e-6, basis: "the old default"))
        print("units1000 against the old default: \(old.detail)")
        for fault in Fault.allCases {
            let c = try check(try #require(try fault.apply(model)))
            #expect(!c.passed, "\(fault.rawValue): \(c.detail)")
        }
    }

    static func passes(_ name: String) throws {
        let folder = try Self.folder(name)
        let r = try Self.verify(folder.appendingPathComponent("model.keras").path, folder, ["--json"])
        #expect(r.status == 0, "\(name): \(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("derived (B19a) for float32 arithmetic"), "\(r.stdout)")
    }

    static func fails(_ name: String, _ fault: Fault) throws {
        let folder = try Self.folder(name)
        let model = try FormatRegistry.read(folder.appendingPathComponent("model.keras")).model
        guard let faulty = try fault.apply(model) else { return }  // no dense layer for a dense-bias fault
        let file = try FixturePaths.temporaryFolder().appendingPathComponent("faulty.lstm")
        try FormatRegistry.write(faulty, to: file)
        let r = try Self.verify(file.path, folder, ["--json"])
        #expect(r.status == 1, "\(name), \(fault.rawValue): \(r.stdout)\(r.stderr)")
        let checks = try VerifyInputsTests.checks(r.stdout)
        #expect(checks["outputs"]?.passed == false && checks["gradient_check"]?.passed == true, "\(name), \(fault.rawValue): \(r.stdout)")
    }

    /// N of B19a, counted by hand for the fixture architectures (Input(steps, 8) → LSTM(H) → Dense(16)).
    @Test func B19a_roundingChainLength() throws {
        let m = try FormatRegistry.read(FixturePaths.fixture("verify-tolerance/units64/model.keras")).model
        #expect(ForwardTolerance.roundingChainLength(m.architecture, steps: 30) == 30 * (8 + 64 + 1) + (64 + 1))
        let one = try FormatRegistry.read(FixturePaths.fixture("verify-tolerance/units1/model.keras")).model
        #expect(ForwardTolerance.roundingChainLength(one.architecture, steps: 5) == 5 * (8 + 1 + 1))
        let bidi = try FormatRegistry.read(FixturePaths.fixture("keras/k3_bidi_concat_seq/model.keras")).model
        let layer = bidi.architecture.layers[0]
        #expect(ForwardTolerance.roundingChainLength(bidi.architecture, steps: 7)
                == 7 * 2 * (layer.inputSize + layer.hiddenSize + 1) + bidi.architecture.dense.reduce(0) { $0 + $1.inputSize + 1 })
    }

    /// u: float32 arithmetic unless both sides are float64; a float16 array adds its one rounding to rtol; a
    /// non-finite expected value does not widen atol to infinity.
    @Test func B19a_toleranceFollowsTheDTypes() throws {
        let m = try FormatRegistry.read(FixturePaths.fixture("verify-tolerance/units1/model.keras")).model
        let a = m.architecture, n = Double(5 * 10).squareRoot(), u32 = 0x1p-24, u64 = 0x1p-53
        let e = Tensor(shape: [1, 2], float64: [0.5, -2])
        let t32 = ForwardTolerance.tolerance(for: a, steps: 5, expected: e.converted(to: .float32), precision: .float64)
        #expect(t32.rtol == u32 + 8 * u32 && t32.atol == 8 * u32 * n * 2)
        let t64 = ForwardTolerance.tolerance(for: a, steps: 5, expected: e, precision: .float64)
        #expect(t64.rtol == 9 * u64 && t64.atol == 8 * u64 * n * 2)
        #expect(ForwardTolerance.tolerance(for: a, steps: 5, expected: e, precision: .float32).atol == 8 * u32 * n * 2)
        let t16 = ForwardTolerance.tolerance(for: a, steps: 5, expected: e.converted(to: .float16), precision: .float32)
        #expect(t16.rtol == 0x1p-11 + 8 * u32 && t16.atol == 8 * u32 * n * 2)
        let inf = ForwardTolerance.tolerance(for: a, steps: 5, expected: Tensor(shape: [2], float64: [.infinity, 1]), precision: .float32)
        #expect(inf.atol == 8 * u32 * n)
    }
}
