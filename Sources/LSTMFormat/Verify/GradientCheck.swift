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
    /// rows for a masked one, B16); with them, those inputs and `targets` (or seeded targets shaped like the
    /// outputs, B16a). Throws `NumericsError` for inputs or targets the forward pass refuses (B1, B12, M17).
    public static func run(_ model: LSTMModel, inputs: ModelInput? = nil, targets: Tensor? = nil,
                           directions: Int = 3, coordinates: Int = 8, seed: UInt64 = ProbeData.defaultSeed,
                           progress: ProgressHandler? = nil) throws -> CheckResult {
        try run(model, inputs: inputs, targets: targets, directions: directions, coordinates: coordinates, seed: seed, tamper: nil,
                progress: progress)
    }

    /// A random unit direction d = r / |r|, r drawn from `start` (one value per parameter, canonical tensor order),
    /// and the BPTT slope g·d along it.
    private struct Direction {
        let start: SplitMix64
        let norm: Double
        let slope: Double
    }

    /// Memory (B30, B31): a streamed float64 copy of the model — its dense layers and embedding, and one LSTM
    /// layer at a time, converted from `model` when a pass reaches it, with the probe's step added on the way —
    /// in whose layer buffer each tensor's gradient is formed in turn; the directions are replayed from their
    /// seeded generator instead of being stored.
    static func run(_ model: LSTMModel, inputs: ModelInput?, targets: Tensor?, directions: Int, coordinates: Int, seed: UInt64,
                    tamper: GradientTamper?, progress: ProgressHandler? = nil) throws -> CheckResult {
        try LSTMNumerics.checkMemory(model.architecture, inputShape: inputs?.shape ?? [ProbeData.batch, ProbeData.steps, model.architecture.inputSize])
        let prepared = PreparedModel(model, precision: .float64, transposedU: false, streamed: true)
        var x = inputs ?? ProbeData.input(for: model.architecture, seed: seed)
        if case .features(let f) = x {
            guard f.shape.count == 3 else { throw NumericsError.inputRank(actual: f.shape) }
            x = .features(f.converted(to: .float64))
        }
        let t = targets?.converted(to: .float64)
            ?? ProbeData.targets(for: model.architecture, batch: x.shape[0], steps: x.shape[1], seed: seed &+ 1)
        let names = model.orderedTensors.map(\.name)
        let sizes = model.orderedTensors.map(\.tensor.elementCount)
        let total = sizes.reduce(0, +)
        var offsets: [String: Int] = [:]  // each tensor's first value in canonical order
        var running = 0
        for (name, size) in zip(names, sizes) { offsets[name] = running; running += size }

        // G1: one unit per pass over the model, the forward + BPTT first, then two forward passes per probe.
        let passes = 1 + 2 * directions + 2 * min(coordinates, total)
        var done = 0
        func advance() {
            progress?(ProgressUpdate(task: "gradient check", completed: done, total: passes))
            done += 1
        }
        advance()
        let (loss, _, gradients) = try prepared.gradientsByTensor(x, targets: t)
        // Direction k's values are the k-th run of `total` values of one generator; a tensor's share starts at
        // its offset in canonical order (skip is O(1)), so each gradient tensor is visited once.
        var rng = SplitMix64(seed: seed &+ 2)
        var starts: [SplitMix64] = []
        for _ in 0..<directions { starts.append(rng); rng.skip(total) }
        var picker = CoordinatePicker(sizes: sizes, count: coordinates, rng: &rng)
        var sumSquares = [Double](repeating: 0, count: directions), dots = [Double](repeating: 0, count: directions)
        var offset = 0
        guard case .float64(let state) = gradients else { preconditionFailure("the gradient check runs in float64") }
        for (ti, name) in names.enumerated() {
            // B31: each gradient is formed in the streamed layers' buffer, which holds no parameter between
            // passes (a tensor-sized array only for a dense layer or embedding larger than every LSTM layer).
            var own: [Double] = []
            let place = prepared.float64Scratch(count: sizes[ti])
            if place == nil { own = [Double](repeating: 0, count: sizes[ti]) }
            try own.withUnsafeMutableBufferPointer { (ownPlace) throws in
                let gk = place ?? ownPlace
                if let base = gk.baseAddress { try state.write(name, into: base) }
                tamper?(name, gk)
                // The directions on several threads at once, each summed in its own fixed order (B39).
                var sums = [(s: Double, d: Double)](repeating: (0, 0), count: directions)
                sums.withUnsafeMutableBufferPointer { out in
                    RowParallel.run(parts: directions, count: directions) { ks in
                        for k in ks {
                            var r = starts[k], s = 0.0, d = 0.0
                            r.skip(offset)
                            for i in 0..<gk.count { let v = r.symmetricUnit(); s += v * v; d += gk[i] * v }
                            out[k] = (s, d)
                        }
                    }
                }
                for k in 0..<directions {
                    sumSquares[k] += sums[k].s
                    dots[k] += sums[k].d
                }
                picker.visit(tensor: ti, UnsafeBufferPointer(gk))
            }
            offset += sizes[ti]
        }
        let probes = (0..<directions).map { k in
            let norm = sumSquares[k].squareRoot()
            return Direction(start: starts[k], norm: norm, slope: dots[k] / norm)
        }
        let picks = picker.picks.map(\.coordinate), picked = picker.picks.map(\.gradient)
        let atol = 1e-8 * max(1, abs(loss))
        let tolerance = Tolerance(rtol: rtol, atol: atol, basis: "gradient check: central differences in float64, step \(step), rtol \(rtol), atol 1e-8·max(1,|L|)")

        let target = t.float64Values()
        func currentLoss() throws -> Double {
            advance()
            let y = try prepared.forward(x).float64Values()
            var l = 0.0
            for k in 0..<y.count { let d = y[k] - target[k]; l += 0.5 * d * d }
            return l
        }
        /// Sets the prepared weights to θ + sign·step·d, or back to θ without a direction.
        func load(_ direction: Direction?, sign: Double) throws {
            guard let direction else { prepared.setAdjustment(nil); return }
            // θ straight from the model into the float64 copy (exact widening) as each tensor is converted, then
            // the step added in place: the same values as θ[i] + step·d[i] from a θ array, without it (B31).
            // B39: the loop `w[i] + sign * step * (r.symmetricUnit() / norm)` in a vectorized kernel, same bits.
            prepared.setAdjustment { name, start, w in
                var r = direction.start
                r.skip(offsets[name]! + start)
                DirectionStep.add(to: w, after: r, scale: sign * step, norm: direction.norm)
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

        try load(nil, sign: 0)  // θ again, after the last direction or in place of the gradients (B31)
        for ((ti, ei), an) in zip(picks, picked) {
            let v = try prepared.parameter(names[ti], at: ei)
            try prepared.setParameter(names[ti], at: ei, to: v + step)
            let lossPlus = try currentLoss()
            try prepared.setParameter(names[ti], at: ei, to: v - step)
            let fd = (lossPlus - (try currentLoss())) / (2 * step)
            try prepared.setParameter(names[ti], at: ei, to: v)
            record(fd, an, CheckResult.location(names[ti], Tensor.index(ofFlat: ei, shape: model.tensors[names[ti]]!.shape)))
        }
        progress?(ProgressUpdate(task: "gradient check", completed: passes, total: passes))
        let passed = worst.ratio <= 1
        let data = (inputs == nil ? "the probe " : "the given inputs ") + "\(x.shape)"
        let detail = "\(directions) directions and \(picks.count) coordinates on \(data), loss \(loss)"
            + (passed ? "" : "; worst: finite difference \(worst.fd) vs BPTT \(worst.an)")
        return CheckResult(name: "gradient_check", passed: passed, maxAbsError: worst.abs, maxRelError: worst.rel,
                           location: worst.location, tolerance: tolerance, detail: detail)
    }

    /// `CoordinatePicker` over whole gradient tensors (tests).
    static func pickCoordinates(_ g: [[Double]], count: Int, rng: inout SplitMix64) -> [(Int, Int)] {
        var picker = CoordinatePicker(sizes: g.map(\.count), count: count, rng: &rng)
        for (ti, values) in g.enumerated() { values.withUnsafeBufferPointer { picker.visit(tensor: ti, $0) } }
        return picker.picks.map(\.coordinate)
    }
}

/// The checked coordinates (B17): half of them drawn uniformly over all parameters first (no coordinate twice),
/// then the other half the largest |g| among the rest, found while the gradient tensors go by one at a time in
/// canonical order. Memory stays O(count) whatever the model size.
struct CoordinatePicker {
    private let random: [(tensor: Int, element: Int)]
    private var randomGradients: [Double]
    private var top: [(magnitude: Double, tensor: Int, element: Int, gradient: Double)] = []
    private let topCount: Int

    init(sizes: [Int], count: Int, rng: inout SplitMix64) {
        let total = sizes.reduce(0, +)
        let want = min(count, total)
        topCount = min(count / 2, total)
        var random: [(tensor: Int, element: Int)] = []
        while random.count < want - topCount {
            var flat = Int(rng.next() % UInt64(total))
            var ti = 0
            while flat >= sizes[ti] { flat -= sizes[ti]; ti += 1 }
            if !random.contains(where: { $0 == (ti, flat) }) { random.append((ti, flat)) }
        }
        self.random = random
        randomGradients = [Double](repeating: 0, count: random.count)
    }

    /// Gradient tensor `ti` (canonical order), C order.
    mutating func visit(tensor ti: Int, _ g: UnsafeBufferPointer<Double>) {
        var drawn: Set<Int> = []
        for (k, p) in random.enumerated() where p.tensor == ti {
            randomGradients[k] = g[p.element]
            drawn.insert(p.element)
        }
        guard topCount > 0 else { return }
        for (ei, v) in g.enumerated() where top.count < topCount || abs(v) > top[top.count - 1].magnitude {
            if drawn.contains(ei) { continue }
            if top.count == topCount { top.removeLast() }
            let k = top.firstIndex { $0.magnitude < abs(v) } ?? top.count
            top.insert((abs(v), ti, ei, v), at: k)
        }
    }

    /// The largest |g| first (descending), then the random ones in the order drawn, with their gradients.
    var picks: [(coordinate: (Int, Int), gradient: Double)] {
        top.map { (($0.tensor, $0.element), $0.gradient) } + zip(random, randomGradients).map { (($0.0.tensor, $0.0.element), $0.1) }
    }
}
