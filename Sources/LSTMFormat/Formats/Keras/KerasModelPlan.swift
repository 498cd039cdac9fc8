/// Which Keras wrote a file. It decides what the activation name `hard_sigmoid` means (`Activation`).
enum KerasGeneration: Sendable, Equatable {
    /// Keras 2 / tf.keras / tf_keras: hard_sigmoid is clip(0.2·x + 0.5, 0, 1).
    case keras2
    /// Keras 3: hard_sigmoid is clip(x/6 + 0.5, 0, 1).
    case keras3

    /// From a `keras_version` string ("2.15.0", "3.4.1"); nil when it does not start with 2 or 3.
    init?(version: String) {
        if version.hasPrefix("3.") || version == "3" { self = .keras3 }
        else if version.hasPrefix("2.") || version == "2" { self = .keras2 }
        else { return nil }
    }

    var hardSigmoid: Activation { self == .keras2 ? .hardSigmoidKeras2 : .hardSigmoidKeras3 }
    var toolName: String { self == .keras2 ? "tf_keras" : "keras" }
}

/// An LSTM (or CuDNNLSTM) layer as its Keras config describes it.
struct KerasLSTMConfig: Equatable, Sendable {
    var name: String
    var units: Int
    var activation: Activation
    var recurrentActivation: Activation
    var useBias: Bool
    var goBackwards: Bool
    var returnSequences: Bool
    /// A Keras 2 `CuDNNLSTM`: bias of 8·units and cuDNN kernel layout (`KerasCuDNN`).
    var cudnn: Bool
    /// Keras's `zero_output_for_mask` as the config states it (a Bidirectional wrapper overrides it, M21).
    var zeroOutputForMask = false
}

/// An `Embedding` layer (`Spec/canonical-model.md` M17): table [input_dim, output_dim].
struct KerasEmbeddingConfig: Equatable, Sendable {
    var name: String
    var inputDim: Int
    var outputDim: Int
    var maskZero: Bool
}

/// A Dense layer (optionally inside TimeDistributed) as its Keras config describes it.
struct KerasDenseConfig: Equatable, Sendable {
    var name: String
    var units: Int
    var activation: Activation
    var useBias: Bool
    /// Name of the TimeDistributed wrapper, when there is one.
    var timeDistributedName: String?
}

/// One layer of a Keras model in the order data flows through it.
struct KerasLayerPlan: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case lstm(KerasLSTMConfig)
        case bidirectional(forward: KerasLSTMConfig, backward: KerasLSTMConfig, merge: MergeMode)
        case dense(KerasDenseConfig)
        /// `Embedding`: the model's input is token ids (M17).
        case embedding(KerasEmbeddingConfig)
        /// `Masking(mask_value)`: no weights (M18).
        case masking(Double)
        /// InputLayer, Dropout-style layers: no weights, identity at inference.
        case passThrough
    }
    var name: String
    var className: String
    var kind: Kind

    var hasWeights: Bool {
        switch kind {
        case .passThrough, .masking: false
        default: true
        }
    }
}

/// A Keras model reduced to what the canonical model needs: a chain of layers, and what is known of the input.
struct KerasModelPlan: Equatable, Sendable {
    var modelName: String
    /// "Sequential", "Functional" or "Model".
    var modelClass: String
    var layers: [KerasLayerPlan]
    /// The feature count from the input shape, when the config states it.
    var inputSize: Int?
    var generation: KerasGeneration

    var weightedLayers: [KerasLayerPlan] { layers.filter(\.hasWeights) }
}
