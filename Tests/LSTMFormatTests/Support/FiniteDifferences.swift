import LSTMFormat

/// Central finite differences of the loss of eq. 8.25 through a `PreparedModel`, for gradient checks.
enum FiniteDifferences {
    /// L = Σ ½ (y − Y)², computed here from the forward outputs (not from the verifier's own loss).
    static func loss(_ m: PreparedModel, inputs: Tensor, targets: Tensor) throws -> Double {
        let y = try m.forward(inputs: inputs).float64Values()
        let t = targets.float64Values()
        var s = 0.0
        for k in y.indices { s += 0.5 * (y[k] - t[k]) * (y[k] - t[k]) }
        return s
    }

    /// (L(w + eps) − L(w − eps)) / 2eps for element `index` of tensor `name`; restores the weight.
    static func centralDifference(_ m: PreparedModel, _ name: String, _ index: Int, inputs: Tensor, targets: Tensor,
                                  eps: Double = 1e-6) throws -> Double {
        let w = try m.parameter(name, at: index)
        try m.setParameter(name, at: index, to: w + eps)
        let plus = try loss(m, inputs: inputs, targets: targets)
        try m.setParameter(name, at: index, to: w - eps)
        let minus = try loss(m, inputs: inputs, targets: targets)
        try m.setParameter(name, at: index, to: w)
        return (plus - minus) / (2 * eps)
    }

    /// Targets of the model's output shape, uniform in [-1, 1).
    static func targets(_ arch: ModelArchitecture, batch: Int, steps: Int, seed: UInt64) -> Tensor {
        let shape = arch.returnSequences ? [batch, steps, arch.outputSize] : [batch, arch.outputSize]
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: shape, float64: rng.values(shape.reduce(1, *)))
    }
}
