import Foundation
import Testing

/// `Spec/reliability.md` G1: progress on stderr only when it is a terminal and `--quiet` is absent; every
/// command accepts `--quiet`.
@Suite(.serialized) struct ProgressCLITests {
    let demo = FixturePaths.fixture("demo/model.h5").path
    /// The erase-line sequence every progress redraw starts with.
    static let redraw = "\r\u{1B}[Klstm-format: "

    /// util-linux `script` runs a command on a pseudo-terminal (Debian's bsdutils, an essential package).
    static let script = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `lstm-format ARGS` with stdout and stderr on a pseudo-terminal; returns what the terminal showed.
    static func onTerminal(_ arguments: [String]) throws -> (status: Int32, shown: String) {
        let quoted = ([CLI.binary.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script!)
        p.arguments = ["-q", "-e", "-c", quoted.joined(separator: " "), "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let shown = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: shown, as: UTF8.self))
    }

    @Test func G1_pipedStderrShowsNoProgress() throws {
        let r = try CLI.run(["verify", demo])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("\r") && !r.stderr.contains("gradient check") && !r.stderr.contains("reading"), "\(r.stderr.debugDescription)")
        #expect(!r.stdout.contains("\r"))
    }

    @Test(.enabled(if: script != nil, "util-linux script is not installed"))
    func G1_terminalShowsProgressAndErasesIt() throws {
        let r = try Self.onTerminal(["verify", demo])
        #expect(r.status == 0, "\(r.shown)")
        #expect(r.shown.contains(Self.redraw + "reading \(demo)"), "\(r.shown.debugDescription)")
        #expect(r.shown.contains(Self.redraw + "gradient check"), "\(r.shown.debugDescription)")
        // Erased before the report: the report's first line starts at the beginning of a clean line.
        let afterLastErase = r.shown.components(separatedBy: "\r\u{1B}[K").last ?? ""
        #expect(afterLastErase.hasPrefix("check ") && !afterLastErase.contains("lstm-format: "), "\(r.shown.debugDescription)")
    }

    @Test(.enabled(if: script != nil, "util-linux script is not installed"))
    func G1_quietShowsNoProgressOnATerminal() throws {
        let r = try Self.onTerminal(["verify", demo, "--quiet"])
        #expect(r.status == 0, "\(r.shown)")
        #expect(!r.shown.contains("lstm-format: gradient check") && !r.shown.contains("lstm-format: reading"), "\(r.shown.debugDescription)")
    }

    @Test func G1_everyCommandAcceptsQuiet() throws {
        let dir = try FixturePaths.temporaryFolder()
        let lstm = dir.appendingPathComponent("m.lstm").path
        let runs: [[String]] = [
            ["convert", demo, lstm, "--quiet"],
            ["inspect", lstm, "--quiet"],
            ["verify", lstm, "--quiet"],
            ["compare", demo, lstm, "--quiet"],
        ]
        for args in runs {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        for command in ["inspect", "convert", "forward", "gradients", "verify", "compare"] {
            let help = try CLI.run([command, "--help"])
            #expect(help.stdout.contains("--quiet"), "\(command) --help")
        }
    }
}
