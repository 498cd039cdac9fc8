import Foundation

/// The default tolerances of `verify --expect-gradients` for the loss and each gradient tensor (`Spec/bptt.md`
/// B19b): the rounding noise two correct float32 computations of the same loss and gradients may differ by.
/// Per element of the gradient of tensor θ: |g − e| ≤ (u_e + λu)·|e| + λu·√N·S_θ, λ = 8, u float32's unit
/// roundoff, u_e the expected array's, N B19a's rounding chain, S_θ = max(max|g_θ|, max|g̃_θ|) (`scales`); for the
/// loss |L − e| ≤ (u_e + λu)·|e| + λu·(√N·√(Σ_k (r_k·s_j(k))²) + √n·L), r = y − t:
/// the outputs' independent rounding errors δy_k reach L as Σ_k r_k·δy_k.
public enum GradientTolerance {
    /// λ, as B19a's.
    public static let lambda = ForwardTolerance.lambda
    /// The seed of ξ, the ±1 signs of g̃'s residuals s_j·ξ.
    static let noiseSeed: UInt64 = 0x6B19B

    /// The per-tensor scales of B19b and what the loss tolerance needs, for `model` on `input` and `targets`.
    public struct Scales: Sendable {
        /// S_θ for every tensor name: max(max|g_θ|, max|g̃_θ|).
        public var tensors: [String: Double]
        /// √(Σ_k (r_k·s_j(k))²) over the outputs, r = y − t.
        public var residualNoise: Double
        /// n, the number of outputs.
        public var outputCount: Int
        /// N of B19a for these inputs.
        public var chainLength: Int
    }

    /// B19b's scales from our forward outputs `y`, loss and gradients `g` (in `precision`) of `model` on `input`
    /// and `targets`: one more BPTT, for the residuals s_j·ξ (g̃). Throws what the numerics throw.
    public static func scales(_ model: LSTMModel, input: ModelInput, targets: Tensor, outputs y: Tensor, gradients g: [String: Tensor],
                              precision: Precision) throws -> Scales {
        let s = try OutputScale.perFeature(model, input: input, expected: y, precision: precision)
        let f = max(1, s.count)
        let yv = y.float64Values(), tv = targets.float64Values()
        var residualNoise = 0.0
        for k in yv.indices {
            let sj = s.isEmpty ? 0 : s[k % f]
            residualNoise += (yv[k] - tv[k]) * (yv[k] - tv[k]) * sj * sj
        }
        let noise = try noiseMaxima(model, input: input, outputs: y, outputScales: s, precision: precision)
        var tensors: [String: Double] = [:]
        for (name, gθ) in g { tensors[name] = max(largestMagnitude(gθ.float64Values()), noise[name] ?? 0) }
        return Scales(tensors: tensors, residualNoise: residualNoise.squareRoot(), outputCount: yv.count,
                      chainLength: ForwardTolerance.roundingChainLength(model.architecture, steps: input.shape.count > 1 ? input.shape[1] : 1))
    }

    /// max|g̃_θ| for every tensor θ of `model`: its gradient, in `precision`, for the targets y − s⊙ξ (residuals
    /// s_j·ξ, ξ = ±1 from SplitMix64 seed 0x6B19B), `y` the model's outputs on `input` and `s` B19a's output scales
    /// (one per output feature). Formed one tensor at a time from a streamed copy (B30, B31). Throws what the
    /// numerics throw.
    static func noiseMaxima(_ model: LSTMModel, input: ModelInput, outputs y: Tensor, outputScales s: [Double],
                            precision: Precision) throws -> [String: Double] {
        let f = max(1, s.count)
        var rng = SplitMix64(seed: noiseSeed)
        let targets = y.float64Values().enumerated().map { k, v in
            let sj = s.isEmpty ? 0 : s[k % f]
            return v - (rng.next() & 1 == 0 ? sj : -sj)
        }
        let r = try PreparedModel(model, precision: precision, transposedU: false, streamed: true)
            .gradientsByTensor(input, targets: Tensor(shape: y.shape, float64: targets))
        var maxima: [String: Double] = [:]
        for (name, _) in model.orderedTensors {
            maxima[name] = largestMagnitude(try r.gradients.float64Values(name))
        }
        return maxima
    }

    /// The tolerance for the gradient of tensor `name` against an expected array of dtype `expected`.
    public static func tensor(_ name: String, scales: Scales, expected: DType) -> Tolerance {
        let u = DType.float32.unitRoundoff, n = Double(scales.chainLength)
        return Tolerance(rtol: expected.unitRoundoff + lambda * u, atol: lambda * u * n.squareRoot() * (scales.tensors[name] ?? 0),
                         basis: "derived (B19b) for float32 arithmetic over N = \(scales.chainLength) rounded operations: rtol = u_e + 8u, "
                             + "atol_θ = 8u·√N·S_θ per tensor θ (S_θ the larger of max|g_θ| and max|g̃_θ|, g̃ the gradient for residuals "
                             + "s_j·(±1)), u = \(String(format: "%.3g", u))")
    }

    /// The tolerance for the loss `loss` (ours) against an expected value of dtype `expected`.
    public static func loss(_ loss: Double, scales: Scales, expected: DType) -> Tolerance {
        let u = DType.float32.unitRoundoff, n = Double(scales.chainLength)
        let atol = lambda * u * (n.squareRoot() * scales.residualNoise + Double(scales.outputCount).squareRoot() * abs(loss))
        return Tolerance(rtol: expected.unitRoundoff + lambda * u, atol: atol,
                         basis: "derived (B19b) for the loss: rtol = u_e + 8u, atol = 8u·(√N·√(Σ_k (r_k·s_j)²) + √n·L), u = \(String(format: "%.3g", u))")
    }

    /// The largest finite |v| (0 when none is finite).
    static func largestMagnitude(_ values: [Double]) -> Double {
        values.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
    }
}
