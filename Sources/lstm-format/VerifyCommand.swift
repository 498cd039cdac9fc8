import ArgumentParser
import Foundation
import LSTMFormat

struct VerifyCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that a model is sound: well-formed, finite, BPTT agrees with finite differences, and (with golden data) outputs and gradients match.",
        discussion: """
            Always: the model loads and is well-formed, every parameter is finite, and a gradient check passes \
            (BPTT against central finite differences in float64 along random directions and sampled \
            coordinates) on a deterministic probe, or on --inputs when given: those are checked as `forward` \
            checks them, and without --expect their outputs must be finite. With --inputs and --expect: the \
            outputs against the expected array (default derived from rounding, Spec/bptt.md B19a: \
            rtol u_e + 8u, atol 8u·√N·s_j per output feature j, N the rounded operations behind one output, \
            s_j the feature's own scale; the report gives N and the atols). With --targets and --expect-gradients: the loss and every \
            gradient against the expected .npz of L = Σ ½ (y − t)² (default derived per tensor, Spec/bptt.md B19b: \
            rtol u_e + 8u, atol 8u·√N·S_θ, S_θ the tensor's own scale; gradients of a mean loss such as PyTorch's \
            MSELoss() are 2/n of ours, and the report names such a factor). \
            Exit 0 when every check passes, 1 when a numerical check fails, 2 on errors.
            """
    )

    @Argument(help: "The model file (any supported format).")
    var model: String

    @Option(help: "Inputs X (.npy), as `forward` takes them: the gradient check runs on them instead of the probe, and --expect compares their outputs.")
    var inputs: String?

    @Option(help: "Expected outputs (.npy) for --inputs.")
    var expect: String?

    @Option(help: "Targets (.npy) for the gradient golden check.")
    var targets: String?

    @Option(name: .customLong("expect-gradients"), help: "Expected gradients (.npz, as written by `gradients`).")
    var expectGradients: String?

    @OptionGroup var numeric: PrecisionOptions
    @OptionGroup var check: CheckOptions
    @OptionGroup var read: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func validate() throws {
        if expect != nil && inputs == nil { throw ValidationError("--expect needs --inputs") }
        if expectGradients != nil && (inputs == nil || targets == nil) { throw ValidationError("--expect-gradients needs --inputs and --targets") }
        if targets != nil && expectGradients == nil { throw ValidationError("--targets is used with --expect-gradients") }
    }

    func execute() throws {
        let (m, _) = try read.load(model)
        let golden = Verifier.Golden(
            input: try inputs.map { try readModelInput($0, for: m.architecture) },
            expectedOutputs: try expect.map(readArray),
            targets: try targets.map { try readFiniteArray($0, role: "targets") },
            expectedGradients: try expectGradients.map { try NumPy.readNPZ(URL(fileURLWithPath: $0)) })
        let report: CheckReport
        do {
            report = try Verifier.verify(m, file: model, golden: golden, precision: numeric.precision, tolerance: check.tolerance,
                                           progress: Progress.shared.handler)
        } catch let error as VerifyError {
            throw FileError(path: path(of: error.source), underlying: error)
        } catch {
            throw FileError(path: model, underlying: error)
        }
        Progress.shared.finish()
        try check.finish(report)
    }

    /// The file a golden-data error is about, so the one-line error names the file to fix.
    func path(of source: VerifyError.Source) -> String {
        switch source {
        case .model: model
        case .inputs: inputs ?? model
        case .expectedOutputs: expect ?? model
        case .inputsOrTargets: [inputs, targets].compactMap { $0 }.joined(separator: ", ")
        case .expectedGradients: expectGradients ?? model
        }
    }
}
