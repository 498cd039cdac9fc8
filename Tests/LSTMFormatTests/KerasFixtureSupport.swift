import Foundation
@testable import LSTMFormat

/// The Keras fixtures of `Fixtures/keras/manifest.json` (made by real Keras / tf_keras, branch kerasfix).
struct KerasFixture: Decodable, Sendable, CustomStringConvertible {
    struct Layer: Decodable, Sendable { var name: String; var `class`: String }
    struct Refusal: Decodable, Sendable { var layer: String; var `class`: String; var reason: String }
    var id: String
    var writer: String
    var files: [String: String]
    var inputs: String?
    var outputs: String?
    var targets: String?
    var expected: String?
    var layers: [Layer]?
    var architecture: ModelArchitecture?
    var refuse: Refusal?

    var description: String { id }

    static let all: [KerasFixture] = {
        struct Manifest: Decodable { var fixtures: [KerasFixture] }
        guard let data = try? Data(contentsOf: FixturePaths.fixture("keras/manifest.json")),
              let m = try? JSONDecoder().decode(Manifest.self, from: data) else { return [] }
        return m.fixtures
    }()
    static let accepted = all.filter { $0.refuse == nil }
    static let refused = all.filter { $0.refuse != nil }

    func url(_ key: String) -> URL? { files[key].map { FixturePaths.fixture("keras/" + $0) } }
    func file(_ relative: String?) -> URL? { relative.map { FixturePaths.fixture("keras/" + $0) } }

    /// Every (file kind, read options) this fixture offers; weights-only files get the fixture's config.
    func readings() throws -> [(kind: String, url: URL, options: ReadOptions)] {
        let config = try url("config").map { try Data(contentsOf: $0) }
        var out: [(String, URL, ReadOptions)] = []
        for kind in ["keras", "legacy_h5", "weights_h5", "weights_v3_h5"] {
            guard let u = url(kind) else { continue }
            let weightsOnly = kind.hasPrefix("weights")
            if weightsOnly, config == nil { continue }
            out.append((kind, u, ReadOptions(formatOptions: FormatOptions(KerasReadOptions(config: weightsOnly ? config : nil)))))
        }
        return out
    }

    /// The key Keras's get_weights arrays have in expected.npz for a layer name.
    static func npzName(_ layer: String) -> String {
        layer.count >= 200 ? "\(layer.first.map(String.init) ?? "")*\(layer.count)" : layer
    }
}
