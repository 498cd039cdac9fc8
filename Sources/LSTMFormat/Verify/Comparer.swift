import Foundation

/// `lstm-format compare`: do two models compute the same thing?
///
/// Architecture first (it must be equal), then every parameter, then the probe (or given inputs) through both:
/// outputs, loss and the gradient of every tensor. The default tolerance is exact — bitwise-equal values — when
/// every tensor has the same dtype in both models, since a lossless conversion must reproduce every bit.
/// When dtypes differ it is derived from the lower precision (`Tolerance.derived`); parameters then get one
/// rounding's worth: rtol = u, atol = u·max|x|; outputs get one atol per output feature, 64u·s_j with s_j
/// `OutputScale.perFeature` of model b (B19a's scale).
public enum Comparer {
    public static func compare(_ a: LSTMModel, _ b: LSTMModel, files: [String], inputs: Tensor?, precision: Precision, tolerance given: Tolerance?) throws -> CheckReport {
        try compare(a, b, files: files, input: inputs.map(ModelInput.features), precision: precision, tolerance: given)
    }

    /// The same with float features or token ids; without `input`, `ProbeData.input` (padded for a masked model).
    /// `progress` hears of the parameters compared and of each model's forward + BPTT (G1).
    public static func compare(_ a: consuming LSTMModel, _ b: consuming LSTMModel, files: [String], input: ModelInput?, precision: Precision,
                               tolerance given: Tolerance?, progress: ProgressHandler? = nil) throws -> CheckReport {
        try compare(consume a, run: nil, consume b, files: files, input: input, precision: precision, tolerance: given, progress: progress)
    }

    /// Model `a`'s outputs, loss and gradients (formed one tensor at a time, B30) on `input` — or the probe —
    /// in `precision`, for `compare(_:run:_:...)`. Made before the other model is read, so that a caller holds
    /// at most one model and one float64 copy at a time (`Spec/bptt.md` B31).
    public struct Run {
        let architecture: ModelArchitecture
        let precision: Precision
        let loss: Double
        let outputs: Tensor
        let gradients: TensorGradients
    }

    /// `a`'s forward + BPTT for a later `compare(a, run:, b, ...)` with the same `input` and `precision`.
    /// The float64 (or float32) copy of `a` is dropped before this returns. Throws what `compare` would.
    public static func run(_ a: LSTMModel, input: ModelInput?, precision: Precision, file: String = "a",
                           progress: ProgressHandler? = nil) throws -> Run {
        let probeShape = input?.shape ?? [ProbeData.batch, ProbeData.steps, a.architecture.inputSize]
        try LSTMNumerics.checkMemory(a.architecture, batch: probeShape.first ?? 0, steps: probeShape.dropFirst().first ?? 0)
        progress?(ProgressUpdate(task: "gradients of \(file)", completed: 0, total: 1))
        let x = input ?? ProbeData.input(for: a.architecture)
        let t = ProbeData.targets(for: a.architecture, batch: x.shape[0], steps: x.shape[1])
        let r = try PreparedModel(a, precision: precision, transposedU: false, streamed: true).gradientsByTensor(x, targets: t)
        return Run(architecture: a.architecture, precision: precision, loss: r.loss, outputs: r.outputs, gradients: r.gradients)
    }

