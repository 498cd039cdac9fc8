/// Why bytes are not a valid safetensors file (`Spec/pytorch-mapping.md`, P-S rules). One case per rule.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// P-S1: fewer than the 8 bytes of the header length.
    case tooShort(Int)
    /// P-S1: the header length exceeds the cap.
    case headerTooLarge(length: UInt64, limit: UInt64)
    /// P-S1: the header runs past the end of the file.
    case headerPastEnd(length: UInt64, fileSize: Int)
    /// P-S2: the header is not a UTF-8 JSON object (starting with `{`), or not one of the expected shape.
    case invalidHeader(String)
    /// P-S2: a key appears twice in one JSON object.
    case duplicateKey(String)
    /// P-S3: a tensor with a dtype other than F32, F64, F16, BF16.
    case unsupportedDType(tensor: String, dtype: String)
    /// P-S3: `data_offsets` is not [begin, end] with begin ≤ end.
    case invalidOffsets(tensor: String, offsets: [UInt64])
    /// P-S3: the shape's element count overflows.
    case invalidShape(tensor: String, shape: [UInt64])
    /// P-S3: end − begin differs from element count × element size.
    case sizeMismatch(tensor: String, expected: UInt64, actual: UInt64)
    /// P-S4: a tensor does not start where the previous one ends (a hole or an overlap).
    case notContiguous(tensor: String, expectedBegin: UInt64, actualBegin: UInt64)
    /// P-S4: the tensors do not cover the data buffer exactly.
    case dataLength(expected: UInt64, actual: UInt64)

    public var description: String {
        switch self {
        case .tooShort(let n): "not a safetensors file: \(n) bytes, fewer than the 8-byte header length"
        case .headerTooLarge(let n, let l): "safetensors header length \(n) exceeds the \(l)-byte limit"
        case .headerPastEnd(let n, let s): "safetensors header length \(n) runs past the end of the \(s)-byte file"
        case .invalidHeader(let why): "invalid safetensors header: \(why)"
        case .duplicateKey(let k): "invalid safetensors header: key '\(k)' appears twice"
        case .unsupportedDType(let t, let d): "tensor '\(t)' has dtype \(d); only F32, F64, F16 and BF16 are supported"
        case .invalidOffsets(let t, let o): "tensor '\(t)': data_offsets \(o) are not [begin, end] with begin <= end"
        case .invalidShape(let t, let s): "tensor '\(t)': shape \(s) has too many elements"
        case .sizeMismatch(let t, let e, let a): "tensor '\(t)': its data_offsets span \(a) bytes, its dtype and shape need \(e)"
        case .notContiguous(let t, let e, let a):
            "tensor '\(t)' starts at data offset \(a), expected \(e) (tensors must be contiguous, without holes or overlaps)"
        case .dataLength(let e, let a): "the tensors cover \(e) bytes of data, the file holds \(a)"
        }
    }
}
