/// Something the caller can supply or change to get past an error or a note, in library terms
/// (`Spec/layout.md`, O4). The library's messages end with `libraryText`; the command line renders the same
/// hint as its flag (`--config`, `--architecture`, `--to`, `--dtype`, `--inputs`).
public enum CallerHint: Sendable, Equatable {
    /// The model's Keras JSON config (`KerasReadOptions.config`).
    case kerasConfig
    /// The canonical architecture (`ReadOptions.architecture`).
    case architecture
    /// An explicit output format (`FormatRegistry.write(format:)`).
    case outputFormat
    /// Tensors converted to this dtype first (`LSTMModel.converted(to:)`).
    case dtype(DType)
    /// Inputs for the expected outputs or gradients.
    case inputs
    /// Which entry of a container holds the model (e.g. a key of a checkpoint dict).
    case key

    public var libraryText: String {
        switch self {
        case .kerasConfig: "give the model's Keras JSON config"
        case .architecture: "give the model's architecture"
        case .outputFormat: "name the output format"
        case .dtype(let d): "convert the tensors to \(d.rawValue) first (exact)"
        case .inputs: "give the inputs"
        case .key: "name the entry that holds the weights"
        }
    }
}

/// An error whose message is a problem plus, optionally, what the caller can supply (`CallerHint`). Its
/// `description` uses the library's words; the command line replaces the hint with its flag.
public protocol HintedError: Error, CustomStringConvertible {
    /// What is wrong, without advice.
    var problem: String { get }
    var hint: CallerHint? { get }
}

extension HintedError {
    public var description: String { hint.map { "\(problem); \($0.libraryText)" } ?? problem }
}
