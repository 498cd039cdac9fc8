import Foundation

/// Notes from reading and writing a model (`lstm-format: note: …`), held until the command has done its work
/// (`Spec/reliability.md` E2): printed when it exits 0 or after its report (exit 1), never before an error line.
/// The isolated reader's child holds its notes here too and hands them to the parent with the model (`bytes`,
/// `add(bytes:)`), which holds them with its own.
final class HeldNotes: @unchecked Sendable {
    /// The process's notes.
    static let shared = HeldNotes()

    private let lock = NSLock()
    private var notes: [String] = []

    /// Holds one note (a reader's or writer's `warn`).
    func add(_ note: String) { lock.withLock { notes.append(note) } }

    /// Every held note, oldest first; none is held afterwards.
    func take() -> [String] { lock.withLock { defer { notes = [] }; return notes } }

    /// Prints every held note, one line each, and holds none afterwards.
    func print() {
        for note in take() { Progress.shared.line("lstm-format: note: \(note)") }
    }

    /// The held notes for the hand-off (taken): UTF-8, each ended by a NUL byte (a note holds none).
    func takeBytes() -> [UInt8] { take().flatMap { Array($0.utf8) + [0] } }

    /// Holds the notes of a hand-off's bytes (`takeBytes`' encoding).
    func add(bytes: some Collection<UInt8>) {
        for part in bytes.split(separator: 0) { add(String(decoding: part, as: UTF8.self)) }
    }
}
