import Foundation

/// The default tolerance of `verify --expect` for a model's outputs (`Spec/bptt.md` B19a): the rounding noise two
/// correct computations of the same model may differ by, per element
/// |y − e| ≤ (u_e + λu)·|e| + λu·√N·s_j, λ = 8, j the element's output feature (last axis) — u_e the expected
/// dtype's unit roundoff, u float32's whatever the precision and the expected dtype (a float64 expected array need
/// not come from float64-accurate arithmetic: Keras 3's `predict` rounds float64 inputs to float32), N the rounded products and sums along the way to one output (`roundingChainLength`),
/// s_j the scale of output feature j (`OutputScale.perFeature`).
public enum ForwardTolerance {
    /// λ: how many standard deviations of √N·u the noise may reach (probabilistic rounding error analysis).
    public static let lambda = 8.0

    /// N for inputs of `steps` steps: steps · Σ over the LSTM cells of (input size + state size + 1, + hidden size
    /// with a projection), plus Σ over the dense layers of (input size + 1). An embedding lookup rounds nothing.
    public static func roundingChainLength(_ architecture: ModelArchitecture, steps: Int) -> Int {
        var perStep = 0
        for layer in architecture.layers {
            let cell = layer.inputSize + layer.stateSize + 1 + (layer.projectionSize == nil ? 0 : layer.hiddenSize)
            perStep += cell * layer.cells.count
        }
        let head = architecture.dense.reduce(0) { $0 + $1.inputSize + 1 }
        return max(1, steps) * perStep + head
    }

    /// The tolerance for `expected` [batch, (steps,) F], the outputs of `model` for `input`, against our forward
    /// pass in `precision`: one atol per output feature. Throws what the forward pass throws.
    public static func tolerance(for model: LSTMModel, input: ModelInput, expected: Tensor, precision: Precision) throws -> Tolerance {
        let scales = try OutputScale.perFeature(model, input: input, expected: expected, precision: precision)
        return tolerance(for: model.architecture, steps: input.shape.count > 1 ? input.shape[1] : 1, expected: expected, scales: scales)
    }

    /// The same with the output features' scales s_j given.
    static func tolerance(for architecture: ModelArchitecture, steps: Int, expected: Tensor, scales: [Double]) -> Tolerance {
        let ue = expected.dtype.unitRoundoff
        let arithmetic = DType.float32
        let u = arithmetic.unitRoundoff
        let n = roundingChainLength(architecture, steps: steps)
        let factor = lambda * u * Double(n).squareRoot()
        let atols = scales.map { factor * $0 }
        let basis = "derived (B19a) for \(arithmetic.rawValue) arithmetic over N = \(n) rounded operations: "
            + "rtol = u_e + 8u, atol_j = 8u·√N·s_j per output feature j (s_j its scale), "
            + "largest \(String(format: "%.3g", atols.max() ?? 0)), smallest \(String(format: "%.3g", atols.min() ?? 0)), u = \(String(format: "%.3g", u))"
            + (expected.dtype == arithmetic ? "" : ", u_e = \(String(format: "%.3g", ue)) (\(expected.dtype.rawValue))")
        return Tolerance(rtol: ue + lambda * u, atolPerFeature: atols, basis: basis)
    }
}
