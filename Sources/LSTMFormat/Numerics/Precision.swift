/// The floating-point type the verifier computes in. float16 and bfloat16 models compute in `.float32`
/// (their values widen exactly); `.float64` is for gradient checks and reference runs.
public enum Precision: String, Sendable, CaseIterable {
    case float32
    case float64

    /// The dtype of every tensor the verifier returns in this precision.
    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .float64: .float64
        }
    }
}

/// Inputs or targets the verifier cannot use with a model. Each case names the tensor, what was expected and
/// what was given.
public enum NumericsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Inputs must be [batch, steps, features].
    case inputRank(actual: [Int])
    /// The last input dimension must equal the first LSTM layer's input size.
    case inputFeatures(expected: Int, actual: Int)
    /// Batch and steps must be at least 1.
    case emptyInput(shape: [Int])
    /// Targets must have the shape of the model's output for these inputs.
    case targetsShape(expected: [Int], actual: [Int])
    /// The work buffers for this batch and sequence length would not fit in memory arithmetic.
    case tooLarge(shape: [Int])
    /// A tensor name given to a prepared model is not one of its canonical tensors.
    case unknownTensor(String)
    /// A flat element index is outside a tensor.
    case indexOutOfRange(tensor: String, index: Int, count: Int)
    /// A replacement tensor does not have the canonical shape.
    case tensorShape(tensor: String, expected: [Int], actual: [Int])
    /// Token ids must be [batch, steps] (M17).
    case tokenShape(actual: [Int])
    /// A token id outside 0 ..< vocabulary, at batch row `row`, step `step` (M17).
    case tokenOutOfRange(row: Int, step: Int, id: Int64, vocabulary: Int)
    /// The model has an embedding and was given float features (M17).
    case expectedTokenIDs
    /// The model has no embedding and was given token ids (M17).
    case expectedFeatures

    public var description: String {
        switch self {
        case .inputRank(let s):
            "inputs have shape \(s); expected [batch, steps, features]"
        case .inputFeatures(let e, let a):
            "inputs have \(a) features per step; the model's first LSTM layer expects \(e)"
        case .emptyInput(let s):
            "inputs have shape \(s); batch and steps must be at least 1"
        case .targetsShape(let e, let a):
            "targets have shape \(a); expected \(e), the shape of the model's output"
        case .tooLarge(let s):
            "inputs of shape \(s) need work buffers larger than this machine can address"
        case .unknownTensor(let n):
            "tensor \(n) is not part of the model"
        case .indexOutOfRange(let n, let i, let c):
            "element \(i) is outside tensor \(n), which has \(c) elements"
        case .tensorShape(let n, let e, let a):
            "tensor \(n) has shape \(a), expected \(e)"
        case .tokenShape(let s):
            "token ids have shape \(s); expected [batch, steps]"
        case .tokenOutOfRange(let r, let t, let id, let v):
            "token id \(id) at batch row \(r), step \(t) is outside the vocabulary 0 ..< \(v)"
        case .expectedTokenIDs:
            "the model has an embedding: its inputs must be integer token ids [batch, steps], not floats"
        case .expectedFeatures:
            "the model has no embedding: its inputs must be float features [batch, steps, features], not integer ids"
        }
    }
}
