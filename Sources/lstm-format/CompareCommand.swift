import ArgumentParser
import Foundation
import LSTMFormat

struct CompareCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Check that two model files compute the same thing: architecture, parameters, outputs and gradients.",
        discussion: """
            The models may be in any supported formats. Both run the probe (or --inputs) in --precision \
            (default float64 here). Default tolerance: exact (bitwise) when every tensor has the same dtype in \
            both models — a lossless conversion must reproduce every bit; otherwise derived from the lower \
            precision's unit roundoff u (parameters: one rounding, rtol u; outputs and gradients: rtol 64u, atol \
            64u·max|x|), stated in the report. Exit 0 same numerics, 1 different, 2 on errors.
            """
    )

    @Argument(help: "The first model file.")
    var a: String

    @Argument(help: "The second model file.")
    var b: String

    @Option(help: "Inputs X (.npy) to run through both models instead of the probe.")
    var inputs: String?

    @Option(help: "Arithmetic precision: float32 or float64.")
    var precision: Precision = .float64

    @OptionGroup var check: CheckOptions
    @OptionGroup var read: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func execute() throws {
        let (ma, _) = try read.load(a)
        let x = try inputs.map { try readModelInput($0, for: ma.architecture) }
        // B31: model a's forward + BPTT before model b is read, and each model handed over with its last use, so
        // that at most one model and one float64 copy (or the two models) are held at a time. A failure here is
        // left to `compare`, which reports it where it always did (after the architecture check).
        let ra = try? Comparer.run(ma, input: x, precision: precision, file: a, progress: Progress.shared.handler)
        let (mb, _) = try read.load(b)
        let report: CheckReport
        do {
            report = try Comparer.compare(consume ma, run: ra, consume mb, files: [a, b], input: x, precision: precision,
                                          tolerance: check.tolerance, progress: Progress.shared.handler)
        } catch {
            throw FileError(path: inputs ?? a, underlying: error)
        }
        Progress.shared.finish()
        try check.finish(report)
    }
}
