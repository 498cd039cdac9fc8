import Foundation
import LSTMFormat
import Testing

/// `Spec/bptt.md` B8: eq. 8.29 as printed omits the cell-state carry. A scalar reference implements both the
/// exact recurrence and the printed one on a random 4-unit model (input 3, steps 5, batch 2, seed 42); the exact
/// one agrees with the verifier and with central differences, the printed one is far off.
@Suite struct NumericsEquation829Tests {
    @Test func printedEquation829MissesTheCellStateCarry() throws {
        let arch = RandomModels.architecture(dense: [(2, .linear)])
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 42)
        let x = RandomModels.inputs(batch: 2, steps: 5, features: 3, seed: 43)
        let y = FiniteDifferences.targets(arch, batch: 2, steps: 5, seed: 44)
        let ref = reference(model)
        let xs = nested(x.float64Values(), 2, 5, 3), ys = nested(y.float64Values(), 2, 5, 2)

        let prepared = PreparedModel(model, precision: .float64)
        let verifier = try prepared.gradients(inputs: x, targets: y).gradients
        var fd: [String: [Double]] = [:]
        for (name, _) in arch.expectedTensors {
            fd[name] = try (0..<model.tensors[name]!.elementCount).map {
                try FiniteDifferences.centralDifference(prepared, name, $0, inputs: x, targets: y)
            }
        }
        let exact = ref.gradients(x: xs, y: ys, recurrence: .exact)
        let printed = ref.gradients(x: xs, y: ys, recurrence: .printed829)
        let noCarry = ref.gradients(x: xs, y: ys, recurrence: .noCarry)
        let exactError = worstRelativeError(exact, fd)
        let verifierError = worstRelativeError(verifier.mapValues { $0.float64Values() }, fd)
        let printedError = worstRelativeError(printed, fd)
        let noCarryError = worstRelativeError(noCarry, fd)
        print("eq. 8.29 check, worst per-tensor ‖g − fd‖/‖fd‖: exact \(exactError), verifier \(verifierError), "
              + "printed 8.29 \(printedError), 8.29 without any carry \(noCarryError)")
        // Finite differences carry ~1e-7 relative error on the smallest tensors; the verifier and the scalar
        // reference agree to rounding.
        #expect(exactError < 1e-6)
        #expect(verifierError < 1e-6)
        #expect(worstRelativeError(verifier.mapValues { $0.float64Values() }, exact) < 1e-12)
        // Measured: printed 8.29 ≈ 0.088, without any carry ≈ 0.57 (worst tensor, relative 2-norm).
        #expect(printedError > 0.05)
        #expect(noCarryError > 0.3)
        let elementError = worstElementError(printed, fd)
        print("printed 8.29: worst element |g − fd| / |fd| (|fd| ≥ 10% of its tensor's largest) \(elementError)")
        #expect(elementError > 0.2)
    }

    /// max over tensors of ‖a − b‖₂ / ‖b‖₂.
    private func worstRelativeError(_ a: [String: [Double]], _ b: [String: [Double]]) -> Double {
        var worst = 0.0
        for (name, ref) in b {
            guard let v = a[name] else { return .infinity }
            let num = zip(v, ref).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let den = ref.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            worst = max(worst, num / max(den, 1e-300))
        }
        return worst
    }

    /// max over elements with |b| at least 10% of their tensor's largest |b| of |a − b| / |b|.
    private func worstElementError(_ a: [String: [Double]], _ b: [String: [Double]]) -> Double {
        var worst = 0.0
        for (name, ref) in b {
            guard let v = a[name] else { return .infinity }
            let scale = ref.map(abs).max() ?? 0
            for (p, q) in zip(v, ref) where abs(q) >= 0.1 * scale && q != 0 { worst = max(worst, abs(p - q) / abs(q)) }
        }
        return worst
    }

    private func nested(_ v: [Double], _ b: Int, _ t: Int, _ f: Int) -> [[[Double]]] {
        (0..<b).map { i in (0..<t).map { s in Array(v[((i * t + s) * f)..<((i * t + s) * f + f)]) } }
    }

    private func reference(_ m: LSTMModel) -> ScalarLSTMReference {
        func mat(_ n: String) -> [[Double]] {
            let t = m.tensors[n]!, v = t.float64Values(), cols = t.shape[1]
            return (0..<t.shape[0]).map { Array(v[($0 * cols)..<($0 * cols + cols)]) }
        }
        let gates = ["f", "i", "c", "o"]
        return ScalarLSTMReference(
            W: gates.map { mat("lstm.0.fwd.W_\($0)") }, U: gates.map { mat("lstm.0.fwd.U_\($0)") },
            b: gates.map { m.tensors["lstm.0.fwd.b_\($0)"]!.float64Values() },
            V: mat("dense.0.V"), c: m.tensors["dense.0.c"]!.float64Values())
    }
}
