import ArgumentParser
import Foundation
import LSTMFormat

struct ForwardCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the forward pass (eq. 8.24) and write the outputs as .npy.",
        discussion: """
            X is (batch, steps, features), float16, float32 or float64 .npy — or, for a model with an embedding, integer \
            token ids (batch, steps), int32 or int64; masked steps follow Keras (Spec/canonical-model.md M17–M22). Y is (batch, steps, out) for many-to-many \
            models and (batch, out) for many-to-one, float32 (float64 with --precision float64).
            """
    )

    @Argument(help: "The model file (any supported format).")
    var model: String

    @Option(help: "Inputs X, a .npy of shape (batch, steps, features), or integer token ids (batch, steps).")
    var inputs: String

    @Option(help: "Where to write the outputs Y (.npy).")
    var output: String

    @OptionGroup var numeric: PrecisionOptions
    @OptionGroup var read: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func validate() throws {
        try refuseOtherArraySuffix(output, writes: ".npy", option: "--output")
    }

    func execute() throws {
        let (m, _) = try read.load(model)
        let x = try readModelInput(inputs, for: m.architecture)
        let y: Tensor
        Progress.shared.phase("forward pass")
        do { y = try LSTMNumerics.forward(m, input: x, precision: numeric.precision) } catch { throw FileError(path: inputs, underlying: error) }
        try NumPy.writeNPY(y, to: URL(fileURLWithPath: output))
    }
}
