import Foundation

/// The numbers of an ONNX initializer or `Constant` (O-R12): float tensors keep their dtype and bytes; integer
/// tensors (shapes, indices, axes) become `Int64`s.
enum ONNXNumbers: Sendable {
    case floats(Tensor)
    case ints(shape: [Int], values: [Int64])
}

/// ONNX `TensorProto.DataType` codes used here.
enum ONNXDataType {
    static let float: Int32 = 1, uint8: Int32 = 2, int8: Int32 = 3, int32: Int32 = 6, int64: Int32 = 7,
               bool: Int32 = 9, float16: Int32 = 10, double: Int32 = 11, bfloat16: Int32 = 16

    static func dtype(_ code: Int32) -> DType? {
        switch code {
        case float: .float32
        case double: .float64
        case float16: .float16
        case bfloat16: .bfloat16
        default: nil
        }
    }

    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .float32: float
        case .float64: double
        case .float16: float16
        case .bfloat16: bfloat16
        }
    }
}

/// Decodes `TensorProto`s: `raw_data` (little-endian) or the typed fields, or external data next to the model.
struct ONNXTensorDecoder {
    /// The folder of the model file; external data must lie inside it. Nil when decoding from memory.
    let folder: URL?

    func decode(_ t: Onnx_TensorProto, name: String) throws(ONNXError) -> ONNXNumbers {
        var shape: [Int] = []
        for d in t.dims {
            guard d >= 0, d <= Int64(Int.max) else { throw .badTensor(name: name, reason: "dimension \(d) is negative or too large") }
            shape.append(Int(d))
        }
        guard let count = Tensor.elementCount(shape) else { throw .badTensor(name: name, reason: "the shape \(shape) overflows") }
        let code = t.dataType
        if let dtype = ONNXDataType.dtype(code) {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else { throw .badTensor(name: name, reason: "the shape \(shape) overflows") }
            let data = try floatBytes(t, name: name, dtype: dtype, count: count, byteCount: bytes)
            do { return .floats(try Tensor(dtype: dtype, shape: shape, bytes: data)) } catch {
                throw .badTensor(name: name, reason: String(describing: error))
            }
        }
        let width: Int
        switch code {
        case ONNXDataType.int64: width = 8
        case ONNXDataType.int32: width = 4
        case ONNXDataType.int8, ONNXDataType.uint8, ONNXDataType.bool: width = 1
        default: throw .badTensor(name: name, reason: "data type \(code) is not a float or integer type this reader knows")
        }
        guard count <= 1 << 24 else { throw .badTensor(name: name, reason: "an integer tensor of \(count) elements is too large for a shape or index") }
        if let raw = try rawBytes(t, name: name, byteCount: count * width) {
            return .ints(shape: shape, values: Self.integers(raw, width: width, signed: code != ONNXDataType.uint8))
        }
        let values: [Int64] = code == ONNXDataType.int64 ? t.int64Data : t.int32Data.map(Int64.init)
        guard values.count == count else {
            throw .badTensor(name: name, reason: "holds \(values.count) values but its shape \(shape) needs \(count)")
        }
        return .ints(shape: shape, values: values)
    }

    private func floatBytes(_ t: Onnx_TensorProto, name: String, dtype: DType, count: Int, byteCount: Int) throws(ONNXError) -> Data {
        if let raw = try rawBytes(t, name: name, byteCount: byteCount) { return raw }
        let typedCount: Int
        let data: Data
        switch dtype {
        case .float32: typedCount = t.floatData.count; data = Tensor.encode(t.floatData)
        case .float64: typedCount = t.doubleData.count; data = Tensor.encode(t.doubleData)
        case .float16, .bfloat16:
            // float16 and bfloat16 bit patterns are stored in int32_data, one per element.
            typedCount = t.int32Data.count
            data = Tensor.encode(t.int32Data.map { UInt16(truncatingIfNeeded: $0) })
        }
        guard typedCount == count else {
            throw .badTensor(name: name, reason: "holds \(typedCount) values but its shape needs \(count)")
        }
        return data
    }

