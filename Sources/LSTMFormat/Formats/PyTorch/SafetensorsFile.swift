import Foundation

/// The safetensors container (`Spec/pytorch-mapping.md`, P-S1 … P-S6): an 8-byte little-endian header length N,
/// N bytes of JSON header (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {string: string}}`),
/// then the tensors' bytes, contiguous, in data_offsets order, covering the rest of the file exactly.
struct SafetensorsFile: Equatable {
    /// Tensors in data order (their bytes are slices of the decoded data, not copies).
    var tensors: [(name: String, tensor: Tensor)]
    var metadata: [String: String]

    static func == (a: SafetensorsFile, b: SafetensorsFile) -> Bool {
        a.metadata == b.metadata && a.tensors.map(\.name) == b.tensors.map(\.name) && a.tensors.map(\.tensor) == b.tensors.map(\.tensor)
    }

    /// P-S1: the largest header read (the safetensors library's own limit).
    static let headerLimit: UInt64 = 100_000_000

    static let dtypes: [String: DType] = ["F32": .float32, "F64": .float64, "F16": .float16, "BF16": .bfloat16]

    private struct Entry: Decodable {
        var dtype: String
        var shape: [UInt64]
        var data_offsets: [UInt64]
    }

    private enum Item: Decodable {
        case tensor(Entry)
        case metadata([String: String])

        init(from decoder: Decoder) throws {
            if let e = try? Entry(from: decoder) { self = .tensor(e); return }
            self = .metadata(try [String: String](from: decoder))
        }
    }

    /// Validates everything (P-S1 … P-S4) before any tensor is made.
    static func decode(_ data: Data) throws(SafetensorsError) -> SafetensorsFile {
        guard data.count >= 8 else { throw .tooShort(data.count) }
        let start = data.startIndex
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(data[start + k]) << (8 * UInt64(k)) }
        guard n <= headerLimit else { throw .headerTooLarge(length: n, limit: headerLimit) }
        guard n <= UInt64(data.count - 8) else { throw .headerPastEnd(length: n, fileSize: data.count) }
        let header = data[(start + 8)..<(start + 8 + Int(n))]
        guard header.first == UInt8(ascii: "{") else { throw .invalidHeader("it does not start with '{'") }
        guard String(data: header, encoding: .utf8) != nil else { throw .invalidHeader("it is not UTF-8") }
        if let key = JSONDuplicateKeys.first(in: Data(header)) { throw .duplicateKey(key) }
        let items: [String: Item]
        do {
            items = try JSONDecoder().decode([String: Item].self, from: Data(header))
        } catch {
            throw .invalidHeader("not an object of tensor entries (dtype, shape, data_offsets) and a string map __metadata__")
        }
        var metadata: [String: String] = [:]
        var entries: [(name: String, entry: Entry, dtype: DType, bytes: UInt64)] = []
        for (name, item) in items {
            switch item {
            case .metadata(let m):
                guard name == "__metadata__" else { throw .invalidHeader("entry '\(name)' is not a tensor (dtype, shape, data_offsets)") }
                metadata = m
            case .tensor(let e):
                guard name != "__metadata__" else { throw .invalidHeader("__metadata__ is not a map of strings") }
                guard let dtype = dtypes[e.dtype] else { throw .unsupportedDType(tensor: name, dtype: e.dtype) }
                guard e.data_offsets.count == 2, e.data_offsets[0] <= e.data_offsets[1] else { throw .invalidOffsets(tensor: name, offsets: e.data_offsets) }
                var count: UInt64 = 1
                for d in e.shape {
                    let (p, o) = count.multipliedReportingOverflow(by: d)
                    guard !o, p <= UInt64(Int.max) else { throw .invalidShape(tensor: name, shape: e.shape) }
                    count = p
                }
                let (bytes, o) = count.multipliedReportingOverflow(by: UInt64(dtype.byteSize))
                guard !o else { throw .invalidShape(tensor: name, shape: e.shape) }
                let span = e.data_offsets[1] - e.data_offsets[0]
                guard span == bytes else { throw .sizeMismatch(tensor: name, expected: bytes, actual: span) }
                entries.append((name, e, dtype, bytes))
            }
        }
        // P-S4: sorted by offset (ties: by name, for zero-size tensors), each starting where the last ended.
        entries.sort { ($0.entry.data_offsets[0], $0.entry.data_offsets[1], $0.name) < ($1.entry.data_offsets[0], $1.entry.data_offsets[1], $1.name) }
        let bufferSize = UInt64(data.count) - 8 - n
        var position: UInt64 = 0
        for e in entries {
            guard e.entry.data_offsets[0] == position else {
                throw .notContiguous(tensor: e.name, expectedBegin: position, actualBegin: e.entry.data_offsets[0])
            }
            position = e.entry.data_offsets[1]
        }
        guard position == bufferSize else { throw .dataLength(expected: position, actual: bufferSize) }
        let base = start + 8 + Int(n)
        let tensors = entries.map { e in
            let from = base + Int(e.entry.data_offsets[0])
            // Offsets and sizes are checked above: the slice holds exactly count · size bytes.
            return (e.name, try! Tensor(dtype: e.dtype, shape: e.entry.shape.map { Int($0) }, bytes: data[from..<(from + Int(e.bytes))]))
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    /// P-S5: the file's bytes, deterministic: tensors in the given order, header keys sorted, the header padded
    /// with spaces to a multiple of 8 bytes (as the safetensors library pads it).
    func encode() -> Data {
        var header: [String: CanonicalJSON] = [:]
        var offset = 0
        for (name, t) in tensors {
            let name2 = dtypeName(t.dtype)
            header[name] = .object(["dtype": .string(name2), "shape": .array(t.shape.map { .int($0) }),
                                    "data_offsets": .array([.int(offset), .int(offset + t.bytes.count)])])
            offset += t.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        var json = CanonicalJSON.object(header).bytes
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for (_, t) in tensors { out.append(t.bytes) }
        return out
    }

    private func dtypeName(_ d: DType) -> String {
        Self.dtypes.first { $0.value == d }!.key
    }
}
