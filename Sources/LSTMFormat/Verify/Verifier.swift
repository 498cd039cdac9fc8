import Foundation

/// `lstm-format verify`: the model is well-formed (it loaded), its parameters are finite, BPTT passes a
/// gradient check, and, with golden data, the outputs (and gradients) match the expected arrays.
public enum Verifier {
    /// Golden data for a model: inputs, expected outputs, targets and expected gradients (+ optional `loss`).
    public struct Golden {
        /// Float features, or token ids for a model with an embedding (M17).
        public var inputs: ModelInput?
        public var expectedOutputs: Tensor?
        public var targets: Tensor?
        public var expectedGradients: [String: Tensor]?

        public init(inputs: Tensor? = nil, expectedOutputs: Tensor? = nil, targets: Tensor? = nil, expectedGradients: [String: Tensor]? = nil) {
            self.init(input: inputs.map(ModelInput.features), expectedOutputs: expectedOutputs, targets: targets, expectedGradients: expectedGradients)
        }

        public init(input: ModelInput?, expectedOutputs: Tensor? = nil, targets: Tensor? = nil, expectedGradients: [String: Tensor]? = nil) {
            self.inputs = input
            self.expectedOutputs = expectedOutputs
            self.targets = targets
            self.expectedGradients = expectedGradients
        }
    }