    /// `compare` with model `a`'s forward + BPTT already made by `run(a, input: input, precision: precision)`
    /// (nil: made here). Memory (B31): `a` is dropped once the parameters are compared, before `b`'s float64
    /// copy is made, so a caller that passes its last reference to each model (`consume`) and made `ra` before
    /// reading `b` holds at most one model and one float64 copy, or both models without a copy, at a time.
    public static func compare(_ a: consuming LSTMModel, run ra: Run?, _ b: consuming LSTMModel, files: [String], input: ModelInput?,
                               precision: Precision, tolerance given: Tolerance?, progress: ProgressHandler? = nil) throws -> CheckReport {
        guard a.architecture == b.architecture else {
            return CheckReport(command: "compare", files: files, precision: precision.rawValue,
                               checks: [.fact("architecture", passed: false, detail: architectureDifference(a.architecture, b.architecture))])
        }
        precondition(ra.map { $0.architecture == a.architecture && $0.precision == precision } ?? true, "a run of another model or precision")
        let probeShape = input?.shape ?? [ProbeData.batch, ProbeData.steps, a.architecture.inputSize]
        try LSTMNumerics.checkMemory(a.architecture, batch: probeShape.first ?? 0, steps: 2 * (probeShape.dropFirst().first ?? 0))  // both models
        var checks: [CheckResult] = [.fact("architecture", passed: true, detail: "equal")]
        let sameDTypes = a.tensors.allSatisfy { $0.value.dtype == b.tensors[$0.key]!.dtype }
        let lower = (a.dtypes + b.dtypes).min { $0.significandBits < $1.significandBits } ?? .float32

        func tolerance(scale: Double, oneRounding: Bool) -> Tolerance {
            if let given { return given }
            if sameDTypes { return .exact }
            if oneRounding {
                let u = lower.unitRoundoff
                return Tolerance(rtol: u, atol: u * scale, basis: "parameters: one rounding to \(lower.rawValue): rtol = u, atol = u·max|x|, u = \(u)")
            }
            return .derived(lowerPrecision: lower, scale: scale)
        }

        // G1: one unit per parameter tensor, per model's forward + BPTT and per gradient tensor.
        let tensors = a.orderedTensors.map { (name: $0.name, shape: $0.tensor.shape) }
        let tensorCount = tensors.count, units = 2 * tensorCount + 2
        func report(_ task: String, _ done: Int) { progress?(ProgressUpdate(task: task, completed: done, total: units)) }
        for (k, (name, ta)) in a.orderedTensors.enumerated() {
            report("comparing parameters", k)
            let va = ta.float64Values(), vb = b.tensors[name]!.float64Values()
            let scale = vb.reduce(0) { max($0, abs($1)) }
            let tol = tolerance(scale: scale, oneRounding: true)
            let c = ArrayComparison.compare(actual: va, expected: vb, shape: ta.shape, tolerance: tol)
            checks.append(CheckResult(name: "parameter " + name, subject: name, comparison: c, tolerance: tol))
        }

        let x = input ?? ProbeData.input(for: a.architecture)
        let t = ProbeData.targets(for: a.architecture, batch: x.shape[0], steps: x.shape[1])
        // One float64 (or float32) copy of one model at a time: each engine is dropped once its forward + BPTT
        // ran, keeping only what forms its gradients one tensor at a time (B30); `a` goes before `b`'s copy (B31).
        report("gradients of \(files.first ?? "a")", tensorCount)
        let runA = try ra ?? run(a, input: x, precision: precision)
        _ = consume a
        report("gradients of \(files.dropFirst().first ?? "b")", tensorCount + 1)
        // B19a's per-feature scale for the outputs (from b's head; before b's float64 copy, one copy at a time).
        let derivesOutputs = given == nil && !sameDTypes
        let headScales = derivesOutputs ? try OutputScale.ofHead(b, input: x, precision: precision) : nil
        let rb = try PreparedModel(b, precision: precision, transposedU: false, streamed: true).gradientsByTensor(x, targets: t)
        /// One check of `ea` against `eb`: with `tolerance` given, that one; else `tolerance(scale: max|eb|, …)`.
        func add(_ name: String, subject: String, shape: [Int], _ ea: [Double], _ eb: [Double], tolerance given: Tolerance? = nil) {
            let tol = given ?? tolerance(scale: eb.reduce(0) { max($0, abs($1)) }, oneRounding: false)
            checks.append(CheckResult(name: name, subject: subject, comparison: ArrayComparison.compare(actual: ea, expected: eb, shape: shape, tolerance: tol), tolerance: tol))
        }
        // A large output feature does not widen the atol of the small ones (B19a's s_j).
        add("outputs", subject: "outputs", shape: runA.outputs.shape, runA.outputs.float64Values(), rb.outputs.float64Values(),
            tolerance: derivesOutputs
                ? Tolerance.derived(lowerPrecision: lower, scales: headScales ?? OutputScale.expectedMagnitude(rb.outputs))
                : tolerance(scale: 0, oneRounding: false))
        add("loss", subject: "loss", shape: [], [runA.loss], [rb.loss])
        for (k, (name, shape)) in tensors.enumerated() {
            report("comparing gradients", tensorCount + 2 + k)
            add("gradient " + name, subject: name, shape: shape, try runA.gradients.float64Values(name), try rb.gradients.float64Values(name))
        }
        report("comparing gradients", units)
        return CheckReport(command: "compare", files: files, precision: precision.rawValue, checks: checks)
    }

    static func architectureDifference(_ a: ModelArchitecture, _ b: ModelArchitecture) -> String {
        if a.layers.count != b.layers.count { return "\(a.layers.count) LSTM layers vs \(b.layers.count)" }
        for k in a.layers.indices where a.layers[k] != b.layers[k] {
            return "lstm.\(k) differs: \(describe(a.layers[k])) vs \(describe(b.layers[k]))"
        }
        if a.returnSequences != b.returnSequences { return "return_sequences \(a.returnSequences) vs \(b.returnSequences)" }
        if a.embedding != b.embedding { return "embedding \(String(describing: a.embedding)) vs \(String(describing: b.embedding))" }
        if a.maskValue != b.maskValue { return "mask value \(String(describing: a.maskValue)) vs \(String(describing: b.maskValue))" }
        if a.dense.count != b.dense.count { return "\(a.dense.count) dense layers vs \(b.dense.count)" }
        for k in a.dense.indices where a.dense[k] != b.dense[k] {
            let (x, y) = (a.dense[k], b.dense[k])
            return "dense.\(k) differs: \(x.inputSize)->\(x.outputSize) \(x.activation.rawValue) vs \(y.inputSize)->\(y.outputSize) \(y.activation.rawValue)"
        }
        return "architectures differ"
    }

    static func describe(_ l: LSTMLayerSpec) -> String {
        "\(l.direction.rawValue)\(l.mergeMode.map { "/" + $0.rawValue } ?? "") \(l.inputSize)->\(l.hiddenSize) \(l.gateActivation.rawValue)/\(l.cellActivation.rawValue)"
            + (l.zeroOutputForMask ? " zero_output_for_mask" : "")
    }
}
