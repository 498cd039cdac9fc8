import Foundation
@testable import LSTMFormat

/// The PyTorch fixtures of `Fixtures/pytorch/manifest.json` (made by `scripts/pytorch_fixtures.py`, torch 2.15.0).
struct PyTorchFixture: Decodable, Sendable, CustomStringConvertible {
    var id: String
    var files: [String: String]
    var keys: [String]
    var note: String

    var description: String { id }
    var folder: URL { FixturePaths.fixture("pytorch/\(id)") }
    var architectureFile: URL { folder.appendingPathComponent("arch.json") }
    func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
    func architecture() throws -> ModelArchitecture { try ModelArchitecture.fromJSON(Data(contentsOf: architectureFile)) }

    /// The kinds of float32 model files the readers cover.
    static let readableKinds = ["safetensors", "pt", "lightning", "float64"]

    /// The float32 model files, by kind.
    var modelFiles: [(kind: String, url: URL)] {
        Self.readableKinds.compactMap { kind in files[kind].map { (kind, file($0)) } }
    }

    struct Refusal: Decodable, Sendable, CustomStringConvertible {
        var id: String
        var file: String
        var reason: String
        var description: String { id }
        var url: URL { FixturePaths.fixture("pytorch/\(file)") }
    }

    private struct Manifest: Decodable { var fixtures: [PyTorchFixture]; var refused: [Refusal] }
    private static let manifest: Manifest? = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("pytorch/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }()
    static var all: [PyTorchFixture] { manifest?.fixtures ?? [] }
    /// The fixtures with a file of a kind the readers cover.
    static var readable: [PyTorchFixture] { all.filter { !$0.modelFiles.isEmpty } }
    static var refused: [Refusal] { manifest?.refused ?? [] }
}