    /// Default tolerances for golden comparisons (no `tolerance` given): outputs by `ForwardTolerance` (B19a, one
    /// atol per output feature); the loss and each gradient tensor by `GradientTolerance` (B19b, one atol per tensor
    /// from its own scale). A failure of every gradient by one constant factor adds a `loss_convention` check (B19b), and on a
    /// masked model returning every step so does one factor over the unmasked steps only (B19c, one more BPTT).
    /// `progress` hears of the gradient check's forward passes (G1).
    public static func verify(_ model: LSTMModel, file: String, golden: Golden, precision: Precision, tolerance: Tolerance?,
                              progress: ProgressHandler? = nil) throws -> CheckReport {
        try LSTMNumerics.checkMemory(model.architecture, inputShape: golden.inputs?.shape ?? [ProbeData.batch, ProbeData.steps, model.architecture.inputSize])
        var checks: [CheckResult] = []
        checks.append(.fact("well_formed", passed: true, detail: "\(model.architecture.layers.count) LSTM layers, \(model.architecture.dense.count) dense, \(model.parameterCount) parameters, shapes consistent"))
        checks.append(finiteParameters(model))
        if golden.expectedOutputs != nil && golden.inputs == nil { throw VerifyError.missing("expected outputs need inputs") }
        // B16a: given inputs pass `forward`'s own validation (the same forward pass) before any check runs, and
        // the gradient check then runs on them.
        var outputs: Tensor?
        if let x = golden.inputs {
            do { outputs = try LSTMNumerics.forward(model, input: x, precision: precision) } catch {
                throw VerifyError.rejected(.inputs, String(describing: error))
            }
            if let t = golden.targets, let y = outputs, t.shape != y.shape {
                throw VerifyError.rejected(.inputsOrTargets, NumericsError.targetsShape(expected: y.shape, actual: t.shape).description)
            }
        }
        do { checks.append(try GradientCheck.run(model, inputs: golden.inputs, targets: golden.targets, progress: progress)) } catch let error as NumericsError {
            throw VerifyError.rejected(golden.targets == nil ? .inputs : .inputsOrTargets, error.description)
        }

        if let expected = golden.expectedOutputs, let y = outputs, let x = golden.inputs {
            checks.append(try outputsCheck(model, input: x, outputs: y, expected: expected, precision: precision, tolerance: tolerance))
        } else if let y = outputs {
            checks.append(finiteOutputs(y))
        }
        if let expectedGrads = golden.expectedGradients {
            guard let x = golden.inputs, let t = golden.targets else { throw VerifyError.missing("expected gradients need inputs and targets") }
            let loss: Double, y: Tensor, grads: [String: Tensor], scales: GradientTolerance.Scales?
            do {
                (loss, y, grads) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: precision)
                // B19b: without a given tolerance, each tensor's own scale (one more BPTT, for g̃).
                scales = tolerance == nil
                    ? try GradientTolerance.scales(model, input: x, targets: t, outputs: y, gradients: grads, precision: precision) : nil
            } catch {
                throw VerifyError.rejected(.inputsOrTargets, String(describing: error))
            }
            var gradientChecks: [CheckResult] = [], pairs: [LossConvention.Pair] = []
            func compare(_ name: String, subject: String, actual: Tensor, expected e: Tensor, _ tol: Tolerance) throws {
                let c = try compareArrays(name, in: .expectedGradients, subject: subject, actual: actual, expected: e, tolerance: tol)
                gradientChecks.append(c)
                pairs.append(LossConvention.Pair(subject: subject, actual: actual, expected: e, tolerance: tol))
            }
            if let l = expectedGrads["loss"] {
                // The loss is one number: 0-d as `gradients` writes it; any shape holding one value is accepted.
                guard l.shape.reduce(1, *) == 1 else { throw VerifyError.shapeMismatch(what: "loss", in: .expectedGradients, actual: [], expected: l.shape) }
                try compare("loss", subject: "loss", actual: Tensor(shape: l.shape, float64: [loss]), expected: l,
                            tolerance ?? GradientTolerance.loss(loss, scales: scales!, expected: l.dtype))
            }
            for (name, _) in model.orderedTensors {
                guard let e = expectedGrads[name], let g = grads[name] else { throw VerifyError.missingGradient(name) }
                try compare("gradient " + name, subject: name, actual: g, expected: e,
                            tolerance ?? GradientTolerance.tensor(name, scales: scales!, expected: e.dtype))
            }
            let known = Set(model.tensors.keys).union(["loss"])
            if let extra = expectedGrads.keys.sorted().first(where: { !known.contains($0) }) {
                throw VerifyError.unexpectedGradient(extra)
            }
            // B19b: correct gradients of another loss convention are named as such, before the checks they fail;
            // B19c: on a masked model returning every step, also a loss over the unmasked steps only.
            if !gradientChecks.allSatisfy(\.passed) {
                if let note = LossConvention.note(pairs, outputCount: y.elementCount) {
                    checks.append(note)
                } else if let note = try LossConvention.maskedNote(pairs, model: model, input: x, targets: t, outputs: y, precision: precision) {
                    checks.append(note)
                }
            }
            checks += gradientChecks
        }
        return CheckReport(command: "verify", files: [file], precision: precision.rawValue, checks: checks)
    }

    static func finiteParameters(_ model: LSTMModel) -> CheckResult {
        for (name, t) in model.orderedTensors {
            if let index = t.firstNonFiniteIndex() {
                return .fact("finite_parameters", passed: false, detail: "\(CheckResult.location(name, index)) is not finite")
            }
        }
        return .fact("finite_parameters", passed: true, detail: "every parameter is finite")
    }

    /// The `outputs` check: `y`, the outputs of `model` for `input` computed in `precision`, against `expected`
    /// with `tolerance`, or by default `ForwardTolerance` (B19a, one atol per output feature). Throws
    /// `VerifyError.shapeMismatch`.
    static func outputsCheck(_ model: LSTMModel, input: ModelInput, outputs y: Tensor, expected: Tensor, precision: Precision,
                             tolerance: Tolerance?) throws -> CheckResult {
        guard y.shape == expected.shape else {
            throw VerifyError.shapeMismatch(what: "outputs", in: .expectedOutputs, actual: y.shape, expected: expected.shape)
        }
        let tol = try tolerance ?? ForwardTolerance.tolerance(for: model, input: input, expected: expected, precision: precision)
        return try compareArrays("outputs", in: .expectedOutputs, actual: y, expected: expected, tolerance: tol)
    }

    /// B16a: without expected outputs, the given inputs' outputs must at least be finite.
    static func finiteOutputs(_ y: Tensor) -> CheckResult {
        if let index = y.firstNonFiniteIndex() {
            return .fact("finite_outputs", passed: false, detail: "\(CheckResult.location("outputs", index)) is not finite (outputs \(y.shape) of the given inputs)")
        }
        return .fact("finite_outputs", passed: true, detail: "every one of the \(y.elementCount) outputs \(y.shape) of the given inputs is finite")
    }

    static func compareArrays(_ name: String, in source: VerifyError.Source, subject: String? = nil, actual: Tensor, expected: Tensor, tolerance: Tolerance) throws -> CheckResult {
        guard actual.shape == expected.shape else {
            throw VerifyError.shapeMismatch(what: name, in: source, actual: actual.shape, expected: expected.shape)
        }
        let c = ArrayComparison.compare(actual: actual.float64Values(), expected: expected.float64Values(), shape: actual.shape, tolerance: tolerance)
        return CheckResult(name: name, subject: subject ?? name, comparison: c, tolerance: tolerance)
    }
}

/// Golden data that cannot be checked. `source` says which golden array is at fault, so a command can name its file.
public enum VerifyError: Error, CustomStringConvertible, Equatable {
    /// The golden array an error is about.
    public enum Source: Equatable, Sendable {
        case model, inputs, expectedOutputs, inputsOrTargets, expectedGradients
    }

    case missing(String)
    case shapeMismatch(what: String, in: Source, actual: [Int], expected: [Int])
    case missingGradient(String)
    case unexpectedGradient(String)
    /// The numerics refused the inputs (or targets): wrong feature count, empty batch, …
    case rejected(Source, String)

    public var source: Source {
        switch self {
        case .missing: .model
        case .shapeMismatch(_, let source, _, _), .rejected(let source, _): source
        case .missingGradient, .unexpectedGradient: .expectedGradients
        }
    }

    public var description: String {
        switch self {
        case .missing(let why): why
        case .shapeMismatch(let w, _, let a, let e): "\(w): computed shape \(a) but the expected array has shape \(e)"
        case .missingGradient(let name): "the expected gradients have no array '\(name)'"
        case .unexpectedGradient(let name): "the expected gradients have an array '\(name)' that is not a tensor of this model"
        case .rejected(_, let why): why
        }
    }
}
