import Foundation

/// The JSON header of a `.lstm` file (`Spec/lstm-format.md`, L6–L9) as it is decoded. Unknown keys are ignored
/// (L23). Enumerations are read as strings so an unknown name gives an error that says where it appeared.
struct CompactHeader: Decodable {
    struct Layer: Decodable {
        var input_size: Int
        var hidden_size: Int
        var direction: String
        var merge_mode: String?
        var gate_activation: String
        var cell_activation: String
        var zero_output_for_mask: Bool?
        /// L25: P of a projected layer (M24).
        var projection_size: Int?
        /// L27: true for a layer with peepholes p_f, p_i, p_o (M25); absent (or false) for none.
        var peepholes: Bool?
    }

    struct Embedding: Decodable {
        var vocabulary_size: Int
        var mask_zero: Bool
    }

    struct Dense: Decodable {
        var input_size: Int
        var output_size: Int
        var activation: String
    }

    struct Architecture: Decodable {
        var layers: [Layer]
        var return_sequences: Bool
        var dense: [Dense]
        var embedding: Embedding?
        var mask_value: Double?
    }

    struct Entry: Decodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var offset: Int
        var length: Int
        var crc32: UInt32
    }

    var architecture: Architecture
    var metadata: [[String]]
    var tensors: [Entry]

    /// Decodes the header bytes; any JSON or type error is a malformed header (L6).
    static func decode(_ bytes: Data) throws(CompactError) -> CompactHeader {
        if let key = JSONDuplicateKeys.first(in: bytes) { throw .duplicateHeaderKey(key) }
        if JSONDepth.exceedsLimit(bytes) { throw .malformedHeader("the header is \(JSONDepth.message)") }
        do {
            return try JSONDecoder().decode(CompactHeader.self, from: bytes)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformedHeader("missing key '\(key.stringValue)' at \(path(context))")
        } catch let DecodingError.typeMismatch(type, context) {
            throw .malformedHeader("expected \(type) at \(path(context))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw .malformedHeader("expected \(type), found null at \(path(context))")
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformedHeader("\(context.debugDescription) at \(path(context))")
        } catch {
            throw .malformedHeader("\(error)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "the top level" : p
    }

    /// The canonical architecture (L7), checked against M1–M9.
    func modelArchitecture() throws(CompactError) -> ModelArchitecture {
        var layers: [LSTMLayerSpec] = []
        for (k, l) in architecture.layers.enumerated() {
            let place = "lstm.\(k)"
            guard let direction = Direction(rawValue: l.direction) else {
                throw .unknownValue(field: "\(place).direction", value: l.direction)
            }
            var merge: MergeMode?
            if let m = l.merge_mode {
                guard let mode = MergeMode(rawValue: m) else { throw .unknownValue(field: "\(place).merge_mode", value: m) }
                merge = mode
            }
            layers.append(LSTMLayerSpec(
                inputSize: l.input_size, hiddenSize: l.hidden_size, direction: direction, mergeMode: merge,
                gateActivation: try Self.activation(l.gate_activation, place: "\(place) gate activation"),
                cellActivation: try Self.activation(l.cell_activation, place: "\(place) cell activation"),
                zeroOutputForMask: l.zero_output_for_mask ?? false, projectionSize: l.projection_size,
                peepholes: l.peepholes ?? false))
        }
        var dense: [DenseLayerSpec] = []
        for (k, d) in architecture.dense.enumerated() {
            dense.append(DenseLayerSpec(inputSize: d.input_size, outputSize: d.output_size,
                                        activation: try Self.activation(d.activation, place: "dense.\(k) activation")))
        }
        let arch = ModelArchitecture(layers: layers, returnSequences: architecture.return_sequences, dense: dense,
                                     embedding: architecture.embedding.map { EmbeddingSpec(vocabularySize: $0.vocabulary_size, maskZero: $0.mask_zero) },
                                     maskValue: architecture.mask_value)
        do { try arch.validate() } catch { throw .invalidArchitecture(error) }
        return arch
    }

    private static func activation(_ name: String, place: String) throws(CompactError) -> Activation {
        guard let a = Activation(rawValue: name) else { throw .invalidArchitecture(.unknownActivation(place: place, name: name)) }
        return a
    }

    /// The metadata map (L8): pairs strictly ascending by the UTF-8 bytes of the key.
    func metadataMap() throws(CompactError) -> [String: String] {
        var map: [String: String] = [:]
        var previous: String?
        for (k, pair) in metadata.enumerated() {
            guard pair.count == 2 else { throw .malformedHeader("metadata.\(k) has \(pair.count) strings, expected a [key, value] pair") }
            let key = pair[0]
            if let p = previous {
                if Array(p.utf8) == Array(key.utf8) || map[key] != nil { throw .duplicateMetadataKey(key) }
                if !p.utf8.lexicographicallyPrecedes(key.utf8) { throw .unsortedMetadata(key: key, after: p) }
            }
            map[key] = pair[1]
            previous = key
        }
        return map
    }
}

extension CompactHeader {
    /// The canonical header JSON of a model whose tensors sit at `entries` (L22).
    static func encode(_ model: LSTMModel, entries: [(name: String, tensor: Tensor, offset: Int, crc: UInt32)]) -> [UInt8] {
        let a = model.architecture
        let layers: [CanonicalJSON] = a.layers.map { l in
            var m: [String: CanonicalJSON] = [
                "input_size": .int(l.inputSize), "hidden_size": .int(l.hiddenSize),
                "direction": .string(l.direction.rawValue),
                "gate_activation": .string(l.gateActivation.rawValue),
                "cell_activation": .string(l.cellActivation.rawValue),
            ]
            if let mode = l.mergeMode { m["merge_mode"] = .string(mode.rawValue) }
            if l.zeroOutputForMask { m["zero_output_for_mask"] = .bool(true) }
            if let p = l.projectionSize { m["projection_size"] = .int(p) }
            if l.peepholes { m["peepholes"] = .bool(true) }
            return .object(m)
        }
        let dense: [CanonicalJSON] = a.dense.map { d in
            .object(["input_size": .int(d.inputSize), "output_size": .int(d.outputSize), "activation": .string(d.activation.rawValue)])
        }
        let metadata: [CanonicalJSON] = model.metadata.keys
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { .array([.string($0), .string(model.metadata[$0] ?? "")]) }
        let tensors: [CanonicalJSON] = entries.map { e in
            .object([
                "name": .string(e.name), "dtype": .string(e.tensor.dtype.rawValue),
                "shape": .array(e.tensor.shape.map(CanonicalJSON.int)),
                "offset": .int(e.offset), "length": .int(e.tensor.byteCount), "crc32": .uint(UInt64(e.crc)),
            ])
        }
        var architecture: [String: CanonicalJSON] = ["layers": .array(layers), "return_sequences": .bool(a.returnSequences), "dense": .array(dense)]
        if let e = a.embedding {
            architecture["embedding"] = .object(["vocabulary_size": .int(e.vocabularySize), "mask_zero": .bool(e.maskZero)])
        }
        if let v = a.maskValue { architecture["mask_value"] = .double(v) }
        return CanonicalJSON.object([
            "architecture": .object(architecture),
            "metadata": .array(metadata),
            "tensors": .array(tensors),
        ]).bytes
    }
}
