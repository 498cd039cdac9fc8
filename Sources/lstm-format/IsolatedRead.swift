import ArgumentParser
import Foundation
import LSTMFormat

/// Reads HDF5-based model files in a child process.
///
/// libhdf5 1.10 (Debian's) can crash (SIGSEGV in its global heap code) or loop forever on damaged files — see
/// `Fixtures/damaged/`. A crash in-process would take the command down with it, so for canonical `.h5`, Keras
/// `.h5` / `.weights.h5` and `.keras` inputs the command runs itself as `lstm-format __read INPUT OUT.lstm`:
/// the child parses the file and hands the model back as a temporary `.lstm` (lossless, metadata included),
/// which the parent maps and checks. If the child dies from a signal or runs past the time limit, the parent
/// reports the file as damaged, one line, exit 2. `.lstm` files are read in-process: their reader is Swift and
/// validates every byte. `LSTMFORMAT_NO_ISOLATION=1` reads everything in-process.
enum IsolatedRead {
    static var isEnabled: Bool { ProcessInfo.processInfo.environment["LSTMFORMAT_NO_ISOLATION"] != "1" }

    /// Whether the file is one libhdf5 will parse: the HDF5 signature or a zip (`.keras`).
    static func needsIsolation(_ url: URL) throws -> Bool {
        guard let probe = try? FileProbe(url: url) else { return false }  // the in-process read reports it
        return probe.starts(with: FileProbe.hdf5Signature) || probe.starts(with: FileProbe.zipSignature)
    }

    /// Seconds the child may take: 60 s plus 1 s per 10 MB of input (`LSTMFORMAT_READ_TIMEOUT` overrides).
    static func timeLimit(for url: URL) -> Double {
        if let s = ProcessInfo.processInfo.environment["LSTMFORMAT_READ_TIMEOUT"], let v = Double(s), v > 0 { return v }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        return 60 + Double(size ?? 0) / 10_000_000
    }

    static func load(_ url: URL, readArguments: [String]) throws -> (model: LSTMModel, format: any ModelFileFormat.Type) {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("lstm-format-read-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let handoff = work.appendingPathComponent("model.lstm")
        let stdoutURL = work.appendingPathComponent("stdout"), stderrURL = work.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)

        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["__read", url.relativePath, handoff.path] + readArguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"  // a libhdf5 crash is reported by the parent, in one line
        child.environment = env
        child.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        child.standardError = try FileHandle(forWritingTo: stderrURL)
        try child.run()

        let limit = timeLimit(for: url)
        let deadline = Date().addingTimeInterval(limit)
        while child.isRunning && Date() < deadline { usleep(2_000) }
        if child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            throw FileError(path: url.relativePath, underlying: IsolationProblem.timedOut(seconds: limit))
        }
        child.waitUntilExit()
        let childErrors = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        if child.terminationReason == .uncaughtSignal {
            throw FileError(path: url.relativePath, underlying: IsolationProblem.crashed(signal: child.terminationStatus))
        }
        // Notes and errors from the child are already one line each, naming the file.
        FileHandle.standardError.write(Data(childErrors.utf8))
        guard child.terminationStatus == 0 else { throw CommandFailure(message: "", code: child.terminationStatus) }
        let name = ((try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let format = try FormatRegistry.format(named: name)
        let model = try CompactFormat.decode(try Data(contentsOf: handoff), verifyChecksums: true)
        return (model, format)
    }
}

enum IsolationProblem: Error, CustomStringConvertible {
    case crashed(signal: Int32)
    case timedOut(seconds: Double)

    var description: String {
        switch self {
        case .crashed(let s): "libhdf5 crashed while reading this file (signal \(s)): the file is damaged or not valid HDF5"
        case .timedOut(let t): "reading did not finish within \(Int(t)) s (libhdf5 loops on some damaged files): the file is damaged or not valid HDF5"
        }
    }
}

/// The child side of `IsolatedRead`: reads INPUT with the in-process readers and writes it as `.lstm`.
struct IsolatedReadCommand: ToolCommand {
    static let configuration = CommandConfiguration(commandName: "__read", abstract: "Internal: read a model in a child process.", shouldDisplay: false)

    @Argument var input: String
    @Argument var output: String
    @OptionGroup var read: ModelReadOptions

    func execute() throws {
        let (model, format) = try FormatRegistry.read(URL(fileURLWithPath: input), options: try read.readOptions())
        try FormatRegistry.write(model, to: URL(fileURLWithPath: output), format: CompactFormat.self)
        print(format.name)
    }
}
