import LSTMFormat
import Testing

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

    /// B9 on every coordinate: each element of each tensor `arch` names (its gradient present, of its shape)
    /// against the central difference (eps 1e-6) of L = Σ ½ (y − Y)² on a `ModelInput`, within
    /// 1e-7 + 1e-5 · max(|fd|, |g|). Returns how many coordinates were checked and those outside the bound.
    static func checkEveryCoordinate(_ m: PreparedModel, _ arch: ModelArchitecture, gradients grads: [String: Tensor],
                                     _ x: ModelInput, _ t: Tensor) throws -> (checked: Int, failures: [String]) {
        func loss() throws -> Double { try NumericsMaskingTests.loss(m, x, t) }
        var failures: [String] = []
        var checked = 0
        for (name, shape) in arch.expectedTensors {
            let tensor = try #require(grads[name])
            #expect(tensor.shape == shape, "\(name)")
            let g = tensor.float64Values()
            for e in g.indices {
                let w = try m.parameter(name, at: e)
                try m.setParameter(name, at: e, to: w + 1e-6)
                let plus = try loss()
                try m.setParameter(name, at: e, to: w - 1e-6)
                let minus = try loss()
                try m.setParameter(name, at: e, to: w)
                let fd = (plus - minus) / 2e-6
                if abs(fd - g[e]) > 1e-7 + 1e-5 * max(abs(fd), abs(g[e])) { failures.append("\(name)[\(e)]: bptt \(g[e]), fd \(fd)") }
                checked += 1
            }
        }
        return (checked, failures)
    }
}
