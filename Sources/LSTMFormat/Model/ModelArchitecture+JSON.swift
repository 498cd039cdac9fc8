import Foundation

/// The canonical architecture as JSON (`Spec/layout.md`, O2): the `architecture` object `inspect --json` prints
/// (snake_case keys: `layers` with `input_size`, `hidden_size`, `direction`, `merge_mode`, `gate_activation`,
/// `cell_activation`; `return_sequences`; `dense` with `input_size`, `output_size`, `activation`).
extension ModelArchitecture {
    /// Parses an architecture object, or a whole `inspect --json` report (its `architecture` member is used),
    /// and validates it.
    ///
    /// - Throws: `ArchitectureJSONError` naming the JSON path of the problem, or the `ModelError` of an
    ///   architecture that does not validate.
    public static func fromJSON(_ data: Data) throws -> ModelArchitecture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let architecture: ModelArchitecture
        do {
            if let report = try? decoder.decode(Wrapped.self, from: data) {
                architecture = report.architecture
            } else {
                architecture = try decoder.decode(ModelArchitecture.self, from: data)
            }
        } catch let error as DecodingError {
            throw ArchitectureJSONError(message: Self.describe(error))
        }
        try architecture.validate()
        return architecture
    }

    private struct Wrapped: Decodable { var architecture: ModelArchitecture }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.isEmpty ? "the top level" : c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "\(path(ctx.codingPath + [key])) is missing"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }
}

/// A `--architecture` file that is not a canonical architecture object.
public struct ArchitectureJSONError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "not a canonical architecture (the architecture object of inspect --json): \(message)" }
}

/// A file whose stored architecture differs from the one given in `ReadOptions.architecture` (O2).
public struct ArchitectureMismatch: Error, CustomStringConvertible, Equatable {
    public var given: ModelArchitecture
    public var found: ModelArchitecture

    public var description: String {
        "the file's architecture differs from the given one: " + Self.firstDifference(given, found)
    }

    static func firstDifference(_ a: ModelArchitecture, _ b: ModelArchitecture) -> String {
        if a.layers.count != b.layers.count { return "\(b.layers.count) LSTM layers, given \(a.layers.count)" }
        for (k, (x, y)) in zip(a.layers, b.layers).enumerated() where x != y {
            if x.peepholes != y.peepholes { return "lstm.\(k) \(y.peepholes ? "has" : "has no") peepholes (M25), given \(x.peepholes ? "with" : "without")" }
            return "lstm.\(k) is \(y.direction.rawValue) \(y.inputSize)->\(y.hiddenSize) merge \(y.mergeMode?.rawValue ?? "none") "
                + "\(y.gateActivation.rawValue)/\(y.cellActivation.rawValue), given \(x.direction.rawValue) \(x.inputSize)->\(x.hiddenSize) "
                + "merge \(x.mergeMode?.rawValue ?? "none") \(x.gateActivation.rawValue)/\(x.cellActivation.rawValue)"
        }
        if a.returnSequences != b.returnSequences { return "return_sequences is \(b.returnSequences), given \(a.returnSequences)" }
        if a.dense.count != b.dense.count { return "\(b.dense.count) dense layers, given \(a.dense.count)" }
        for (k, (x, y)) in zip(a.dense, b.dense).enumerated() where x != y {
            return "dense.\(k) is \(y.inputSize)->\(y.outputSize) \(y.activation.rawValue), given \(x.inputSize)->\(x.outputSize) \(x.activation.rawValue)"
        }
        return "they differ"
    }
}
