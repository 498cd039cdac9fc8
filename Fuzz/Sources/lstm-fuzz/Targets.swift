import Foundation
@testable import LSTMFormat
import ZIPFoundation

/// One fuzz target: a parser of untrusted bytes and the properties its result must have. A target traps
/// (`precondition`) when a property fails; a thrown error is the parser refusing the input, which is fine.
struct FuzzTarget: Sendable {
    let name: String
    /// Fixture files (relative to the repository) that seed the corpus (`scripts/fuzz.sh` copies them).
    let seeds: [String]
    let run: @Sendable (Data) -> Void
}

/// Every target. Adding one is one line here (plus its seed fixtures): `FuzzTarget(name:seeds:run:)`.
let targets: [FuzzTarget] = [
    FuzzTarget(name: "lstm", seeds: ["*.lstm"], run: fuzzCompact),
    FuzzTarget(name: "npy", seeds: ["*.npy"], run: fuzzNPY),
    FuzzTarget(name: "zip", seeds: ["*.npz", "*.keras"], run: fuzzZip),
    FuzzTarget(name: "keras-config", seeds: ["*config*.json", "*.json"], run: fuzzKerasConfig),
    FuzzTarget(name: "safetensors", seeds: ["*.safetensors"], run: fuzzSafetensors),
    FuzzTarget(name: "pickle", seeds: ["*.pkl"], run: fuzzPickle),
    FuzzTarget(name: "torch", seeds: ["*.pt", "*.ckpt"], run: fuzzTorch),
    FuzzTarget(name: "onnx", seeds: ["*.onnx"], run: fuzzONNX),
]

/// `.lstm`: a file that decodes re-encodes to a file that decodes to the same model, and encoding is stable.
func fuzzCompact(_ data: Data) {
    guard let model = try? CompactFormat.decode(data) else { return }
    let bytes = CompactFormat.encode(model)
    guard let again = try? CompactFormat.decode(bytes) else { preconditionFailure("re-encoded .lstm does not decode") }
    precondition(again.architecture == model.architecture && again.tensors == model.tensors && again.metadata == model.metadata, "round trip changed the model")
    precondition(CompactFormat.encode(again) == bytes, "encoding is not deterministic")
}

/// `.npy`: a decoded array re-encodes to bytes that decode to the same array.
func fuzzNPY(_ data: Data) {
    guard let tensor = try? NumPy.decodeNPY(data) else { return }
    guard let bytes = try? NumPy.encodeNPY(tensor), let again = try? NumPy.decodeNPY(bytes) else { preconditionFailure("re-encoded .npy does not decode") }
    precondition(again == tensor, "round trip changed the array")
}

/// Zip members (`.keras`, `.npz`): every member that reads has its declared size and CRC; members written by
/// another zip implementation (ZIPFoundation, stored and deflated) read back byte for byte; `.npz` parsing of
/// what the archive holds never crashes.
func fuzzZip(_ data: Data) {
    guard let archive = try? ZipArchive(data: data) else { return }
    var members: [(String, Data)] = []
    for member in archive.members.prefix(16) {
        guard let bytes = try? archive.read(member, limit: 1 << 24) else { continue }
        precondition(UInt64(bytes.count) == member.uncompressedSize, "member size differs from its declaration")
        precondition(CRC32.checksum(bytes) == member.crc32, "member CRC differs from its record")
        if member.name.hasSuffix(".npy") { _ = try? NumPy.decodeNPY(bytes) }
        members.append((member.name, bytes))
    }
    for method in [CompressionMethod.none, .deflate] {
        guard let writer = try? Archive(data: Data(), accessMode: .create) else { return }
        for (name, bytes) in members {
            try? writer.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: method) { position, size in
                bytes.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        guard let written = writer.data, let back = try? ZipArchive(data: written) else { preconditionFailure("re-written archive does not parse") }
        for (name, bytes) in members {
            guard let member = back[name], let read = try? back.read(member, limit: 1 << 24) else { preconditionFailure("re-written member \(name) does not read") }
            precondition(read == bytes, "re-written member \(name) reads back different bytes")
        }
    }
}

/// Keras config: a config that parses gives the same plan after a JSON round trip (key order, spacing), and
/// every layer the plan keeps is one the canonical model can express.
func fuzzKerasConfig(_ data: Data) {
    guard let plan = try? KerasConfig.parse(data, generation: .keras3) else { return }
    guard let object = try? JSONSerialization.jsonObject(with: data),
          let again = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    guard let plan2 = try? KerasConfig.parse(again, generation: .keras3) else { preconditionFailure("re-serialized config does not parse") }
    precondition(plan2 == plan, "the plan depends on the JSON's spelling")
}

/// safetensors: a file that decodes re-encodes to a file that decodes to the same content.
func fuzzSafetensors(_ data: Data) {
    guard let file = try? SafetensorsFile.decode(data) else { return }
    guard let again = try? SafetensorsFile.decode(file.encode()) else { preconditionFailure("re-encoded safetensors does not decode") }
    precondition(again == file, "round trip changed the file")
}
