import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B19b: `verify --expect-gradients`' default tolerance passes the float32 gradients of real PyTorch
/// (autograd) and TensorFlow/Keras (GradientTape) for the same model, inputs and targets, and fails a faulty
/// gradient file with exit 1. Expected values are those tools' (`scripts/make_verify_gradient_fixtures.py`, pinned
/// PyTorch 2.15.0, TensorFlow 2.21.0, Keras 3.15.1): Fixtures/verify-gradients/small, units64, units128, long200,
/// saturated, nearfit (units64's model with targets within 1e-3 of its outputs).
@Suite(.serialized) struct VerifyGradientToleranceTests {
    static let cases = ["small", "units64", "units128", "long200", "saturated", "nearfit"]

    static func folder(_ name: String) -> URL { FixturePaths.fixture("verify-gradients/\(name)") }

    static func verify(_ name: String, gradients: URL, _ extra: [String] = []) throws -> CLI.Result {
        let f = folder(name)
        return try CLI.run(["verify", f.appendingPathComponent("model.keras").path, "--inputs", f.appendingPathComponent("x.npy").path,
                            "--targets", f.appendingPathComponent("t.npy").path, "--expect-gradients", gradients.path, "--json"] + extra)
    }

    static func read(_ name: String, _ file: String) throws -> [String: Tensor] {
        try NumPy.readNPZ(folder(name).appendingPathComponent(file))
    }

    /// Writes `arrays` as a gradients .npz (canonical order of the model's tensors, then `loss`) in a fresh folder.
    static func write(_ arrays: [String: Tensor]) throws -> URL {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("gradients.npz")
        try NumPy.writeNPZ(arrays.keys.sorted().map { (name: $0, tensor: arrays[$0]!) }, to: url)
        return url
    }

    static func scaled(_ t: Tensor, by c: Double) -> Tensor {
        Tensor(shape: t.shape, values: t.float64Values().map { $0 * c }, dtype: t.dtype)
    }

    /// A faulty gradient file made from PyTorch's correct float32 gradients (torch.npz).
    enum Fault: String, CaseIterable {
        case gatesSwapped = "dW, dU, db of gates i and f swapped"
        case tensorTimesOnePlus = "dU_f x (1 + 1e-3)"
        case tensorTimesOneMinus = "dW_c x (1 - 1e-3)"
        case uTransposed = "dU_o transposed"
        case withoutStepZero = "dW, dU, db without step 0 (PyTorch)"
        case meanReduction = "x 2/n (MSELoss() mean)"
        case sumReduction = "x 2 (MSELoss(reduction='sum'))"
        case float16 = "rounded to float16"

        /// Faults of relative size 1e-3 are the size of float32's own error on `nearfit` (B19b's known limit).
        func applies(to name: String) -> Bool {
            switch self {
            case .tensorTimesOnePlus, .tensorTimesOneMinus, .float16: name != "nearfit"
            case .withoutStepZero: name != "units128"
            default: true
            }
        }

        func apply(_ g: [String: Tensor], case name: String) throws -> [String: Tensor] {
            var out = g
            let n = Double(try NumPy.readNPY(VerifyGradientToleranceTests.folder(name).appendingPathComponent("t.npy")).elementCount)
            switch self {
            case .gatesSwapped:
                for kind in ["W", "U", "b"] {
                    (out["lstm.0.fwd.\(kind)_i"], out["lstm.0.fwd.\(kind)_f"]) = (g["lstm.0.fwd.\(kind)_f"], g["lstm.0.fwd.\(kind)_i"])
                }
            case .tensorTimesOnePlus:
                out["lstm.0.fwd.U_f"] = VerifyGradientToleranceTests.scaled(g["lstm.0.fwd.U_f"]!, by: 1 + 1e-3)
            case .tensorTimesOneMinus:
                out["lstm.0.fwd.W_c"] = VerifyGradientToleranceTests.scaled(g["lstm.0.fwd.W_c"]!, by: 1 - 1e-3)
            case .uTransposed:
                let u = g["lstm.0.fwd.U_o"]!, h = u.shape[0], v = u.float64Values()
                out["lstm.0.fwd.U_o"] = Tensor(shape: u.shape, values: (0..<h * h).map { v[($0 % h) * h + $0 / h] }, dtype: u.dtype)
            case .withoutStepZero:
                out = try VerifyGradientToleranceTests.read(name, "torch_no_step0.npz")
            case .meanReduction:
                out = g.mapValues { VerifyGradientToleranceTests.scaled($0, by: 2 / n) }
            case .sumReduction:
                out = g.mapValues { VerifyGradientToleranceTests.scaled($0, by: 2) }
            case .float16:
                out = g.mapValues { $0.converted(to: .float16).converted(to: .float32) }
            }
            return out
        }
    }

