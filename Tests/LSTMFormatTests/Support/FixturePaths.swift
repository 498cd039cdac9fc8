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

    /// A fresh empty folder under the system temporary directory.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lstmformat-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
