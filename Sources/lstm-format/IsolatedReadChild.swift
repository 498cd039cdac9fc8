import CSystemShim
import Foundation
import LSTMFormat

/// The child side of `IsolatedRead`: reads INPUT with the in-process readers and writes it as `.lstm` bytes (or
/// its outline as JSON), then the reader's notes, then a 64-byte trailer naming the format and the notes' byte
/// count, to standard output (the parent's unnamed file). It prints no note itself (`Spec/reliability.md` E2).
///
/// Its command line is the one `IsolatedRead.run` builds, `__read INPUT --time-limit S --parent PID
/// [--output-label OUTPUT] [--outline] [READ OPTIONS] [--quiet]`, parsed here by hand: `Main` hands it over before
/// ArgumentParser runs, whose first parse of the command tree costs more than the read of a small file
/// (`Spec/reliability.md` P3). Errors are reported as any command's are: one line, exit 2 (64 for a malformed
/// command line).
struct IsolatedReadChild {
    static let commandName = "__read"

    var input: String
    var timeLimit: UInt32
    var parent: Int32
    /// The output the hand-off becomes (P2): named in a write error ("No space left on device").
    var outputLabel: String?
    /// Hand back the outline (JSON) instead of the model: `inspect` (M3).
    var outline = false
    var read = ReadRequest()
    var quiet = false

    /// Parses the arguments after `__read`.
    init(arguments: [String]) throws {
        // INPUT is always the first argument (the parent puts it there), whatever it looks like: a file named
        // `--m.keras` is a file, not an option.
        guard let first = arguments.first else { throw UsageProblem("\(Self.commandName): missing INPUT") }
        input = first
        var timeLimit: UInt32?, parent: Int32?
        var i = 1
        func value() throws -> String {
            guard i + 1 < arguments.count else { throw UsageProblem("\(Self.commandName): \(arguments[i]) needs a value") }
            i += 1
            return arguments[i]
        }
        while i < arguments.count {
            if try read.take(arguments, at: &i) { continue }
            switch arguments[i] {
            case "--time-limit":
                let text = try value()
                guard let v = UInt32(text) else { throw UsageProblem("\(Self.commandName): --time-limit '\(text)' is not a number of seconds") }
                timeLimit = v
            case "--parent":
                let text = try value()
                guard let v = Int32(text) else { throw UsageProblem("\(Self.commandName): --parent '\(text)' is not a process id") }
                parent = v
            case "--output-label": outputLabel = try value()
            case "--outline": outline = true
            case "--quiet": quiet = true
            default: throw UsageProblem("\(Self.commandName): unexpected argument '\(arguments[i])'")
            }
            i += 1
        }
        guard let timeLimit, let parent else { throw UsageProblem("\(Self.commandName): --time-limit and --parent are required") }
        self.timeLimit = timeLimit
        self.parent = parent
    }

    /// Runs the child for `arguments` (those after `__read`) and exits with its status.
    static func main(_ arguments: [String]) -> Never {
        do {
            let child = try IsolatedReadChild(arguments: arguments)  // the parent checked the environment (U2)
            Progress.shared.configure(quiet: child.quiet)
            do {
                defer { Progress.shared.finish() }
                try child.execute()
            }
            exit(ExitStatus.success)
        } catch let usage as UsageProblem {
            Progress.shared.line("lstm-format: \(usage.description)")
            exit(64)
        } catch let failure as CommandFailure {
            if !failure.message.isEmpty { Progress.shared.line("lstm-format: \(failure.message)") }
            exit(failure.code)
        } catch {
            Progress.shared.line("lstm-format: \(CLIHints.message(error))")
            exit(ExitStatus.failure)
        }
    }

    func execute() throws {
        _ = lstm_set_parent_death_signal(SIGKILL)
        guard getppid() == parent else { Foundation.exit(ExitStatus.failure) }  // the parent died before the line above
        alarm(timeLimit)
        let url = URL(fileURLWithPath: input)
        if outline {
            let (outline, format) = try FormatRegistry.readOutline(url, options: try read.readOptions())
            try AtomicFile.writeAll(try JSONEncoder().encode(outline) + Self.notesAndTrailer(format), toDescriptor: STDOUT_FILENO)
            return
        }
        let (model, format) = try FormatRegistry.read(url, options: try read.readOptions())
        do {
            try CompactFormat.write(model, toDescriptor: STDOUT_FILENO)
            try AtomicFile.writeAll(Self.notesAndTrailer(format), toDescriptor: STDOUT_FILENO)
        } catch {
            guard let outputLabel else { throw error }
            throw FileError(path: outputLabel, underlying: error)
        }
    }

    /// The held notes (E2), then the trailer: the tag, the format's name, the notes' byte count, spaces up to 64 bytes.
    private static func notesAndTrailer(_ format: any ModelFileFormat.Type) -> Data {
        // From a byte array, not `Data(String.UTF8View)`: that generic initialiser's cast costs a protocol-conformance
        // scan of the whole binary (Spec/reliability.md P3).
        let notes = HeldNotes.shared.takeBytes()
        var trailer = Array((IsolatedRead.tag + format.name + " \(notes.count)").utf8)
        trailer += repeatElement(0x20, count: IsolatedRead.trailerLength - trailer.count)
        let bytes = notes + trailer
        return bytes.withUnsafeBytes { Data(bytes: $0.baseAddress!, count: $0.count) }
    }
}