    @Test(arguments: cases, ["torch", "keras"])
    func B19b_realToolGradientsPassByDefault(_ name: String, _ producer: String) throws {
        let r = try Self.verify(name, gradients: Self.folder(name).appendingPathComponent("\(producer).npz"))
        #expect(r.status == 0, "\(name) \(producer): \(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("derived (B19b)"), "\(r.stdout)")
        let checks = try VerifyInputsTests.checks(r.stdout)
        #expect(checks["loss"]?.passed == true && checks.keys.filter { $0.hasPrefix("gradient ") }.count >= 12, "\(r.stdout)")
    }

    @Test(arguments: cases, Fault.allCases)
    func B19b_aFaultyGradientFileFailsWithExitOne(_ name: String, _ fault: Fault) throws {
        guard fault.applies(to: name) else { return }
        let file = try Self.write(try fault.apply(try Self.read(name, "torch.npz"), case: name))
        let r = try Self.verify(name, gradients: file)
        #expect(r.status == 1, "\(name), \(fault.rawValue): \(r.stdout)\(r.stderr)")
        let checks = try VerifyInputsTests.checks(r.stdout)
        let failed = checks.filter { !$0.value.passed }.map(\.key)
        #expect(failed.contains { $0.hasPrefix("gradient ") } && checks["gradient_check"]?.passed == true, "\(name), \(fault.rawValue): \(failed)")
    }

    /// Every tensor alone x (1 ± 1e-3) fails the tolerance its check would use (in the library: 14 tensors x 2 x 5
    /// cases of `verify` would take minutes), against our float32 gradients as `verify` computes them.
    @Test(arguments: cases.filter { $0 != "nearfit" })
    func B19b_everyTensorScaledByOnePlusOrMinus1e3Fails(_ name: String) throws {
        let (model, x, t) = try Self.inputs(name)
        let (_, y, ours) = try LSTMNumerics.gradients(model, input: .features(x), targets: t, precision: .float32)
        let scales = try GradientTolerance.scales(model, input: .features(x), targets: t, outputs: y, gradients: ours, precision: .float32)
        let torch = try Self.read(name, "torch.npz")
        for (tensor, _) in model.orderedTensors {
            let tol = GradientTolerance.tensor(tensor, scales: scales, expected: .float32)
            let correct = ArrayComparison.compare(actual: ours[tensor]!.float64Values(), expected: torch[tensor]!.float64Values(), shape: ours[tensor]!.shape, tolerance: tol)
            #expect(correct.passed, "\(name) \(tensor) PyTorch's own")
            for c in [1 + 1e-3, 1 - 1e-3] {
                let e = Self.scaled(torch[tensor]!, by: c)
                let r = ArrayComparison.compare(actual: ours[tensor]!.float64Values(), expected: e.float64Values(), shape: e.shape, tolerance: tol)
                #expect(!r.passed, "\(name) \(tensor) x \(c)")
            }
        }
    }

    static func inputs(_ name: String) throws -> (LSTMModel, Tensor, Tensor) {
        let f = folder(name)
        return (try FormatRegistry.read(f.appendingPathComponent("model.keras")).model,
                try NumPy.readNPY(f.appendingPathComponent("x.npy")), try NumPy.readNPY(f.appendingPathComponent("t.npy")))
    }

