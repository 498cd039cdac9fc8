/// Activation functions of the canonical model. Raw values are the names used in every file format we write.
///
/// Keras has two different `hard_sigmoid`s: Keras 2 computes clip(0.2·x + 0.5, 0, 1), Keras 3 computes
/// clip(x/6 + 0.5, 0, 1). They are distinct activations here, so a conversion never silently swaps one for the
/// other.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case linear
    case sigmoid
    case hardSigmoidKeras2 = "hard_sigmoid_keras2"
    case hardSigmoidKeras3 = "hard_sigmoid_keras3"
    case tanh
    case relu
    case softmax

    /// Whether the activation acts on each element alone. Gate and cell activations must be elementwise;
    /// softmax (over the last axis) is allowed only in a dense head.
    public var isElementwise: Bool { self != .softmax }
}
