import Foundation

/// What `lstm-format inspect` reports about a model file. Its JSON form (snake_case keys, sorted) is the
/// documented, stable `inspect --json` schema (README, "JSON output").
public struct InspectReport: Codable, Equatable, Sendable {
    public struct TensorEntry: Codable, Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// CRC-32 of the tensor's little-endian bytes, 8 hex digits; nil when the format stores none and the data
        /// was not read (`inspect` without `--verify-checksums`, `Spec/reliability.md` M3).
        public var crc32: String?
        /// Whether `crc32` was computed from the data in this read; false for a CRC-32 stored in a `.lstm` file
        /// and shown without checking it against the data (M3).
        public var crc32Verified: Bool

        // Encoded by hand: `crc32` is always present, `null` when there is none (README, "JSON output").
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(dtype, forKey: .dtype)
            try c.encode(shape, forKey: .shape)
            try c.encode(crc32, forKey: .crc32)
            try c.encode(crc32Verified, forKey: .crc32Verified)
        }
    }

    public var file: String
    public var format: String
    public var architecture: ModelArchitecture
    public var parameterCount: Int
    public var tensors: [TensorEntry]
    public var metadata: [String: String]

    public init(file: String, format: String, outline: ModelOutline) {
        self.file = file
        self.format = format
        self.architecture = outline.architecture
        self.parameterCount = outline.parameterCount
        self.tensors = outline.tensors.map {
            TensorEntry(name: $0.name, dtype: $0.dtype, shape: $0.shape, crc32: $0.crc32.map(CRC32.hex), crc32Verified: $0.crc32Verified)
        }
        self.metadata = outline.metadata
    }

    /// The report of a fully read model: every CRC-32 computed from its bytes (or reused from a verified read, L26).
    public init(file: String, format: String, model: LSTMModel) {
        self.init(file: file, format: format, outline: ModelOutline(model: model))
    }

    /// Stable JSON: snake_case keys, sorted, pretty-printed.
    public func json() throws -> String {
        try ReportJSON.encode(self)
    }
}

/// The JSON encoding every `--json` report uses.
public enum ReportJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A plain-text table with aligned columns, for human-readable reports.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []
    /// Columns (by index) aligned to the right, e.g. numbers.
    public var rightAligned: Set<Int> = []

    public init(header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render(indent: String = "") -> String {
        let all = [header] + rows
        let widths = (0..<header.count).map { c in all.map { $0.count > c ? $0[c].count : 0 }.max() ?? 0 }
        return all.map { row in
            indent + row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
