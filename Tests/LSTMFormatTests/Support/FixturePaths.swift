import Foundation

/// Locations in the repository, found from this source file's path (tests run from any working directory).
enum FixturePaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // LSTMFormatTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static func fixture(_ relative: String) -> URL {
        repoRoot.appendingPathComponent("Fixtures").appendingPathComponent(relative)
    }

    /// One folder per test process for every `temporaryFolder()`, removed when the process exits, so a test that
    /// does not clean up (or fails half-way) leaves nothing in the system's temporary directory.
    static let temporaryRoot: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lstmformat-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: FixturePaths.temporaryRoot) }
        return url
    }()

    /// A fresh empty folder under `temporaryRoot`.
    static func temporaryFolder() throws -> URL {
        let url = temporaryRoot.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
