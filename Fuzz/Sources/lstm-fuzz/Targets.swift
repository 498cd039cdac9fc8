import Foundation
@testable import LSTMFormat
import ZIPFoundation

/// One fuzz target: a parser of untrusted bytes and the properties its result must have. A target traps
/// (`require`) when a property fails; a thrown error is the parser refusing the input, which is fine.
struct FuzzTarget: Sendable {
    let name: String
    /// Fixture files (relative to the repository) that seed the corpus (`scripts/fuzz.sh` copies them).
    let seeds: [String]
    let run: @Sendable (Data) -> Void
}

/// A property a target checks. Fails with its message and a trap: unlike `precondition`, whose message an
/// optimized build drops, `fatalError` keeps it, so a finding of the -O fuzz build says what broke.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
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

/// `.lstm`: the header-only read `inspect` uses (M3a) agrees with the full read — it refuses a file with the
/// full read's error, and a file it accepts either reads fully to a model with the same outline (stored CRC-32s
/// equal to the verified ones) or is refused for its data only (L19, M25); a file that decodes re-encodes to a
/// file that decodes to the same model, and encoding is stable.
func fuzzCompact(_ data: Data) {
    let outline: Result<ModelOutline, CompactError>
    do { outline = .success(try CompactReader(data: data).outline()) } catch { outline = .failure(error) }
    let full: Result<LSTMModel, CompactError>
    do { full = .success(try CompactFormat.decode(data)) } catch { full = .failure(error) }
    switch (outline, full) {
    case (.failure(let a), .failure(let b)):
        require(a == b, "header-only and full reads refuse with different errors: \(a) / \(b)")
    case (.failure(let a), .success):
        fatalError("the header-only read refuses a file the full read accepts: \(a)")
    case (.success, .failure(let b)):
        require(isDataLevel(b), "the header-only read accepts a file whose layout the full read refuses: \(b)")
    case (.success(let o), .success(let model)):
        let verified = ModelOutline(model: model)
        require(o.architecture == verified.architecture && o.metadata == verified.metadata, "outline and model differ")
        require(o.tensors.map { [$0.name, $0.dtype.rawValue, "\($0.shape)", "\($0.crc32 ?? 0)"] }
                == verified.tensors.map { [$0.name, $0.dtype.rawValue, "\($0.shape)", "\($0.crc32 ?? 0)"] },
                "outline tensors differ from the model's")
        require(o.tensors.allSatisfy { !$0.crc32Verified } && o.parameterCount == model.parameterCount, "outline flags or count wrong")
    }
    guard case .success(let model) = full else { return }
    let bytes = CompactFormat.encode(model)
    guard let again = try? CompactFormat.decode(bytes) else { fatalError("re-encoded .lstm does not decode") }
    require(again.architecture == model.architecture && again.tensors == model.tensors && again.metadata == model.metadata, "round trip changed the model")
    require(CompactFormat.encode(again) == bytes, "encoding is not deterministic")
}

/// Errors only a read of the tensor data can find: a CRC-32 (L19) or a non-finite peephole (M25).
func isDataLevel(_ error: CompactError) -> Bool {
    switch error {
    case .tensorChecksumMismatch: true
    case .invalidArchitecture(.nonFinite): true
    default: false
    }
}

/// `.npy`: a decoded array re-encodes to bytes that decode to the same array.
func fuzzNPY(_ data: Data) {
    guard let tensor = try? NumPy.decodeNPY(data) else { return }
    guard let bytes = try? NumPy.encodeNPY(tensor), let again = try? NumPy.decodeNPY(bytes) else { fatalError("re-encoded .npy does not decode") }
    require(again == tensor, "round trip changed the array")
}

/// Zip members (`.keras`, `.npz`): every member that reads has its declared size and CRC; members written by
/// another zip implementation (ZIPFoundation, stored and deflated) read back byte for byte; `.npz` parsing of
/// what the archive holds never crashes.
func fuzzZip(_ data: Data) {
    guard let archive = try? ZipArchive(data: data) else { return }
    var members: [(String, Data)] = []
    var allRead = archive.members.count <= 16
    for member in archive.members.prefix(16) {
        guard let bytes = try? archive.read(member, limit: 1 << 24) else { allRead = false; continue }
        require(UInt64(bytes.count) == member.uncompressedSize, "member size differs from its declaration")
        require(CRC32.checksum(bytes) == member.crc32, "member CRC differs from its record")
        if member.name.hasSuffix(".npy") { _ = try? NumPy.decodeNPY(bytes) }
        members.append((member.name, bytes))
    }
    // Writing with ZIPFoundation is most of the time per input: only for archives that read completely (the
    // members are then what the mutation left intact, the bytes worth comparing), and small ones.
    guard allRead, members.reduce(0, { $0 + $1.1.count }) <= 1 << 16 else { return }
    for method in [CompressionMethod.none, .deflate] {
        guard let writer = try? Archive(data: Data(), accessMode: .create) else { return }
        for (name, bytes) in members {
            try? writer.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: method) { position, size in
                bytes.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        guard let written = writer.data, let back = try? ZipArchive(data: written) else { fatalError("re-written archive does not parse") }
        for (name, bytes) in members {
            guard let member = back[name], let read = try? back.read(member, limit: 1 << 24) else { fatalError("re-written member \(name) does not read") }
            require(read == bytes, "re-written member \(name) reads back different bytes")
        }
    }
}

/// Keras config: a config that parses gives the same plan after a JSON round trip (key order, spacing), and
/// every layer the plan keeps is one the canonical model can express.
func fuzzKerasConfig(_ data: Data) {
    guard let plan = try? KerasConfig.parse(data, generation: .keras3) else { return }
    guard let object = try? JSONSerialization.jsonObject(with: data),
          let again = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    guard let plan2 = try? KerasConfig.parse(again, generation: .keras3) else { fatalError("re-serialized config does not parse") }
    require(plan2 == plan, "the plan depends on the JSON's spelling")
}

/// safetensors: a file that decodes re-encodes to a file that decodes to the same content.
func fuzzSafetensors(_ data: Data) {
    guard let file = try? SafetensorsFile.decode(data) else { return }
    guard let again = try? SafetensorsFile.decode(file.encode()) else { fatalError("re-encoded safetensors does not decode") }
    require(again == file, "round trip changed the file")
}
