/// Which Keras wrote a file. It decides what the activation name `hard_sigmoid` means (`Activation`) and how
/// Keras 1 weights are laid out (`Spec/keras-mapping.md`, K-C4, K-K1).
enum KerasGeneration: Sendable, Equatable {
    /// Keras 1.x: hard_sigmoid is clip(0.2·x + 0.5, 0, 1); LSTM weights may be 12 per-gate arrays.
    case keras1
    /// Keras 2 / tf.keras / tf_keras: hard_sigmoid is clip(0.2·x + 0.5, 0, 1).
    case keras2
    /// Keras 3: hard_sigmoid is clip(x/6 + 0.5, 0, 1).
    case keras3

    /// From a `keras_version` string ("1.2.2", "2.15.0", "2.2.4-tf", "3.4.1"); nil when it does not start with
    /// 1, 2 or 3.
    init?(version: String) {
        if version.hasPrefix("3.") || version == "3" { self = .keras3 }
        else if version.hasPrefix("2.") || version == "2" { self = .keras2 }
        else if version.hasPrefix("1.") || version == "1" { self = .keras1 }
        else { return nil }
    }

    var hardSigmoid: Activation { self == .keras3 ? .hardSigmoidKeras3 : .hardSigmoidKeras2 }
    var toolName: String {
        switch self {
        case .keras1: "keras1"
        case .keras2: "tf_keras"
        case .keras3: "keras"
        }
    }
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

/// A Keras object that holds several of the plan's layers in one weight group: a nested Sequential or
/// Functional model (flattened, K-C6) or the `StackedRNNCells` of an `RNN` layer (K-C7).
struct KerasScope: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// A nested model; `sequential` models do not list their InputLayer in `layers`.
        case model(sequential: Bool)
        /// `RNN(StackedRNNCells([...]))`: the cells are stacked LSTM layers.
        case stackedCells
    }
    var name: String
    var className: String
    var kind: Kind
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
        /// A standalone `Activation` layer while parsing; folded into the Dense before it (K-C5).
        case activation(Activation)
    }
    var name: String
    var className: String
    var kind: Kind
    /// The containers this layer sits in, outermost first (empty for a layer of the model itself).
    var scope: [KerasScope] = []
    /// K-W6c: the effective dtype policy of every source layer this plan layer stands for, by role: "" the layer
    /// itself (a wrapper's own: Bidirectional, TimeDistributed, RNN), "forward" / "backward" (a Bidirectional's
    /// LSTMs), "cell" (an RNN's cell), "time_distributed" (a Dense's wrapper; "" is then the inner Dense),
    /// "activation" (an Activation folded into the Dense).
    var policies: [String: KerasSourcePolicy] = [:]

    var hasWeights: Bool {
        switch kind {
        case .passThrough, .masking, .activation: false
        default: true
        }
    }
    /// The name of the model-level layer whose weight group holds this layer's arrays (legacy `.h5`).
    var weightGroupName: String { scope.first?.name ?? name }
}

/// One source layer's effective dtype policy (its config's `dtype`, float32 when absent), K-W6c.
struct KerasSourcePolicy: Equatable, Sendable, Codable {
    /// The source layer's name (`wrapper/inner` for a wrapper's inner layer, K-N2b).
    var layer: String
    var policy: String
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
    /// What the reader must tell the user and record in the metadata (K-N rules).
    var notes = KerasPlanNotes()
    /// For an architecture inferred from a Keras 3 weights file: the group of each weighted layer, in order
    /// (the file's own places, class-named or attribute-named).
    var inferredGroups: [String]?
    /// Layers the writer renamed for the target Keras: written name → original name (K-W5).
    var renamedLayers: [String: String] = [:]
    /// Written layer name → the source's dtype policy it carries (K-W6b); layers not named declare float32.
    var writtenPolicies: [String: String] = [:]
    /// Source layers whose recorded policy the written file does not carry, as "'layer' (policy)" (K-W6a).
    var uncarriedPolicies: [String] = []
    /// Of those, the layers without a written counterpart that cast (K-W6e: Dropout-style layers, a linear Activation).
    var uncarriedCasts: [String] = []
    /// Of those, the layers whose written tensors are narrower than the policy's variables, as "'layer' (dtype)" (K-W6a:
    /// rounded by a `--dtype` conversion).
    var roundedPolicyWeights: [String] = []

    var weightedLayers: [KerasLayerPlan] { layers.filter(\.hasWeights) }
}

/// Facts about a Keras model that the canonical model does not carry but a user must hear about
/// (`Spec/keras-mapping.md`, K-N1 … K-N4).
struct KerasPlanNotes: Equatable, Sendable {
    /// Layers whose dropout is active at inference (called with training=True): layer name → what drops.
    var inferenceDropout: [(layer: String, what: String)] = []
    /// Layers computed under a lower-precision dtype policy: layer name → policy name.
    var dtypePolicies: [(layer: String, policy: String)] = []
    /// Of those, the inner layers of a TimeDistributed with another policy (`wrapper/inner`, K-N2b) and the wrapper's.
    var timeDistributedInner: [(layer: String, wrapper: String)] = []
    /// Defaults assumed for options the file does not state (inferred architectures, old configs).
    var assumedDefaults: [String] = []
    /// Layers that were folded or flattened, for the metadata: original layer name → what happened.
    var rewrites: [(layer: String, what: String)] = []

    static func == (a: Self, b: Self) -> Bool {
        a.inferenceDropout.map { [$0.layer, $0.what] } == b.inferenceDropout.map { [$0.layer, $0.what] }
            && a.dtypePolicies.map { [$0.layer, $0.policy] } == b.dtypePolicies.map { [$0.layer, $0.policy] }
            && a.timeDistributedInner.map { [$0.layer, $0.wrapper] } == b.timeDistributedInner.map { [$0.layer, $0.wrapper] } && a.assumedDefaults == b.assumedDefaults
            && a.rewrites.map { [$0.layer, $0.what] } == b.rewrites.map { [$0.layer, $0.what] }
    }
}
