import ArgumentParser
import LSTMFormat

@main
struct LSTMFormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lstm-format",
        abstract: "Inspect, convert and verify LSTM model files (Keras, HDF5, .lstm).",
        subcommands: []
    )
}
