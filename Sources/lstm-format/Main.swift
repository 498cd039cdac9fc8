import ArgumentParser
import Foundation
import CSystemShim
import LSTMFormat

/// Exit codes (README, "Exit codes"): 0 success, 1 a numerical check failed, 2 an input or output problem
/// (unreadable, malformed or refused file), 64 a usage mistake.
enum ExitStatus {
    static let success: Int32 = 0
    static let checkFailed: Int32 = 1
    static let failure: Int32 = 2
}

/// A runtime failure: printed as one line on stderr, then the process exits with `code`.
struct CommandFailure: Error {
    let message: String
    let code: Int32
}

/// Commands implement `execute()`; any error it throws becomes a one-line message and exit code 2. The notes held
/// meanwhile are printed only when `execute()` returns (or by `CheckOptions.finish` after a report): E2.
protocol ToolCommand: ParsableCommand {
    /// `--quiet` (G1): every command has it.
    var display: DisplayOptions { get }
    func execute() throws
}

extension ToolCommand {
    func run() throws {
        Progress.shared.configure(quiet: display.quiet)
        defer { Progress.shared.finish() }
        do {
            try execute()
            HeldNotes.shared.print()
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(message: CLIHints.message(error), code: ExitStatus.failure)
        }
    }
}

@main
struct Main {
    static func main() {
        lstm_unblock_termination_signals()  // before any thread starts, so every thread inherits it
        let arguments = Array(CommandLine.arguments.dropFirst())
        // The isolated read's child (IsolatedRead.swift) parses its own, fixed command line (Spec/reliability.md P3).
        if arguments.first == IsolatedReadChild.commandName { IsolatedReadChild.main(Array(arguments.dropFirst())) }
        do {
            try RepeatedOptions.check(arguments)
            var command = try LSTMFormatCommand.parseAsRoot(arguments)
            try EnvironmentSettings.check()
            try command.run()
        } catch let failure as CommandFailure {
            if !failure.message.isEmpty {
                Progress.shared.line("lstm-format: \(failure.message)")
            }
            exit(failure.code)
        } catch {
            // Help and version requests print as ArgumentParser prints them; usage mistakes become one line.
            let code = LSTMFormatCommand.exitCode(for: error)
            guard code != .success else { LSTMFormatCommand.exit(withError: error) }
            let message = LSTMFormatCommand.message(for: error)
                .split(separator: "\n").first.map(String.init) ?? "usage error"
            Progress.shared.line("lstm-format: \(message) (see 'lstm-format help')")
            exit(code.rawValue)
        }
    }
}