    /// The tensor's bytes from `raw_data` or external data, or nil when it uses the typed fields.
    private func rawBytes(_ t: Onnx_TensorProto, name: String, byteCount: Int) throws(ONNXError) -> Data? {
        if t.dataLocation == .external {
            return try external(t, name: name, byteCount: byteCount)
        }
        guard t.hasRawData else { return nil }
        guard t.rawData.count == byteCount else {
            throw .badTensor(name: name, reason: "raw_data has \(t.rawData.count) bytes, the shape and type need \(byteCount)")
        }
        return t.rawData
    }

    /// O-R12: reads `length` bytes at `offset` of a file inside the model's folder, after checking both.
    private func external(_ t: Onnx_TensorProto, name: String, byteCount: Int) throws(ONNXError) -> Data {
        var location: String?, offset = 0, length: Int?
        for entry in t.externalData {
            switch entry.key {
            case "location": location = entry.value
            case "offset":
                guard let v = Int(entry.value), v >= 0 else { throw .externalData(name: name, reason: "has a bad offset '\(entry.value)'") }
                offset = v
            case "length":
                guard let v = Int(entry.value), v >= 0 else { throw .externalData(name: name, reason: "has a bad length '\(entry.value)'") }
                length = v
            default: break
            }
        }
        guard let location, !location.isEmpty else { throw .externalData(name: name, reason: "names no location") }
        guard let folder else { throw .externalData(name: name, reason: "'\(location)' cannot be read without the model's folder") }
        guard !location.hasPrefix("/"), !location.contains("\\") else {
            throw .externalData(name: name, reason: "'\(location)' is an absolute path; only paths inside the model's folder are read")
        }
        let parts = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains(where: { $0 == ".." }), location.utf8.count < 4096, !location.contains("\0") else {
            throw .externalData(name: name, reason: "'\(location)' leaves the model's folder")
        }
        let url = folder.appendingPathComponent(location)
        // Symlinks must not lead out of the folder either.
        let realFolder = folder.resolvingSymlinksInPath().standardizedFileURL.path
        let realFile = url.resolvingSymlinksInPath().standardizedFileURL.path
        guard realFile.hasPrefix(realFolder.hasSuffix("/") ? realFolder : realFolder + "/") else {
            throw .externalData(name: name, reason: "'\(location)' leaves the model's folder")
        }
        if let length, length != byteCount {
            throw .externalData(name: name, reason: "'\(location)' declares \(length) bytes, the shape and type need \(byteCount)")
        }
        var st = stat()
        guard stat(realFile, &st) == 0 else { throw .externalData(name: name, reason: "'\(location)' cannot be opened: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .externalData(name: name, reason: "'\(location)' is not a regular file") }
        let (end, overflow) = offset.addingReportingOverflow(byteCount)
        guard !overflow, end <= Int(st.st_size) else {
            throw .externalData(name: name, reason: "'\(location)' has \(st.st_size) bytes; bytes \(offset)..<\(overflow ? Int.max : end) lie past its end")
        }
        guard let handle = FileHandle(forReadingAtPath: realFile) else {
            throw .externalData(name: name, reason: "'\(location)' cannot be opened")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: byteCount) ?? Data()
            guard data.count == byteCount else { throw ONNXError.externalData(name: name, reason: "'\(location)' ended early") }
            return data
        } catch let e as ONNXError {
            throw e
        } catch {
            throw .externalData(name: name, reason: "'\(location)' cannot be read: \(error)")
        }
    }

    static func integers(_ data: Data, width: Int, signed: Bool) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(data.count / width)
        data.withUnsafeBytes { raw in
            for k in 0..<(raw.count / width) {
                var v: UInt64 = 0
                for b in 0..<width { v |= UInt64(raw[k * width + b]) << (8 * UInt64(b)) }
                if signed, width < 8, v & (1 << (UInt64(width) * 8 - 1)) != 0 { v |= ~0 << (UInt64(width) * 8) }
                out.append(Int64(bitPattern: v))
            }
        }
        return out
    }
}
