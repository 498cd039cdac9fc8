import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B19b on the model kinds beyond one forward layer: `verify --expect-gradients`' default tolerance
/// passes the float32 gradients of real Keras 3.15.1 (GradientTape) and, where nn.LSTM expresses the model,
/// PyTorch 2.15.0 (autograd) for a Bidirectional LSTM, two stacked LSTMs, a Masking model with padded steps, an
/// Embedding model and an Embedding(mask_zero=True) model, and fails faults made from them with exit 1. Expected
/// values are those tools' (`scripts/make_verify_gradient_fixtures.py --kinds`): Fixtures/verify-gradients-kinds/
/// bidi, stacked, masked, embedding, embedmask.
@Suite(.serialized) struct VerifyGradientToleranceModelKindsTests {
    /// Case → the producers whose gradients are committed, and the tensor of that kind's own part (the backward
    /// direction, the second layer, the embedding) that the one-tensor fault scales.
    static let cases: [String: (producers: [String], tensor: String)] = [
        "bidi": (["torch", "keras"], "lstm.0.bwd.U_f"),
        "stacked": (["torch", "keras"], "lstm.1.fwd.b_i"),
        "masked": (["keras"], "lstm.0.fwd.W_o"),
        "embedding": (["keras"], "embedding.E"),
        "embedmask": (["keras"], "embedding.E"),
    ]
    static let producerCases = cases.keys.sorted().flatMap { name in cases[name]!.producers.map { "\(name)/\($0)" } }

    static func folder(_ name: String) -> URL { FixturePaths.fixture("verify-gradients-kinds/\(name)") }

    static func verify(_ name: String, gradients: URL) throws -> CLI.Result {
        let f = folder(name)
        return try CLI.run(["verify", f.appendingPathComponent("model.keras").path, "--inputs", f.appendingPathComponent("x.npy").path,
                            "--targets", f.appendingPathComponent("t.npy").path, "--expect-gradients", gradients.path, "--json"])
    }

    @Test(arguments: producerCases)
    func B19b_realToolGradientsOfEachModelKindPassByDefault(_ pair: String) throws {
        let (name, producer) = (String(pair.split(separator: "/")[0]), String(pair.split(separator: "/")[1]))
        let r = try Self.verify(name, gradients: Self.folder(name).appendingPathComponent("\(producer).npz"))
        #expect(r.status == 0, "\(pair): \(r.stdout)\(r.stderr)")
        let checks = try VerifyInputsTests.checks(r.stdout)
        let model = try FormatRegistry.read(Self.folder(name).appendingPathComponent("model.keras")).model
        #expect(checks["loss"]?.passed == true, "\(r.stdout)")
        #expect(checks.keys.filter { $0.hasPrefix("gradient ") }.count == model.tensors.count, "every tensor checked: \(r.stdout)")
        #expect(checks["gradient \(Self.cases[name]!.tensor)"]?.passed == true, "\(r.stdout)")
    }

    enum Fault: String, CaseIterable {
        case gatesSwapped = "dW, dU, db of lstm.0.fwd's gates i and f swapped"
        case kindTensorTimesOnePlus = "the kind's own tensor x (1 + 1e-3)"
        case kindTensorTimesOneMinus = "the kind's own tensor x (1 - 1e-3)"
        case float16 = "rounded to float16"

        func apply(_ g: [String: Tensor], tensor: String) -> [String: Tensor] {
            var out = g
            switch self {
            case .gatesSwapped:
                for kind in ["W", "U", "b"] {
                    (out["lstm.0.fwd.\(kind)_i"], out["lstm.0.fwd.\(kind)_f"]) = (g["lstm.0.fwd.\(kind)_f"], g["lstm.0.fwd.\(kind)_i"])
                }
            case .kindTensorTimesOnePlus: out[tensor] = VerifyGradientToleranceTests.scaled(g[tensor]!, by: 1 + 1e-3)
            case .kindTensorTimesOneMinus: out[tensor] = VerifyGradientToleranceTests.scaled(g[tensor]!, by: 1 - 1e-3)
            case .float16: out = g.mapValues { $0.converted(to: .float16).converted(to: .float32) }
            }
            return out
        }
    }

    @Test(arguments: cases.keys.sorted(), Fault.allCases)
    func B19b_aFaultyGradientFileOfEachModelKindFailsWithExitOne(_ name: String, _ fault: Fault) throws {
        let (producers, tensor) = Self.cases[name]!
        let g = try NumPy.readNPZ(Self.folder(name).appendingPathComponent("\(producers[0]).npz"))
        let r = try Self.verify(name, gradients: try VerifyGradientToleranceTests.write(fault.apply(g, tensor: tensor)))
        #expect(r.status == 1, "\(name), \(fault.rawValue): \(r.stdout)\(r.stderr)")
        let checks = try VerifyInputsTests.checks(r.stdout)
        let failed = checks.filter { !$0.value.passed }.map(\.key)
        #expect(failed.contains { $0.hasPrefix("gradient ") } && checks["gradient_check"]?.passed == true, "\(name), \(fault.rawValue): \(failed)")
        if fault == .kindTensorTimesOnePlus || fault == .kindTensorTimesOneMinus {
            #expect(failed.contains("gradient \(tensor)"), "\(name): \(failed)")
        }
    }
}
