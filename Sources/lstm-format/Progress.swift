import ArgumentParser
import Foundation
import LSTMFormat

/// `--quiet`, which every command accepts (`Spec/reliability.md`, G1).
struct DisplayOptions: ParsableArguments {
    @Flag(help: "Show no progress on stderr (progress is shown only when stderr is a terminal anyway).")
    var quiet = false
}

/// The command line's one progress line on stderr (`Spec/reliability.md`, G1): drawn only when stderr is a
/// terminal and `--quiet` is absent, rewritten in place (`\r`, then erase to the end of the line), erased when
/// the work ends. A phase without counts ("reading model.keras") shows the seconds it has run, redrawn twice a
/// second; counted work (`ProgressUpdate` from the library) shows its percentage. Notes and errors go through
/// `line(_:)`, which erases the progress line first, so they stay whole lines.
final class Progress: @unchecked Sendable {
    /// The process's progress line; `configure` decides whether it draws.
    static let shared = Progress()

    private let lock = NSLock()
    private var enabled = false
    private var terminal: Bool
    private var task: String?
    private var percent: Int?
    private var started = Date()
    private var drawn = false
    private var lastDraw = Date.distantPast
    private var timer: DispatchSourceTimer?
    private let write: @Sendable (String) -> Void

    /// `isTerminal` and `write` are injectable for tests; by default stderr's `isatty` and a write to stderr.
    init(isTerminal: Bool = isatty(STDERR_FILENO) == 1,
         write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        terminal = isTerminal
        self.write = write
    }

    /// Draws from now on only when stderr is a terminal and the command was not given `--quiet`.
    func configure(quiet: Bool) {
        lock.withLock { enabled = terminal && !quiet }
    }

    var isEnabled: Bool { lock.withLock { enabled } }

    /// A phase without counts: "reading model.keras" (with its running time).
    func phase(_ text: String) {
        lock.withLock {
            task = text
            percent = nil
            started = Date()
            guard enabled else { return }
            draw(force: true)
            if timer == nil {
                let t = DispatchSource.makeTimerSource(queue: .global())
                t.schedule(deadline: .now() + 0.5, repeating: 0.5)
                t.setEventHandler { [weak self] in self?.tick() }
                t.resume()
                timer = t
            }
        }
    }

    /// Counted work from the library.
    func update(_ u: ProgressUpdate) {
        lock.withLock {
            let p = min(100, 100 * u.completed / u.total)
            let newTask = task != u.task
            if newTask { started = Date() }
            let changed = newTask || percent != p
            task = u.task
            percent = p
            // A new task always shows; percentages of one task at most 10 times a second.
            if enabled && changed { draw(force: newTask) }
        }
    }

    /// The library's callback: `update`.
    var handler: ProgressHandler { { [self] in self.update($0) } }

    /// Erases the progress line and stops drawing.
    func finish() {
        lock.withLock {
            timer?.cancel()
            timer = nil
            task = nil
            erase()
        }
    }

    /// Writes a whole line (a note, an error) to stderr, erasing the progress line first; the next update
    /// draws it again below.
    func line(_ text: String) {
        lock.withLock {
            // On a terminal the line starts by erasing whatever the line holds (ours, or the child reader's
            // parent's progress line): invisible when nothing is drawn.
            write((terminal ? "\r\u{1B}[K" : "") + text + "\n")
            drawn = false
        }
    }

    private func tick() {
        lock.withLock { if enabled, task != nil { draw(force: true) } }
    }

    private func draw(force: Bool) {
        guard let task else { return }
        let now = Date()
        // At most 10 redraws a second (the first always): a terminal is slow, a fast loop would wait for it.
        if !force && drawn && now.timeIntervalSince(lastDraw) < 0.1 { return }
        let seconds = Int(now.timeIntervalSince(started))
        let tail = percent.map { " \($0)%" } ?? ""
        write("\r\u{1B}[Klstm-format: \(task)\(tail)" + (seconds > 0 ? " (\(seconds) s)" : ""))
        drawn = true
        lastDraw = now
    }

    private func erase() {
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }
}
