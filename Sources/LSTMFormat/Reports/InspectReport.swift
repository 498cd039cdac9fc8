import Foundation

/// What `lstm-format inspect` reports about a model file. Its JSON form (snake_case keys, sorted) is the
/// documented, stable `inspect --json` schema (README, "JSON output").
public struct InspectReport: Codable, Equatable, Sendable {
    public struct TensorEntry: Codable, Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// CRC-32 of the tensor's little-endian bytes, 8 hex digits.
        public var crc32: String
    }

    public var file: String
    public var format: String
    public var architecture: ModelArchitecture
    public var parameterCount: Int
    public var tensors: [TensorEntry]
    public var metadata: [String: String]

    public init(file: String, format: String, model: LSTMModel) {
        self.file = file
        self.format = format
        self.architecture = model.architecture
        self.parameterCount = model.parameterCount
        self.tensors = model.orderedTensors.map {
            TensorEntry(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape, crc32: CRC32.hex($0.tensor.crc32))
        }
        self.metadata = model.metadata
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
