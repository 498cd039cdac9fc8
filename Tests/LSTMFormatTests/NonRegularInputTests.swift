import Foundation
import Testing
@testable import LSTMFormat

/// E1 (`Spec/reliability.md`): inputs MUST be regular files. A FIFO as a model used to block `inspect` forever in
/// open(2), and a device as `--config` or `--inputs` was reported as "You don't have permission" (an NSError).
@Suite(.timeLimit(.minutes(5))) struct NonRegularInputTests {
    static func fifo() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lstm-format-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("model.lstm")
        #expect(mkfifo(url.path, 0o600) == 0)
        return url
    }

    @Test func E1_aFIFOIsRefusedAsAModelWithoutBlocking() throws {
        let url = try Self.fifo()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let error = #expect(throws: FileError.self) { _ = try FormatRegistry.read(url) }
        #expect(error?.description == "\(url.relativePath): cannot open: is a FIFO, not a regular file")
    }

    @Test func E1_aDeviceIsRefusedAsAnArray() throws {
        let error = #expect(throws: FileError.self) { _ = try NumPy.readNPY(URL(fileURLWithPath: "/dev/null")) }
        #expect(error?.description == "/dev/null: cannot open: is a device, not a regular file")
    }
}

/// K-W7 (`Spec/keras-mapping.md`): a `.weights.h5` export drops the architecture, so writing one says so.
@Suite struct WeightsOnlyExportTests {
    final class Notes: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
    }

    @Test func K_W7_writingWeightsOnlySaysTheArchitectureIsNotStored() throws {
        let model = try FormatRegistry.read(FixturePaths.fixture("keras/k3_functional_chain/model.keras")).model
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lstm-format-kw7-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let notes = Notes()
        try FormatRegistry.write(model, to: folder.appendingPathComponent("m.weights.h5"), options: WriteOptions(warn: { notes.add($0) }))
        #expect(notes.all.contains { $0.contains("weights only, not the architecture") })
        let quiet = Notes()
        try FormatRegistry.write(model, to: folder.appendingPathComponent("m.keras"), options: WriteOptions(warn: { quiet.add($0) }))
        #expect(quiet.all.isEmpty)
    }
}
