import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` E2: the notes of reading and writing a model are printed only once the command has done its
/// work; a command that ends in an error prints its one error line and no note. The isolated reader's child hands
/// its notes to the parent with the model. The model: Fixtures/keras-policies/mixed_float16/k3.keras (Keras 3.15.1,
/// `scripts/keras_policy_fixtures.py`), whose reader gives K-N2's policy note.
@Suite(.serialized) struct ReadNotesTests {
    static let model = FixturePaths.fixture("keras-policies/mixed_float16/k3.keras").path
    static let note = "note: dtype policy mixed_float16"
    /// The isolated read (the child hands the notes over) and the in-process read.
    static let isolation: [[String: String]] = [[:], ["LSTMFORMAT_NO_ISOLATION": "1"]]

    static func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

    /// `convert` into a folder that does not exist: the read succeeds (and has a note), the write fails. One error
    /// line naming the output, exit 2, no note — for an HDF5 output and for the unchanged `.lstm` of P2.
    @Test(arguments: isolation)
    func E2_aWriteThatFailsAfterTheReadPrintsOnlyItsError(_ environment: [String: String]) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["out.h5", "out.lstm"] {
            let output = folder.appendingPathComponent("missing").appendingPathComponent(name).path
            let r = try CLI.run(["convert", Self.model, output], environment: environment)
            #expect(r.status == 2, "\(environment) \(name): \(r.stderr)")
            #expect(Self.lines(r.stderr).count == 1 && r.stderr.contains(name) && !r.stderr.contains("note"), "\(environment) \(name): \(r.stderr)")
        }
    }

    /// A failed check is the command's work done: `verify` of a float16-policy model against Keras's own float16
    /// predictions (Fixtures/keras-policies/float16, Keras 3.15.1) fails its outputs check with exit 1 and still
    /// prints the policy note, which says why.
    @Test func E2_aFailedCheckPrintsTheNotesAfterItsReport() throws {
        let f = FixturePaths.fixture("keras-policies/float16")
        let r = try CLI.run(["verify", f.appendingPathComponent("k3.keras").path, "--inputs", f.appendingPathComponent("x.npy").path,
                             "--expect", f.appendingPathComponent("y_k3.npy").path])
        #expect(r.status == 1 && r.stdout.contains("FAIL"), "\(r.stdout)")
        #expect(Self.lines(r.stderr).filter { $0.contains("note: dtype policy float16") }.count == 1, "\(r.stderr)")
    }

    /// The ONNX reader (in-process) holds its notes the same way: torch.onnx.export's embedding Gather gets O-R16's
    /// note about negative token ids (Fixtures/onnx/torch_embedding, PyTorch 2.15.0).
    @Test func E2_theONNXReadersNoteIsHeldToo() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let onnx = FixturePaths.fixture("onnx/torch_embedding/model.onnx").path
        let failed = try CLI.run(["convert", onnx, folder.appendingPathComponent("missing/out.h5").path])
        #expect(failed.status == 2 && Self.lines(failed.stderr).count == 1 && !failed.stderr.contains("note"), "\(failed.stderr)")
        let done = try CLI.run(["convert", onnx, folder.appendingPathComponent("out.h5").path])
        #expect(done.status == 0 && Self.lines(done.stderr).filter { $0.contains("note: ") && $0.contains("negative token ids") }.count == 1, "\(done.stderr)")
    }

    /// The same conversion into a folder that exists prints the note once (the child's, handed over), exit 0.
    @Test(arguments: isolation)
    func E2_theNotesOfACommandThatSucceedsArePrinted(_ environment: [String: String]) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["out.h5", "out.lstm"] {
            let r = try CLI.run(["convert", Self.model, folder.appendingPathComponent(name).path], environment: environment)
            #expect(r.status == 0, "\(environment) \(name): \(r.stderr)")
            let notes = Self.lines(r.stderr).filter { $0.contains(Self.note) }
            #expect(notes.count == 1 && Self.lines(r.stderr).count == 1, "\(environment) \(name): \(r.stderr)")
        }
        // The unchanged .lstm published from the child's hand-off holds the model, not the notes (P2).
        let published = try FormatRegistry.read(folder.appendingPathComponent("out.lstm")).model
        let direct = try FormatRegistry.read(URL(fileURLWithPath: Self.model)).model
        #expect(published.tensors.keys.sorted() == direct.tensors.keys.sorted())
        // `inspect` reads the outline through the child's other hand-off: its note arrives too.
        let r = try CLI.run(["inspect", Self.model], environment: environment)
        #expect(r.status == 0 && Self.lines(r.stderr).filter { $0.contains(Self.note) }.count == 1, "\(environment): \(r.stderr)")
    }
}
