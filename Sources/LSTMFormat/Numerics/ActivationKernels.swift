/// Activations and their derivatives over contiguous buffers (`Spec/canonical-model.md` M7, `Spec/bptt.md` B6).
///
/// Every derivative is computed from the activation's *output* y = a(x), which the forward pass keeps anyway:
/// sigmoid' = y(1 − y), tanh' = 1 − y², linear' = 1, relu' = [y > 0], hard sigmoid' = slope · [0 < y < 1].
/// At a kink (relu at x = 0, a hard sigmoid where it reaches 0 or 1) this takes the flat side: derivative 0.
enum ActivationKernels {
    /// y = a(x) in place for an elementwise activation; for softmax, per row of `cols` values.
    static func apply<T: BLASScalar>(_ a: Activation, _ p: UnsafeMutablePointer<T>, rows: Int, cols: Int) {
        let n = rows * cols
        switch a {
        case .linear: break
        case .sigmoid: T.sigmoidInPlace(p, n)
        case .tanh: T.tanhInPlace(p, n)
        case .relu:
            for k in 0..<n { p[k] = Swift.max(p[k], 0) }
        case .hardSigmoidKeras2:
            for k in 0..<n { p[k] = Swift.min(Swift.max(p[k] * T(0.2) + T(0.5), 0), 1) }
        case .hardSigmoidKeras3:
            for k in 0..<n { p[k] = Swift.min(Swift.max(p[k] / 6 + T(0.5), 0), 1) }
        case .softmax:
            for r in 0..<rows {
                let row = p + r * cols
                var m = row[0]
                for k in 1..<cols { m = Swift.max(m, row[k]) }
                for k in 0..<cols { row[k] -= m }
                T.expInPlace(row, cols)
                var s: T = 0
                for k in 0..<cols { s += row[k] }
                let inv = 1 / s
                for k in 0..<cols { row[k] *= inv }
            }
        }
    }

    /// out = dL/dx given dy = dL/dy and y = a(x), for `rows` rows of `cols` values (rows matter for softmax:
    /// dx_k = y_k (dy_k − Σ_j dy_j y_j)). `out` may alias `dy` or `y`.
    static func backprop<T: BLASScalar>(
        _ a: Activation, dy: UnsafePointer<T>, y: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
        rows: Int, cols: Int
    ) {
        let n = rows * cols
        switch a {
        case .linear:
            if UnsafePointer(out) != dy { out.update(from: dy, count: n) }
        case .sigmoid:
            for k in 0..<n { let v = y[k]; out[k] = dy[k] * v * (1 - v) }
        case .tanh:
            for k in 0..<n { let v = y[k]; out[k] = dy[k] * (1 - v * v) }
        case .relu:
            for k in 0..<n { out[k] = y[k] > 0 ? dy[k] : 0 }
        case .hardSigmoidKeras2:
            for k in 0..<n { let v = y[k]; out[k] = v > 0 && v < 1 ? dy[k] * T(0.2) : 0 }
        case .hardSigmoidKeras3:
            for k in 0..<n { let v = y[k]; out[k] = v > 0 && v < 1 ? dy[k] / 6 : 0 }
        case .softmax:
            for r in 0..<rows {
                let o = r * cols
                var dot: T = 0
                for k in 0..<cols { dot += dy[o + k] * y[o + k] }
                for k in 0..<cols { out[o + k] = y[o + k] * (dy[o + k] - dot) }
            }
        }
    }
}