    /// nearfit: targets within 1e-3 of the outputs, so the float32 gradients' error is set by the outputs' rounding
    /// noise, not by the (small) gradients. S_θ takes g̃ for it: max|g_θ| alone fails PyTorch's correct gradients.
    @Test func B19b_smallResidualsKeepTheScaleOfTheOutputsNoise() throws {
        let (model, x, t) = try Self.inputs("nearfit")
        let (_, y, ours) = try LSTMNumerics.gradients(model, input: .features(x), targets: t, precision: .float32)
        let scales = try GradientTolerance.scales(model, input: .features(x), targets: t, outputs: y, gradients: ours, precision: .float32)
        var plain = scales
        plain.tensors = ours.mapValues { GradientTolerance.largestMagnitude($0.float64Values()) }
        let torch = try Self.read("nearfit", "torch.npz")
        var failedAlone = 0
        for (tensor, _) in model.orderedTensors {
            func passes(_ s: GradientTolerance.Scales) -> Bool {
                ArrayComparison.compare(actual: ours[tensor]!.float64Values(), expected: torch[tensor]!.float64Values(), shape: ours[tensor]!.shape,
                                        tolerance: GradientTolerance.tensor(tensor, scales: s, expected: .float32)).passed
            }
            #expect(passes(scales), "\(tensor)")
            if !passes(plain) { failedAlone += 1 }
            #expect(scales.tensors[tensor]! > 100 * plain.tensors[tensor]!, "\(tensor): g̃ sets the scale")
        }
        #expect(failedAlone >= 10, "max|g_θ| alone failed \(failedAlone) of 14 tensors")
    }

    /// The old fixed default (rtol 1e-4, atol 1e-5) fails correct PyTorch and Keras float32 gradients of long200
    /// (exit 1): why B19b replaced it.
    @Test func B19b_theOldFixedDefaultFailedCorrectGradients() throws {
        for producer in ["torch", "keras"] {
            let r = try Self.verify("long200", gradients: Self.folder("long200").appendingPathComponent("\(producer).npz"), ["--rtol", "1e-4", "--atol", "1e-5"])
            #expect(r.status == 1, "\(producer): \(r.stdout)")
        }
    }

    /// Real PyTorch gradients of nn.MSELoss() (mean over the n outputs) are 2/n x ours: exit 1 with a
    /// `loss_convention` check naming the factor and the convention; x 2 names the sum; another factor is named
    /// as a factor; a wrong gradient gives no such check.
    @Test func B19b_anotherLossConventionIsNamed() throws {
        let r = try Self.verify("units64", gradients: Self.folder("units64").appendingPathComponent("torch_mse_mean.npz"))
        #expect(r.status == 1, "\(r.stdout)")
        let note = try #require(try VerifyInputsTests.checks(r.stdout)["loss_convention"], "\(r.stdout)")
        #expect(!note.passed && note.detail.contains("= 2/n, n = 960 outputs") && note.detail.contains("nn.MSELoss()"), "\(note.detail)")
        let torch = try Self.read("units64", "torch.npz")
        for (c, says) in [(2.0, "= 2: the sum of (y − t)²"), (3.0, "another loss convention")] {
            let r = try Self.verify("units64", gradients: try Self.write(torch.mapValues { Self.scaled($0, by: c) }))
            #expect(r.status == 1)
            let checks = try VerifyInputsTests.checks(r.stdout)
            #expect(checks["loss_convention"]?.detail.contains(says) == true, "\(r.stdout)")
        }
        let swapped = try Self.verify("units64", gradients: try Self.write(try Fault.gatesSwapped.apply(torch, case: "units64")))
        let swappedChecks = try VerifyInputsTests.checks(swapped.stdout)
        #expect(swapped.status == 1 && swappedChecks["loss_convention"] == nil, "\(swapped.stdout)")
    }

    /// B19b does not widen `compare`'s gradients: its targets are the probe's (uniform in [-1, 1)), never within
    /// the outputs' noise of the outputs, and its per-tensor 64u·max|g_θ| (u of the lower dtype) passes a float16
    /// copy of each committed model against the float32 model, every gradient check on its own tensor's scale.
    @Test(arguments: cases)
    func B19b_compareGradientsOfAFloat16CopyPassPerTensor(_ name: String) throws {
        let (model, _, _) = try Self.inputs(name)
        let r = try Comparer.compare(model.converted(to: .float16), model, files: ["half", "full"], inputs: nil, precision: .float32, tolerance: nil)
        #expect(r.passed, "\(name): \(r.renderText())")
        let gradients = r.checks.filter { $0.name.hasPrefix("gradient ") }
        #expect(gradients.count == model.tensors.count, "\(r.renderText())")
        #expect(Set(gradients.map(\.tolerance.atol)).count > 1, "one atol per tensor")
    }
}
