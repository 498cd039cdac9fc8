import Foundation

/// Checks BPTT against central finite differences in float64 on a deterministic probe.
///
/// The cost does not grow with the model: the loss gradient is checked along `directions` random unit
/// directions d (g·d against (L(θ+εd) − L(θ−εd)) / 2ε) and at `coordinates` sampled parameters (half the
/// largest |g|, half random), two forward passes each. A pass needs
/// |fd − bptt| ≤ atol + rtol·|fd| with rtol = 1e-5, atol = 1e-8·max(1, |L|) (`Spec/bptt.md`, "Gradient check").
public enum GradientCheck {
    public static let rtol = 1e-5
    public static let step = 1e-5

    /// The function under test: loss, outputs and gradients (tests substitute a faulty one to show the check
    /// can fail).
    typealias GradientSource = (LSTMModel, ModelInput, Tensor) throws -> (loss: Double, outputs: Tensor, gradients: [String: Tensor])

    /// Without `inputs`, the probe of `ProbeData.input` (token ids with padding for an embedding model, padded
    /// rows for a masked one, B16).
    public static func run(_ model: LSTMModel, inputs: ModelInput? = nil, targets: Tensor? = nil,
                           directions: Int = 3, coordinates: Int = 8, seed: UInt64 = ProbeData.defaultSeed) throws -> CheckResult {
        try run(model, inputs: inputs, targets: targets, directions: directions, coordinates: coordinates, seed: seed) {
            try LSTMNumerics.gradients($0, input: $1, targets: $2, precision: .float64)
        }
    }

    static func run(_ model: LSTMModel, inputs: ModelInput?, targets: Tensor?, directions: Int, coordinates: Int, seed: UInt64,
                    gradientSource: GradientSource) throws -> CheckResult {
        try LSTMNumerics.checkMemory(model.architecture, inputShape: inputs?.shape ?? [ProbeData.batch, ProbeData.steps, model.architecture.inputSize])
        let m = model.converted(to: .float64)
        var x = inputs ?? ProbeData.input(for: m.architecture, seed: seed)
        if case .features(let f) = x { x = .features(f.converted(to: .float64)) }
        let t = targets?.converted(to: .float64)
            ?? ProbeData.targets(for: m.architecture, batch: x.shape[0], steps: x.shape[1], seed: seed &+ 1)
        let (loss, _, grads) = try gradientSource(m, x, t)
        let names = m.orderedTensors.map(\.name)
        let theta = names.map { m.tensors[$0]!.float64Values() }
        let g = names.map { grads[$0]!.float64Values() }
        let atol = 1e-8 * max(1, abs(loss))
        let tolerance = Tolerance(rtol: rtol, atol: atol, basis: "gradient check: central differences in float64, step \(step), rtol \(rtol), atol 1e-8·max(1,|L|)")

        // One prepared copy of the model: directions replace whole tensors, coordinates change one element.
        let prepared = PreparedModel(m, precision: .float64)
        let target = t.float64Values()
        func currentLoss() throws -> Double {
            let y = try prepared.forward(x).float64Values()
            var l = 0.0
            for k in 0..<y.count { let d = y[k] - target[k]; l += 0.5 * d * d }
            return l
        }
        func load(_ params: [[Double]]) throws {
            for (k, name) in names.enumerated() { try prepared.replaceTensor(name, with: Tensor(shape: m.tensors[name]!.shape, float64: params[k])) }
        }

        var rng = SplitMix64(seed: seed &+ 2)
        var worst = (abs: 0.0, rel: 0.0, ratio: -1.0, location: String?.none, fd: 0.0, an: 0.0)
        func record(_ fd: Double, _ an: Double, _ location: String) {
            let diff = abs(fd - an)
            let ratio = diff / (atol + rtol * abs(fd))
            worst.abs = max(worst.abs, diff)
            if fd != 0 { worst.rel = max(worst.rel, diff / abs(fd)) }
            if ratio > worst.ratio { worst = (worst.abs, worst.rel, ratio, location, fd, an) }
        }

        for k in 0..<directions {
            var d = theta.map { $0.map { _ in rng.symmetricUnit() } }
            let norm = sqrt(d.reduce(0) { $0 + $1.reduce(0) { $0 + $1 * $1 } })
            d = d.map { $0.map { $0 / norm } }
            try load(zip(theta, d).map { zip($0, $1).map { $0 + step * $1 } })
            let lossPlus = try currentLoss()
            try load(zip(theta, d).map { zip($0, $1).map { $0 - step * $1 } })
            let fd = (lossPlus - (try currentLoss())) / (2 * step)
            let an = zip(g, d).reduce(0) { $0 + zip($1.0, $1.1).reduce(0) { $0 + $1.0 * $1.1 } }
            record(fd, an, "direction \(k)")
        }

        let picks = pickCoordinates(g, count: coordinates, rng: &rng)
        if directions > 0 { try load(theta) }
        for (ti, ei) in picks {
            let v = theta[ti][ei]
            try prepared.setParameter(names[ti], at: ei, to: v + step)
            let lossPlus = try currentLoss()
            try prepared.setParameter(names[ti], at: ei, to: v - step)
            let fd = (lossPlus - (try currentLoss())) / (2 * step)
            try prepared.setParameter(names[ti], at: ei, to: v)
            record(fd, g[ti][ei], CheckResult.location(names[ti], Tensor.index(ofFlat: ei, shape: m.tensors[names[ti]]!.shape)))
        }
        let passed = worst.ratio <= 1
        let detail = "\(directions) directions and \(picks.count) coordinates, loss \(loss)"
            + (passed ? "" : "; worst: finite difference \(worst.fd) vs BPTT \(worst.an)")
        return CheckResult(name: "gradient_check", passed: passed, maxAbsError: worst.abs, maxRelError: worst.rel,
                           location: worst.location, tolerance: tolerance, detail: detail)
    }

    /// Half the coordinates with the largest |g| (one pass, no sort of all parameters), the rest drawn
    /// uniformly over all parameters; no coordinate twice. Memory stays O(count) whatever the model size.
    static func pickCoordinates(_ g: [[Double]], count: Int, rng: inout SplitMix64) -> [(Int, Int)] {
        let total = g.reduce(0) { $0 + $1.count }
        let want = min(count, total)
        var top: [(magnitude: Double, tensor: Int, element: Int)] = []
        let topCount = min(count / 2, total)
        for (ti, arr) in g.enumerated() {
            for (ei, v) in arr.enumerated() where top.count < topCount || abs(v) > top[top.count - 1].magnitude {
                if top.count == topCount { top.removeLast() }
                let k = top.firstIndex { $0.magnitude < abs(v) } ?? top.count
                top.insert((abs(v), ti, ei), at: k)
            }
        }
        var picks = top.map { ($0.tensor, $0.element) }
        while picks.count < want {
            var flat = Int(rng.next() % UInt64(total))
            var ti = 0
            while flat >= g[ti].count { flat -= g[ti].count; ti += 1 }
            if !picks.contains(where: { $0 == (ti, flat) }) { picks.append((ti, flat)) }
        }
        return picks
    }
}
