import Foundation

/// `Spec/bptt.md` B19b: expected gradients of another loss convention. `gradients` and `verify` use
/// L = Σ ½ (y − t)² (B5); PyTorch's `nn.MSELoss()` and Keras's `MeanSquaredError` average (y − t)² over the n
/// outputs, so a user's correct gradients of those are 2/n × ours. Rather than a bare "differs", the report names
/// the factor.
enum LossConvention {
    /// One compared array: ours, the expected one and the tolerance they failed or passed. The tensors are the ones
    /// `verify` holds anyway; their float64 values are formed only here, when some check failed.
    struct Pair {
        var actual: Tensor
        var expected: Tensor
        var tolerance: Tolerance
    }

    /// A failing `loss_convention` check when the expected loss and gradients are, all of them, one constant
    /// c ≠ 1 times ours (c by least squares over every element) and pass their tolerances once ours are scaled
    /// by c (each atol scaled by |c|); nil otherwise. `outputCount` is n, the number of outputs.
    static func note(_ pairs: [Pair], outputCount n: Int) -> CheckResult? {
        var ea = 0.0, aa = 0.0
        for p in pairs {
            let a = p.actual.float64Values(), e = p.expected.float64Values()
            for k in a.indices { ea += e[k] * a[k]; aa += a[k] * a[k] }
        }
        let c = ea / aa
        guard aa > 0, c.isFinite, c != 0, abs(c - 1) > 1e-6 else { return nil }
        for p in pairs {
            var tol = p.tolerance
            tol.atol *= abs(c)
            tol.atolPerFeature = tol.atolPerFeature?.map { $0 * abs(c) }
            let scaled = ArrayComparison.compare(actual: p.actual.float64Values().map { $0 * c }, expected: p.expected.float64Values(),
                                                 shape: p.expected.shape, tolerance: tol)
            if !scaled.passed { return nil }
        }
        let count = Double(n)
        let known: [(factor: Double, name: String)] = [
            (2 / count, "= 2/n, n = \(n) outputs: the mean of (y − t)², the loss of PyTorch's nn.MSELoss() (reduction 'mean') and Keras's MeanSquaredError"),
            (2, "= 2: the sum of (y − t)², nn.MSELoss(reduction='sum')"),
            (1 / count, "= 1/n, n = \(n) outputs: the mean of ½ (y − t)²"),
        ]
        let what = known.first { abs(c / $0.factor - 1) < 1e-3 }?.name ?? "a constant factor: another loss convention or scaling?"
        let detail = "the expected loss and gradients are \(String(format: "%.6g", c)) × ours throughout (\(what)); `gradients` and "
            + "`verify` use L = Σ ½ (y − t)² (Spec/bptt.md B5): divide the expected arrays by \(String(format: "%.6g", c)) to check them"
        return .fact("loss_convention", passed: false, detail: detail)
    }
}
