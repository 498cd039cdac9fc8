import LSTMFormat

/// The command line's words for what the library asks a caller to supply (`CallerHint`): each hint names the
/// flag that supplies it. Errors and notes from the library are printed through here.
enum CLIHints {
    static func text(_ hint: CallerHint) -> String {
        switch hint {
        case .kerasConfig: "pass the model's Keras JSON config with --config"
        case .architecture: "pass the architecture with --architecture FILE.json (the \"architecture\" object of inspect --json)"
        case .outputFormat: "pass --to"
        case .dtype(let d): "convert with --dtype \(d.rawValue) (exact)"
        case .inputs: "pass --inputs"
        case .key: "pass --key"
        }
    }

    /// The one-line message for an error, with library hints replaced by flags.
    static func message(_ error: any Error) -> String {
        let text: String
        if let file = error as? FileError {
            text = "\(file.path): \(message(file.underlying))"
        } else if let hinted = error as? any HintedError, let hint = hinted.hint {
            text = "\(hinted.problem); \(Self.text(hint))"
        } else {
            text = String(describing: error)
        }
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
