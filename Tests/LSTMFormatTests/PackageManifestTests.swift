import Foundation
import Testing

/// `Spec/reliability.md` P3c: a client package can depend on the LSTMFormat library by a release tag, although
/// the library's target carries P3a's unsafe compiler flag. SwiftPM checks this when it loads the package graph
/// (`swift package show-dependencies` loads it without building), so the test copies this package's manifest and
/// sources into a git repository, tags it, and lets a client pinned to the tag load its graph.
@Suite(.serialized) struct PackageManifestTests {
    /// This package's root (the folder holding Package.swift).
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private struct Outcome { let status: Int32; let output: String }

    private func run(_ arguments: [String], in directory: URL, timeout: TimeInterval = 600) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let log = directory.appendingPathComponent(".test-output-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close(); try? FileManager.default.removeItem(at: log) }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// A git repository at `directory` holding this package's manifest and the folders its targets name, with
    /// its manifest's tools-version line replaced by `toolsVersion` when given, committed and tagged `tag`.
    private func taggedCopy(at directory: URL, tag: String, toolsVersion: String? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        for item in ["Sources", "Linking"] {
            try fm.copyItem(at: Self.packageRoot.appendingPathComponent(item), to: directory.appendingPathComponent(item))
        }
        let tests = directory.appendingPathComponent("Tests/LSTMFormatTests")
        try fm.createDirectory(at: tests, withIntermediateDirectories: true)
        try Data("// placeholder\n".utf8).write(to: tests.appendingPathComponent("Placeholder.swift"))
        var manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        if let toolsVersion {
            let firstLine = manifest.prefix { $0 != "\n" }
            manifest = "// swift-tools-version:\(toolsVersion)" + manifest.dropFirst(firstLine.count)
        }
        try Data(manifest.utf8).write(to: directory.appendingPathComponent("Package.swift"))
        for command in [["git", "init", "-q"], ["git", "add", "-A"],
                        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "copy"],
                        ["git", "tag", tag]] {
            let r = try run(command, in: directory)
            try #require(r.status == 0, "\(command.joined(separator: " ")): \(r.output)")
        }
    }

    /// A client package at `directory` whose one target uses the product LSTMFormat of `dependency`, pinned to
    /// exactly `tag`.
    private func client(at directory: URL, dependency: URL, tag: String) throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("Sources/Client"), withIntermediateDirectories: true)
        let manifest = """
        // swift-tools-version:6.0
        import PackageDescription
        let package = Package(
            name: "Client",
            dependencies: [.package(url: "\(dependency.absoluteString)", exact: "\(tag)")],
            targets: [.executableTarget(name: "Client", dependencies: [.product(name: "LSTMFormat", package: "\(dependency.lastPathComponent)")])]
        )

        """
        try Data(manifest.utf8).write(to: directory.appendingPathComponent("Package.swift"))
        try Data("import LSTMFormat\n".utf8).write(to: directory.appendingPathComponent("Sources/Client/main.swift"))
    }

    @Test func ruleP3cTheLibraryCanBePinnedByVersion() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lstmformat-p3c-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let pinned = root.appendingPathComponent("pinned")
        try taggedCopy(at: root.appendingPathComponent("lstmformat"), tag: "1.0.0")
        try client(at: pinned, dependency: root.appendingPathComponent("lstmformat"), tag: "1.0.0")
        let accepted = try run(["swift", "package", "show-dependencies"], in: pinned)
        #expect(accepted.status == 0, "a client pinned to a tag of this package cannot load it:\n\(accepted.output)")

        // The control: the same package declaring tools version 6.0 is refused, so the check above is in force.
        let old = root.appendingPathComponent("old")
        try taggedCopy(at: root.appendingPathComponent("lstmformat-old"), tag: "1.0.0", toolsVersion: "6.0")
        try client(at: old, dependency: root.appendingPathComponent("lstmformat-old"), tag: "1.0.0")
        let refused = try run(["swift", "package", "show-dependencies"], in: old)
        #expect(refused.status != 0 && refused.output.contains("contains unsafe build flags"),
                "SwiftPM no longer refuses unsafe flags in a version-pinned dependency of tools version 6.0 (status \(refused.status)):\n\(refused.output)")
    }
}
