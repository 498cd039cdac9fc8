import Foundation
import Testing

/// The Python the interop tests start (the pinned venv, `LSTMFORMAT_PYTHON`) and the switch that skips them:
/// tests that start Python take `.enabled(if: TestPython.enabled, …)`, so a skipped run reports them as skipped,
/// never as passed.
enum TestPython {
    static let path = ProcessInfo.processInfo.environment["LSTMFORMAT_PYTHON"] ?? "/root/.cache/lstm-format/venv/bin/python"
    static let enabled = ProcessInfo.processInfo.environment["LSTMFORMAT_SKIP_PYTHON"] != "1"

    /// Runs Python with `arguments` (stderr discarded) for a checker script that prints one exit code per job on a
    /// last line `CODES [..]`; returns those codes and the whole output, or records an issue naming `label` and
    /// returns no codes.
    static func runCodes(_ arguments: [String], label: String) throws -> (codes: [Int], output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("CODES ") }),
              let codes = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [Int] else {
            Issue.record("no result from \(label) (output: \(text.suffix(500)))")
            return ([], text)
        }
        return (codes, text)
    }
}
