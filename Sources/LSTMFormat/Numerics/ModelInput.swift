/// Integer token ids [batch, steps] for a model with an input embedding (`Spec/canonical-model.md` M17).
/// Values are kept as read (int32 or int64 arrays widen exactly); the numerics check each against the
/// vocabulary.
public struct TokenIDs: Sendable, Equatable {
    /// [batch, steps].
    public let shape: [Int]
    /// C order, batch-major: ids[b · steps + t].
    public let ids: [Int64]

    /// Throws `NumericsError.tokenShape` unless `shape` is [batch, steps] holding `ids.count` values.
    public init(shape: [Int], ids: [Int64]) throws(NumericsError) {
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }), Tensor.elementCount(shape) == ids.count else {
            throw .tokenShape(actual: shape)
        }
        self.shape = shape
        self.ids = ids
    }
}

/// What a model reads: float features [batch, steps, features] (a model without an embedding) or token ids
/// [batch, steps] (a model with one). M17: giving the other kind is an error.
public enum ModelInput: Sendable, Equatable {
    case features(Tensor)
    case tokens(TokenIDs)

    /// [batch, steps, features] or [batch, steps].
    public var shape: [Int] {
        switch self {
        case .features(let t): t.shape
        case .tokens(let ids): ids.shape
        }
    }
}
