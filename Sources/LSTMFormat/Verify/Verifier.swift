import Foundation

/// `lstm-format verify`: the model is well-formed (it loaded), its parameters are finite, BPTT passes a
/// gradient check, and, with golden data, the outputs (and gradients) match the expected arrays.
public enum Verifier {
    /// Golden data for a model: inputs, expected outputs, targets and expected gradients (+ optional `loss`).
    public struct Golden {
        public var inputs: Tensor?
        public var expectedOutputs: Tensor?
        public var targets: Tensor?
        public var expectedGradients: [String: Tensor]?

        public init(inputs: Tensor? = nil, expectedOutputs: Tensor? = nil, targets: Tensor? = nil, expectedGradients: [String: Tensor]? = nil) {
            self.inputs = inputs
            self.expectedOutputs = expectedOutputs
            self.targets = targets
            self.expectedGradients = expectedGradients
        }
    }

    /// Default tolerances for golden comparisons: outputs rtol 1e-5, atol 1e-6; gradients and loss rtol 1e-4,
    /// atol 1e-5 (float32 arithmetic of another implementation differs in the last bits).
    public static let defaultOutputTolerance = Tolerance(rtol: 1e-5, atol: 1e-6, basis: "default for outputs: rtol 1e-5, atol 1e-6")
    public static let defaultGradientTolerance = Tolerance(rtol: 1e-4, atol: 1e-5, basis: "default for gradients and loss: rtol 1e-4, atol 1e-5")

    public static func verify(_ model: LSTMModel, file: String, golden: Golden, precision: Precision, tolerance: Tolerance?) throws -> CheckReport {
        var checks: [CheckResult] = []
        checks.append(.fact("well_formed", passed: true, detail: "\(model.architecture.layers.count) LSTM layers, \(model.architecture.dense.count) dense, \(model.parameterCount) parameters, shapes consistent"))
        checks.append(finiteParameters(model))
        checks.append(try GradientCheck.run(model))

        if let expected = golden.expectedOutputs {
            guard let x = golden.inputs else { throw VerifyError.missing("--expect needs --inputs") }
            let y = try LSTMNumerics.forward(model, inputs: x, precision: precision)
            checks.append(try compareArrays("outputs", actual: y, expected: expected, tolerance: tolerance ?? defaultOutputTolerance))
        }
        if let expectedGrads = golden.expectedGradients {
            guard let x = golden.inputs, let t = golden.targets else { throw VerifyError.missing("--expect-gradients needs --inputs and --targets") }
            let (loss, _, grads) = try LSTMNumerics.gradients(model, inputs: x, targets: t, precision: precision)
            let tol = tolerance ?? defaultGradientTolerance
            if let l = expectedGrads["loss"] {
                checks.append(try compareArrays("loss", actual: Tensor(shape: l.shape, float64: [loss]), expected: l, tolerance: tol))
            }
            for (name, _) in model.orderedTensors {
                guard let e = expectedGrads[name] else { throw VerifyError.missing("the expected gradients have no array '\(name)'") }
                checks.append(try compareArrays("gradient " + name, subject: name, actual: grads[name]!, expected: e, tolerance: tol))
            }
            let known = Set(model.tensors.keys).union(["loss"])
            if let extra = expectedGrads.keys.sorted().first(where: { !known.contains($0) }) {
                throw VerifyError.missing("the expected gradients have an array '\(extra)' that is not a tensor of this model")
            }
        }
        return CheckReport(command: "verify", files: [file], precision: precision.rawValue, checks: checks)
    }

    static func finiteParameters(_ model: LSTMModel) -> CheckResult {
        for (name, t) in model.orderedTensors {
            if let k = t.float64Values().firstIndex(where: { !$0.isFinite }) {
                let idx = ArrayComparison.unflatten(k, t.shape).map(String.init).joined(separator: ", ")
                return .fact("finite_parameters", passed: false, detail: "\(name)[\(idx)] is not finite")
            }
        }
        return .fact("finite_parameters", passed: true, detail: "every parameter is finite")
    }

    static func compareArrays(_ name: String, subject: String? = nil, actual: Tensor, expected: Tensor, tolerance: Tolerance) throws -> CheckResult {
        guard actual.shape == expected.shape else {
            throw VerifyError.shapeMismatch(what: name, actual: actual.shape, expected: expected.shape)
        }
        let c = ArrayComparison.compare(actual: actual.float64Values(), expected: expected.float64Values(), shape: actual.shape, tolerance: tolerance)
        return CheckResult(name: name, subject: subject ?? name, comparison: c, tolerance: tolerance)
    }
}

public enum VerifyError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case shapeMismatch(what: String, actual: [Int], expected: [Int])

    public var description: String {
        switch self {
        case .missing(let why): why
        case .shapeMismatch(let w, let a, let e): "\(w): computed shape \(a) but the expected array has shape \(e)"
        }
    }
}
