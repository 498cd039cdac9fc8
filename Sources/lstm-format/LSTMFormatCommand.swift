import ArgumentParser
import LSTMFormat

struct LSTMFormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm-format",
        abstract: "Inspect, convert and verify LSTM model files (Keras, PyTorch, ONNX, HDF5, .lstm).",
        discussion: """
            Exit codes: 0 success; 1 a numerical check failed (verify, compare); 2 an input or output problem \
            (unreadable, malformed or refused file); 64 a usage mistake.
            """,
        subcommands: [InspectCommand.self, ConvertCommand.self, ForwardCommand.self, GradientsCommand.self, VerifyCommand.self, CompareCommand.self]
    )
}
