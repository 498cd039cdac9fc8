import Foundation

/// `Spec/bptt.md` B19b, B19c: expected gradients of another loss convention. `gradients` and `verify` use
/// L = Σ ½ (y − t)² over every output (B5); PyTorch's `nn.MSELoss()` and Keras's `MeanSquaredError` average
/// (y − t)² over the n outputs, so a user's correct gradients of those are 2/n × ours (B19b). On a masked model that
/// returns every step, Keras's loss sees the output mask and averages over the n_u unmasked outputs only: 2/n_u × the
/// gradients of L_u = Σ ½ (y − t)² over the unmasked steps (B19c). Rather than a bare "differs", the report names the
/// factor.
enum LossConvention {
    /// One compared array: ours, the expected one and the tolerance they failed or passed. `subject` is "loss" or the
    /// tensor's canonical name. The tensors are the ones `verify` holds anyway; their float64 values are formed only
    /// here, when some check failed.
    struct Pair {
        var subject: String
        var actual: Tensor
        var expected: Tensor
        var tolerance: Tolerance
    }

    /// The constant c ≠ 1 (least squares over every element of every pair) for which every expected array passes
    /// its tolerance against ours × c (each atol scaled by |c|); nil when there is none.
    /// `allowingOne`: c = 1 counts (B19c, where the arrays are compared with the gradients of another loss, L_u).
    static func factor(_ pairs: [Pair], allowingOne: Bool = false) -> Double? {
        var ea = 0.0, aa = 0.0
        for p in pairs {
            let a = p.actual.float64Values(), e = p.expected.float64Values()
            for k in a.indices { ea += e[k] * a[k]; aa += a[k] * a[k] }
        }
        let c = ea / aa
        guard aa > 0, c.isFinite, c != 0, allowingOne || abs(c - 1) > 1e-6 else { return nil }
        for p in pairs {
            var tol = p.tolerance
            tol.atol *= abs(c)
            tol.atolPerFeature = tol.atolPerFeature?.map { $0 * abs(c) }
            let scaled = ArrayComparison.compare(actual: p.actual.float64Values().map { $0 * c }, expected: p.expected.float64Values(),
                                                 shape: p.expected.shape, tolerance: tol)
            if !scaled.passed { return nil }
        }
        return c
    }

    /// B19b: a failing `loss_convention` check when the expected loss and gradients are, all of them, one constant
    /// c ≠ 1 times ours (`factor`); nil otherwise. `outputCount` is n, the number of outputs.
    static func note(_ pairs: [Pair], outputCount n: Int) -> CheckResult? {
        guard let c = factor(pairs) else { return nil }
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

    /// B19c: on a masked model (M18) that returns every step, when `note` found no factor: one more forward and BPTT
    /// with the masked steps' residuals set to 0 (the targets replaced by our outputs `y` [batch, steps, out] at every
    /// masked step), the gradients of L_u = Σ ½ (y − t)² over the unmasked steps; a failing `loss_convention` check
    /// when the expected arrays are c × those (`factor`, the same tolerances), naming Keras's masked mean for
    /// c = 2/n_u (n_u = unmasked steps × output features). nil for any other model, when every step is masked, or
    /// when no factor fits. `pairs` are B19b's, in any order. Throws what `LSTMNumerics.gradients` throws.
    static func maskedNote(_ pairs: [Pair], model: LSTMModel, input: ModelInput, targets t: Tensor, outputs y: Tensor,
                           precision: Precision) throws -> CheckResult? {
        let a = model.architecture
        guard a.isMasked, a.returnSequences, y.shape.count == 3, t.shape == y.shape else { return nil }
        let (batch, steps, out) = (y.shape[0], y.shape[1], y.shape[2])
        guard let masked = input.maskedSteps(a, dtype: model.maskComparisonDType) else { return nil }
        let stepsUnmasked = masked.lazy.filter { !$0 }.count
        guard stepsUnmasked > 0, stepsUnmasked < batch * steps else { return nil }
        // Residual 0 at a masked step: its target is our own output there (held exactly in float64).
        var target = t.float64Values()
        let outputs = y.float64Values()
        for k in 0..<(batch * steps) where masked[k] {
            for j in 0..<out { target[k * out + j] = outputs[k * out + j] }
        }
        let (lossU, _, gradsU) = try LSTMNumerics.gradients(model, input: input, targets: Tensor(shape: t.shape, float64: target),
                                                            precision: precision)
        let restricted = pairs.map { p in
            var q = p
            q.actual = p.subject == "loss" ? Tensor(shape: p.expected.shape, float64: [lossU]) : gradsU[p.subject] ?? p.actual
            return q
        }
        guard let c = factor(restricted, allowingOne: true) else { return nil }
        let n = y.elementCount, nu = stepsUnmasked * out
        let known: [(factor: Double, name: String)] = [
            (2 / Double(nu), "= 2/n_u, n_u = \(nu) unmasked outputs (\(stepsUnmasked) unmasked steps × \(out) features): Keras's compiled "
                + "MeanSquaredError on a masked model averages (y − t)² over the n_u unmasked outputs only (fit, compute_loss, or the loss "
                + "called on the model's own output, which carries Keras's mask)"),
            (2 / Double(n), "= 2/n, n = \(n) outputs: the sum of (y − t)² over the unmasked outputs divided by all n, Keras's "
                + "MeanSquaredError with sample_weight=mask on an output without Keras's mask"),
            (2, "= 2: the sum of (y − t)² over the unmasked steps"),
            (1, "= 1: Σ ½ (y − t)² over the unmasked steps only, ours with the masked steps left out"),
            (1 / Double(nu), "= 1/n_u, n_u = \(nu) unmasked outputs: the mean of ½ (y − t)² over the unmasked outputs"),
        ]
        let what = known.first { abs(c / $0.factor - 1) < 1e-3 }?.name ?? "a constant factor over the unmasked steps"
        let detail = "the expected loss and gradients are \(String(format: "%.6g", c)) × ours with the \(batch * steps - stepsUnmasked) masked "
            + "steps left out of the loss (\(what)); `gradients` and `verify` use L = Σ ½ (y − t)² over every step, masked ones included "
            + "(Spec/bptt.md B5, B19c): take the GradientTape of 0.5·Σ(y − t)² over every step, or divide the expected arrays by "
            + "\(String(format: "%.6g", c)) and give targets equal to the outputs at the masked steps"
        return .fact("loss_convention", passed: false, detail: detail)
    }
}
