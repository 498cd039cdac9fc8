import ArgumentParser
import Foundation
import LSTMFormat

struct GradientsCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradients",
        abstract: "Compute the loss (eq. 8.25) and its exact BPTT gradients; write them as .npz.",
        discussion: """
            The .npz (numpy savez layout) holds one array per canonical tensor name (lstm.0.fwd.W_f, …, \
            dense.0.c; embedding.E for a model with an embedding), shaped like the tensor, plus `loss` (0-d). L = Σ ½ (y − Y)² over batch, steps and \
            outputs (many-to-one: the last step only).
            """
    )

    @Argument(help: "The model file (any supported format).")
    var model: String

    @Option(help: "Inputs X, a .npy of shape (batch, steps, features), or integer token ids (batch, steps).")
    var inputs: String

    @Option(help: "Targets Y, a .npy shaped like the model's outputs.")
    var targets: String

    @Option(help: "Where to write the gradients (.npz).")
    var output: String

    @OptionGroup var numeric: PrecisionOptions
    @OptionGroup var read: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func validate() throws {
        try refuseOtherArraySuffix(output, writes: ".npz", option: "--output")
    }

    func execute() throws {
        let (m, _) = try read.load(model)
        let x = try readModelInput(inputs, for: m.architecture), t = try readFiniteArray(targets, role: "targets")
        let result: (loss: Double, outputs: Tensor, gradients: [String: Tensor])
        Progress.shared.phase("forward pass and BPTT")
        do {
            result = try LSTMNumerics.gradients(m, input: x, targets: t, precision: numeric.precision)
        } catch {
            throw FileError(path: "\(inputs), \(targets)", underlying: error)
        }
        let lossTensor = numeric.precision == .float64
            ? Tensor(shape: [], float64: [result.loss])
            : Tensor(shape: [], float32: [Float(result.loss)])
        let arrays = m.orderedTensors.map { (name: $0.name, tensor: result.gradients[$0.name]!) } + [(name: "loss", tensor: lossTensor)]
        try NumPy.writeNPZ(arrays, to: URL(fileURLWithPath: output))
    }
}
