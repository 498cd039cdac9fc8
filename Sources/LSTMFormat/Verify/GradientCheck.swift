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

    /// Tests falsify the gradient with it (in place, tensor by tensor) to show that the check can fail.
    typealias GradientTamper = (_ name: String, _ gradient: UnsafeMutableBufferPointer<Double>) -> Void

    /// Without `inputs`, the probe of `ProbeData.input` (token ids with padding for an embedding model, padded
    /// rows for a masked one, B16).
    public static func run(_ model: LSTMModel, inputs: ModelInput? = nil, targets: Tensor? = nil,
                           directions: Int = 3, coordinates: Int = 8, seed: UInt64 = ProbeData.defaultSeed) throws -> CheckResult {
        try run(model, inputs: inputs, targets: targets, directions: directions, coordinates: coordinates, seed: seed, tamper: nil)
    }

    /// A random unit direction d = r / |r|, r drawn from `start` (one value per parameter, canonical tensor order),
    /// and the BPTT slope g·d along it.
    private struct Direction {
        let start: SplitMix64
        let norm: Double
        let slope: Double
    }

    /// Memory: one float64 copy of the model (the prepared weights) plus, during BPTT, its gradient; the
    /// directions are replayed from their seeded generator instead of being stored, and θ is re-read from `model`.
    static func run(_ model: LSTMModel, inputs: ModelInput?, targets: Tensor?, directions: Int, coordinates: Int, seed: UInt64,
                    tamper: GradientTamper?) throws -> CheckResult {
        try LSTMNumerics.checkMemory(model.architecture, inputShape: inputs?.shape ?? [ProbeData.batch, ProbeData.steps, model.architecture.inputSize])
        let prepared = PreparedModel(model, precision: .float64)
        var x = inputs ?? ProbeData.input(for: model.architecture, seed: seed)
        if case .features(let f) = x { x = .features(f.converted(to: .float64)) }
        let t = targets?.converted(to: .float64)
            ?? ProbeData.targets(for: model.architecture, batch: x.shape[0], steps: x.shape[1], seed: seed &+ 1)
        let names = model.orderedTensors.map(\.name)
        let total = model.orderedTensors.reduce(0) { $0 + $1.tensor.elementCount }

        var rng = SplitMix64(seed: seed &+ 2)
        let (loss, probes, picks, picked) = try prepared.withGradients(inputs: x, targets: t) { loss, grads in
            let g = names.map { grads[$0]! }
            if let tamper { for (k, name) in names.enumerated() { tamper(name, g[k]) } }
            var probes: [Direction] = []
            for _ in 0..<directions {
                var r = rng, sumSquares = 0.0, dot = 0.0
                for gk in g {
                    var s = 0.0, d = 0.0
                    for i in 0..<gk.count { let v = r.symmetricUnit(); s += v * v; d += gk[i] * v }
                    sumSquares += s
                    dot += d
                }
                let norm = sumSquares.squareRoot()
                probes.append(Direction(start: rng, norm: norm, slope: dot / norm))
                rng.skip(total)
            }
            let picks = pickCoordinates(g.map { UnsafeBufferPointer($0) }, count: coordinates, rng: &rng)
            return (loss, probes, picks, picks.map { g[$0.0][$0.1] })
        }
        let atol = 1e-8 * max(1, abs(loss))
        let tolerance = Tolerance(rtol: rtol, atol: atol, basis: "gradient check: central differences in float64, step \(step), rtol \(rtol), atol 1e-8·max(1,|L|)")

        let target = t.float64Values()
        func currentLoss() throws -> Double {
            let y = try prepared.forward(x).float64Values()
            var l = 0.0
            for k in 0..<y.count { let d = y[k] - target[k]; l += 0.5 * d * d }
            return l
        }
        /// Sets the prepared weights to θ + sign·step·d, or back to θ without a direction.
        func load(_ direction: Direction?, sign: Double) throws {
            var r = direction?.start ?? rng
            for name in names {
                let theta = model.tensors[name]!.float64Values()
                let w = try prepared.float64Values(name)
                if let direction {
                    for i in 0..<w.count { w[i] = theta[i] + sign * step * (r.symmetricUnit() / direction.norm) }
                } else {
                    _ = w.update(fromContentsOf: theta)
                }
                try prepared.didUpdate(name)
            }
        }

        var worst = (abs: 0.0, rel: 0.0, ratio: -1.0, location: String?.none, fd: 0.0, an: 0.0)
        func record(_ fd: Double, _ an: Double, _ location: String) {
            let diff = abs(fd - an)
            let ratio = diff / (atol + rtol * abs(fd))
            worst.abs = max(worst.abs, diff)
            if fd != 0 { worst.rel = max(worst.rel, diff / abs(fd)) }
            if ratio > worst.ratio { worst = (worst.abs, worst.rel, ratio, location, fd, an) }
        }

        for (k, direction) in probes.enumerated() {
            try load(direction, sign: 1)
            let lossPlus = try currentLoss()
            try load(direction, sign: -1)
            let fd = (lossPlus - (try currentLoss())) / (2 * step)
            record(fd, direction.slope, "direction \(k)")
        }

        if directions > 0 { try load(nil, sign: 0) }
        for ((ti, ei), an) in zip(picks, picked) {
            let v = try prepared.parameter(names[ti], at: ei)
            try prepared.setParameter(names[ti], at: ei, to: v + step)
            let lossPlus = try currentLoss()
            try prepared.setParameter(names[ti], at: ei, to: v - step)
            let fd = (lossPlus - (try currentLoss())) / (2 * step)
            try prepared.setParameter(names[ti], at: ei, to: v)
            record(fd, an, CheckResult.location(names[ti], Tensor.index(ofFlat: ei, shape: model.tensors[names[ti]]!.shape)))
        }
        let passed = worst.ratio <= 1
        let detail = "\(directions) directions and \(picks.count) coordinates, loss \(loss)"
            + (passed ? "" : "; worst: finite difference \(worst.fd) vs BPTT \(worst.an)")
        return CheckResult(name: "gradient_check", passed: passed, maxAbsError: worst.abs, maxRelError: worst.rel,
                           location: worst.location, tolerance: tolerance, detail: detail)
    }

    /// Half the coordinates with the largest |g| (one pass, no sort of all parameters), the rest drawn
    /// uniformly over all parameters; no coordinate twice. Memory stays O(count) whatever the model size.
    static func pickCoordinates<C: RandomAccessCollection<Double>>(_ g: [C], count: Int, rng: inout SplitMix64) -> [(Int, Int)]
        where C.Index == Int {
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
