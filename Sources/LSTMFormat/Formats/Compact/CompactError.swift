/// A `.lstm` file that breaks a rule of `Spec/lstm-format.md`. One case per rule (the rule id is in the comment);
/// each case carries the tensor, key or offset concerned and the expected and actual values.
public enum CompactError: Error, CustomStringConvertible, Equatable, Sendable {
    /// L1: the file is shorter than the 24-byte preamble.
    case truncatedPreamble(fileSize: Int)
    /// L1: the first 8 bytes are not the magic.
    case badMagic(found: [UInt8])
    /// L2
    case unsupportedVersion(found: UInt32, supported: UInt32)
    /// L24: a masked model in a version-1 file.
    case maskNeedsVersion2
    /// L3
    case headerTooLarge(length: UInt64, limit: Int)
    /// L4
    case truncatedHeader(headerEnd: UInt64, fileSize: Int)
    /// L5
    case headerChecksumMismatch(stored: UInt32, computed: UInt32)
    /// L6
    case malformedHeader(String)
    /// L6: a key repeated within one JSON object.
    case duplicateHeaderKey(String)
    /// L7: the architecture is not a valid canonical architecture, or names an unknown activation.
    case invalidArchitecture(ModelError)
    /// L7: an unknown direction or merge mode.
    case unknownValue(field: String, value: String)
    /// L8
    case duplicateMetadataKey(String)
    /// L8
    case unsortedMetadata(key: String, after: String)
    /// L9
    case unknownDType(tensor: String, dtype: String)
    /// L10
    case duplicateTensor(String)
    /// L11: a negative dimension.
    case negativeDimension(tensor: String, shape: [Int])
    /// L11: the element or byte count overflows a signed 64-bit integer.
    case shapeOverflow(tensor: String, shape: [Int])
    /// L12
    case lengthMismatch(tensor: String, expected: Int, actual: Int)
    /// L13: a name that is not the next tensor of the architecture in canonical order.
    case unexpectedTensor(position: Int, expected: String?, actual: String)
    /// L13: the table ends before the architecture's tensors do.
    case missingTensor(String)
    /// L13
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    /// L14
    case misalignedOffset(tensor: String, offset: Int)
    /// L15: the tensor starts before the previous one's padded end.
    case overlappingTensor(tensor: String, offset: Int, expected: Int)
    /// L15: the tensor starts after the previous one's padded end.
    case holeBeforeTensor(tensor: String, offset: Int, expected: Int)
    /// L16: the tensor (data start + offset + length) ends past the end of the file, or its end overflows.
    case tensorPastEnd(tensor: String, end: Int?, fileSize: Int)
    /// L17
    case trailingBytes(dataEnd: Int, fileSize: Int)
    /// L18
    case nonZeroPadding(fileOffset: Int, byte: UInt8)
    /// L19
    case tensorChecksumMismatch(tensor: String, stored: UInt32, computed: UInt32)

    public var description: String {
        switch self {
        case .truncatedPreamble(let size):
            "truncated .lstm file: \(size) bytes, shorter than the 24-byte preamble (L1)"
        case .badMagic(let found):
            "not an .lstm file: magic is \(Self.hex(found)), expected 89 4c 53 54 4d 0d 0a 1a (L1)"
        case .maskNeedsVersion2:
            "the header declares masking but the file is format version 1; a masked model is version 2 (L24)"
        case .unsupportedVersion(let found, let supported):
            ".lstm format version \(found) is not supported (this reader reads version \(supported)); use a newer lstm-format (L2)"
        case .headerTooLarge(let length, let limit):
            ".lstm header length \(length) exceeds the limit of \(limit) bytes (L3)"
        case .truncatedHeader(let end, let size):
            "truncated .lstm file: the header ends at byte \(end) but the file has \(size) bytes (L4)"
        case .headerChecksumMismatch(let stored, let computed):
            ".lstm header is damaged: CRC-32 is \(Self.hex32(computed)), the file says \(Self.hex32(stored)) (L5)"
        case .malformedHeader(let why):
            ".lstm header is malformed: \(why) (L6)"
        case .duplicateHeaderKey(let key):
            ".lstm header repeats the key '\(key)' within one object (L6)"
        case .invalidArchitecture(let e):
            ".lstm architecture is invalid: \(e) (L7)"
        case .unknownValue(let field, let value):
            ".lstm architecture: \(field) has unknown value '\(value)' (L7)"
        case .duplicateMetadataKey(let key):
            ".lstm metadata key '\(key)' appears twice (L8)"
        case .unsortedMetadata(let key, let after):
            ".lstm metadata key '\(key)' comes after '\(after)' but must sort before it (L8)"
        case .unknownDType(let t, let d):
            "tensor \(t): unknown dtype '\(d)' (known: float32, float64, float16, bfloat16) (L9)"
        case .duplicateTensor(let t):
            "tensor \(t) appears twice in the .lstm tensor table (L10)"
        case .negativeDimension(let t, let s):
            "tensor \(t): shape \(s) has a negative dimension (L11)"
        case .shapeOverflow(let t, let s):
            "tensor \(t): the element or byte count of shape \(s) overflows 64 bits (L11)"
        case .lengthMismatch(let t, let e, let a):
            "tensor \(t): length is \(a) bytes, its shape and dtype need \(e) (L12)"
        case .unexpectedTensor(let p, let e, let a):
            "tensor table entry \(p) is \(a), expected \(e ?? "no further tensor") (canonical order) (L13)"
        case .missingTensor(let t):
            "tensor \(t) is missing from the .lstm tensor table (L13)"
        case .shapeMismatch(let t, let e, let a):
            "tensor \(t) has shape \(a), the architecture needs \(e) (L13)"
        case .misalignedOffset(let t, let o):
            "tensor \(t): offset \(o) is not a multiple of 64 (L14)"
        case .overlappingTensor(let t, let o, let e):
            "tensor \(t): offset \(o) overlaps the data before it; expected \(e) (L15)"
        case .holeBeforeTensor(let t, let o, let e):
            "tensor \(t): offset \(o) leaves a hole after the data before it; expected \(e) (L15)"
        case .tensorPastEnd(let t, let end, let size):
            "tensor \(t) ends at byte \(end.map(String.init) ?? "beyond 2^63") but the file has \(size) bytes (truncated?) (L16)"
        case .trailingBytes(let end, let size):
            ".lstm data ends at byte \(end) but the file has \(size) bytes: \(size - end) trailing bytes (L17)"
        case .nonZeroPadding(let offset, let byte):
            ".lstm padding byte at file offset \(offset) is \(Self.hex([byte])), must be 00 (L18)"
        case .tensorChecksumMismatch(let t, let stored, let computed):
            "tensor \(t) is damaged: CRC-32 is \(Self.hex32(computed)), the file says \(Self.hex32(stored)) (L19)"
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "empty" : bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    private static func hex32(_ v: UInt32) -> String { String(format: "0x%08x", v) }
}
