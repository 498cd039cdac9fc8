/// A file that does not follow the canonical HDF5 layout (`Spec/hdf5-layout.md`). Every case names the HDF5
/// path (H8); failures of libhdf5 itself are `HDF5Error`s.
enum CanonicalHDF5Error: Error, CustomStringConvertible, Equatable {
    /// H1: the root's `lstm_format` is absent or not "canonical-lstm".
    case notCanonical(found: String?)
    /// H1: a `lstm_format_version` this reader does not read.
    case unsupportedVersion(Int)
    /// H1–H3: a required attribute is absent.
    case missingAttribute(path: String, name: String)
    /// H2, H3, H8: an attribute holds a value outside its range ("return_sequences is 2, expected 0 or 1").
    case invalidAttribute(path: String, name: String, value: String, expected: String)
    /// H3, H8: an unknown direction, merge mode or activation name.
    case unknownName(path: String, attribute: String, value: String, known: [String])
    /// H8: an attribute the layout does not define (or `merge_mode` on a layer that is not bidirectional).
    case unexpectedAttribute(path: String, name: String)
    /// H3, H4, H8: a required group or dataset is absent.
    case missingObject(path: String, kind: String)
    /// H8: a group or dataset the layout does not define.
    case unexpectedObject(path: String)
    /// H8: a dataset where a group belongs, or the reverse.
    case wrongKind(path: String, expected: String)
    /// H4, H8: a dataset shape that is not the canonical one.
    case shapeMismatch(path: String, expected: [Int], actual: [Int])
    /// H8: sizes that do not chain (layer input vs previous output, dense input vs LSTM output).
    case inconsistentSizes(path: String, reason: String)
    /// H10 (writing): a metadata key or value HDF5 cannot store as an attribute.
    case unstorableMetadata(key: String, reason: String)

    var description: String {
        switch self {
        case .notCanonical(let found):
            "/: attribute lstm_format is \(found.map { "'\($0)'" } ?? "absent"), expected '\(CanonicalHDF5Layout.formatName)' (not a canonical LSTM HDF5 file)"
        case .unsupportedVersion(let v):
            "/: lstm_format_version \(v) is not supported (this reader reads version \(CanonicalHDF5Layout.version))"
        case .missingAttribute(let path, let name):
            "\(path): attribute \(name) is missing"
        case .invalidAttribute(let path, let name, let value, let expected):
            "\(path): attribute \(name) is \(value), expected \(expected)"
        case .unknownName(let path, let attribute, let value, let known):
            "\(path): attribute \(attribute) has unknown value '\(value)' (known: \(known.joined(separator: ", ")))"
        case .unexpectedAttribute(let path, let name):
            "\(path): unexpected attribute \(name)"
        case .missingObject(let path, let kind):
            "\(path): \(kind) is missing"
        case .unexpectedObject(let path):
            "\(path): unexpected object (not part of the canonical layout)"
        case .wrongKind(let path, let expected):
            "\(path): expected a \(expected)"
        case .shapeMismatch(let path, let expected, let actual):
            "\(path): shape \(actual), expected \(expected)"
        case .inconsistentSizes(let path, let reason):
            "\(path): \(reason)"
        case .unstorableMetadata(let key, let reason):
            "/metadata: cannot store key '\(key)': \(reason)"
        }
    }
}
