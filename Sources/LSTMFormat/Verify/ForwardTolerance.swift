import Foundation

/// The default tolerance of `verify --expect` for a model's outputs (`Spec/bptt.md` B19a): the rounding noise two
/// correct computations of the same model may differ by, per element
/// |y − e| ≤ (u_e + λu)·|e| + λu·√N·max|e|, λ = 8 — u_e the expected dtype's unit roundoff, u the arithmetic's
/// (float64 only when both the precision and the expected array are float64, else float32), N the rounded
/// products and sums along the way to one output (`roundingChainLength`), max|e| the largest finite |expected|.
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

    /// The tolerance for `expected`, the outputs of this model for inputs of `steps` steps, against our forward
    /// pass in `precision`.
    public static func tolerance(for architecture: ModelArchitecture, steps: Int, expected: Tensor, precision: Precision) -> Tolerance {
        let ue = expected.dtype.unitRoundoff
        let arithmetic: DType = precision == .float64 && expected.dtype == .float64 ? .float64 : .float32
        let u = arithmetic.unitRoundoff
        let n = roundingChainLength(architecture, steps: steps)
        let scale = expected.float64Values().reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
        let rtol = ue + lambda * u, atol = lambda * u * Double(n).squareRoot() * scale
        let basis = "derived (B19a) for \(arithmetic.rawValue) arithmetic over N = \(n) rounded operations: "
            + "rtol = u_e + 8u, atol = 8u·√N·max|expected| = \(String(format: "%.3g", atol)), u = \(String(format: "%.3g", u))"
            + (expected.dtype == arithmetic ? "" : ", u_e = \(String(format: "%.3g", ue)) (\(expected.dtype.rawValue))")
        return Tolerance(rtol: rtol, atol: atol, basis: basis)
    }
}
