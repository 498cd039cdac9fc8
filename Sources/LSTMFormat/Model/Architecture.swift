/// Which way an LSTM layer reads the sequence.
public enum Direction: String, Codable, CaseIterable, Sendable {
    /// t = 0 … T-1.
    case forward
    /// Reads t = T-1 … 0 and emits its states in the order it computed them (Keras `go_backwards`): a forward
    /// layer applied to the time-reversed sequence (`Spec/canonical-model.md`, M2).
    case backward
    /// A forward and a backward cell whose outputs are merged per step with `MergeMode`.
    case bidirectional
}

/// How a bidirectional layer merges its forward output h_f and backward output h_b at each step.
public enum MergeMode: String, Codable, CaseIterable, Sendable {
    /// [h_f; h_b] (2·hidden wide).
    case concat
    /// h_f + h_b.
    case sum
    /// h_f ⊙ h_b.
    case mul
    /// (h_f + h_b) / 2.
    case ave
}

/// One of the two cells of a layer, as it appears in canonical tensor names.
public enum CellDirection: String, Codable, CaseIterable, Sendable {
    case fwd
    case bwd
}

/// The four gates in canonical order (the seed's f, i, c, o). Keras stores them as i, f, c, o.
public enum Gate: String, Codable, CaseIterable, Sendable {
    case f, i, c, o

    /// The gates with a peephole p_g ⊙ C (M25), in canonical order: f, i, o (ONNX stores them as i, o, f).
    public static let peepholed: [Gate] = [.f, .i, .o]
}

/// Shape and activation of one LSTM layer, without weights.
public struct LSTMLayerSpec: Codable, Equatable, Sendable {
    public var inputSize: Int
    public var hiddenSize: Int
    public var direction: Direction
    /// Required for `.bidirectional`, nil otherwise.
    public var mergeMode: MergeMode?
    /// σ in eq. 8.24 (gates f, i, o).
    public var gateActivation: Activation
    /// The activation of the candidate C̃ and of the cell output tanh(C) in eq. 8.24.
    public var cellActivation: Activation
    /// In a masked model (M19): true makes the layer's output 0 at a masked step (Keras `zero_output_for_mask`),
    /// false repeats the carried h there. A bidirectional layer has it exactly when it returns sequences (M21).
    public var zeroOutputForMask: Bool
    /// M24: P of a projected layer (PyTorch `proj_size`): h(t) = W_hr (o(t) ⊙ act(C(t))) with W_hr [P, H] per
    /// cell, so h is P wide (U_* [H, P]) while C stays H wide. nil (the default) for no projection.
    public var projectionSize: Int?
    /// M25: the layer's cells have peephole vectors p_f, p_i, p_o [H] (ONNX `P`): p_f ⊙ C(t-1) and
    /// p_i ⊙ C(t-1) enter f and i, p_o ⊙ C(t) (the new cell state) enters o. false (the default) for none.
    public var peepholes: Bool

    public init(inputSize: Int, hiddenSize: Int, direction: Direction = .forward, mergeMode: MergeMode? = nil,
                gateActivation: Activation = .sigmoid, cellActivation: Activation = .tanh,
                zeroOutputForMask: Bool = false, projectionSize: Int? = nil, peepholes: Bool = false) {
        self.projectionSize = projectionSize
        self.peepholes = peepholes
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.direction = direction
        self.mergeMode = mergeMode
        self.gateActivation = gateActivation
        self.cellActivation = cellActivation
        self.zeroOutputForMask = zeroOutputForMask
    }

    enum CodingKeys: String, CodingKey {
        case inputSize, hiddenSize, direction, mergeMode, gateActivation, cellActivation, zeroOutputForMask
        case projectionSize, peepholes
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(inputSize: try c.decode(Int.self, forKey: .inputSize), hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  direction: try c.decode(Direction.self, forKey: .direction),
                  mergeMode: try c.decodeIfPresent(MergeMode.self, forKey: .mergeMode),
                  gateActivation: try c.decode(Activation.self, forKey: .gateActivation),
                  cellActivation: try c.decode(Activation.self, forKey: .cellActivation),
                  zeroOutputForMask: try c.decodeIfPresent(Bool.self, forKey: .zeroOutputForMask) ?? false,
                  projectionSize: try c.decodeIfPresent(Int.self, forKey: .projectionSize),
                  peepholes: try c.decodeIfPresent(Bool.self, forKey: .peepholes) ?? false)
    }

    /// Writes every key, `mergeMode` as null when absent, so JSON reports have a fixed set of keys.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(direction, forKey: .direction)
        try c.encode(mergeMode, forKey: .mergeMode)
        try c.encode(gateActivation, forKey: .gateActivation)
        try c.encode(cellActivation, forKey: .cellActivation)
        try c.encode(zeroOutputForMask, forKey: .zeroOutputForMask)
        // M24: only a projected layer has the key, so every other report keeps its bytes.
        try c.encodeIfPresent(projectionSize, forKey: .projectionSize)
        // M25: likewise only a layer with peepholes has the key.
        if peepholes { try c.encode(true, forKey: .peepholes) }
    }

    /// The cells this layer has, in canonical order.
    public var cells: [CellDirection] {
        switch direction {
        case .forward: [.fwd]
        case .backward: [.bwd]
        case .bidirectional: [.fwd, .bwd]
        }
    }

    /// Width of each cell's h: P for a projected layer (M24), H otherwise.
    public var stateSize: Int { projectionSize ?? hiddenSize }

    /// Width of the layer's output at each step (from h, so P wide per cell for a projected layer).
    public var outputSize: Int {
        direction == .bidirectional && mergeMode == .concat ? 2 * stateSize : stateSize
    }
}

/// Shape and activation of one dense layer of the head: y = g(V·h + c).
public struct DenseLayerSpec: Codable, Equatable, Sendable {
    public var inputSize: Int
    public var outputSize: Int
    public var activation: Activation

    public init(inputSize: Int, outputSize: Int, activation: Activation = .linear) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
    }
}

/// An input embedding (`Spec/canonical-model.md` M17): inputs are integer token ids, x(t) = E[id(t)] with the
/// table `embedding.E` [vocabularySize, first LSTM layer's input size] (Keras `Embedding(input_dim, output_dim)`).
public struct EmbeddingSpec: Codable, Equatable, Sendable {
    /// Number of rows of E; ids MUST lie in 0 ..< vocabularySize (Keras `input_dim`).
    public var vocabularySize: Int
    /// Id 0 masks its step (Keras `mask_zero`, M18).
    public var maskZero: Bool

    public init(vocabularySize: Int, maskZero: Bool = false) {
        self.vocabularySize = vocabularySize
        self.maskZero = maskZero
    }
}

/// Everything about a model except its weights and metadata.
public struct ModelArchitecture: Codable, Equatable, Sendable {
    /// The LSTM stack, input side first. Every layer but the last returns its full sequence.
    public var layers: [LSTMLayerSpec]
    /// For the last LSTM layer: true gives an output at every step (many-to-many), false only at the last step
    /// (many-to-one). The dense head is applied at every returned step.
    public var returnSequences: Bool
    /// The dense head, applied in order; may be empty (the output is then the last LSTM layer's h).
    public var dense: [DenseLayerSpec]
    /// Optional input embedding (M17): inputs are then token ids [batch, steps].
    public var embedding: EmbeddingSpec?
    /// Optional Keras `Masking(mask_value)` on float inputs (M18): a step whose every feature equals this value
    /// (compared in the inputs' dtype) is masked. Not allowed together with an embedding.
    public var maskValue: Double?

    public init(layers: [LSTMLayerSpec], returnSequences: Bool, dense: [DenseLayerSpec],
                embedding: EmbeddingSpec? = nil, maskValue: Double? = nil) {
        self.layers = layers
        self.returnSequences = returnSequences
        self.dense = dense
        self.embedding = embedding
        self.maskValue = maskValue
    }

    enum CodingKeys: String, CodingKey { case layers, returnSequences, dense, embedding, maskValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(layers: try c.decode([LSTMLayerSpec].self, forKey: .layers),
                  returnSequences: try c.decode(Bool.self, forKey: .returnSequences),
                  dense: try c.decode([DenseLayerSpec].self, forKey: .dense),
                  embedding: try c.decodeIfPresent(EmbeddingSpec.self, forKey: .embedding),
                  maskValue: try c.decodeIfPresent(Double.self, forKey: .maskValue))
    }

    /// Writes every key, `embedding` and `maskValue` as null when absent (fixed key set for JSON reports).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layers, forKey: .layers)
        try c.encode(returnSequences, forKey: .returnSequences)
        try c.encode(dense, forKey: .dense)
        try c.encode(embedding, forKey: .embedding)
        try c.encode(maskValue, forKey: .maskValue)
    }

    /// True when some steps can be masked: an embedding with `maskZero` or a mask value (M18).
    public var isMasked: Bool { embedding?.maskZero == true || maskValue != nil }

    /// Width of one step of the float sequence the first LSTM layer reads (the embedding's dimension).
    public var inputSize: Int { layers.first?.inputSize ?? 0 }
    public var outputSize: Int { dense.last?.outputSize ?? layers.last?.outputSize ?? 0 }

    /// Every tensor the architecture needs, in canonical order, with its shape:
    /// per layer and cell W_f…W_o [hidden, input], U_f…U_o [hidden, state], b_f…b_o [hidden], then for a layer
    /// with peepholes p_f, p_i, p_o [hidden] (M25), then for a projected layer W_hr [projection, hidden] (M24;
    /// state = projection or hidden);
    /// then per dense layer V [out, in] and c [out].
    public var expectedTensors: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        if let e = embedding { out.append((TensorName.embedding, [e.vocabularySize, inputSize])) }
        for (k, layer) in layers.enumerated() {
            for cell in layer.cells {
                for g in Gate.allCases { out.append((TensorName.lstm(k, cell, .W, g), [layer.hiddenSize, layer.inputSize])) }
                for g in Gate.allCases { out.append((TensorName.lstm(k, cell, .U, g), [layer.hiddenSize, layer.stateSize])) }
                for g in Gate.allCases { out.append((TensorName.lstm(k, cell, .b, g), [layer.hiddenSize])) }
                if layer.peepholes {
                    for g in Gate.peepholed { out.append((TensorName.peephole(k, cell, g), [layer.hiddenSize])) }
                }
                if let p = layer.projectionSize { out.append((TensorName.projection(k, cell), [p, layer.hiddenSize])) }
            }
        }
        for (k, d) in dense.enumerated() {
            out.append((TensorName.denseV(k), [d.outputSize, d.inputSize]))
            out.append((TensorName.denseC(k), [d.outputSize]))
        }
        return out
    }

    /// Checks that sizes chain, activations fit their place and merge modes are set exactly where needed.
    public func validate() throws(ModelError) {
        guard !layers.isEmpty else { throw .invalidArchitecture("the model has no LSTM layer") }
        for (k, layer) in layers.enumerated() {
            let name = "lstm.\(k)"
            guard layer.inputSize > 0 else { throw .invalidArchitecture("\(name): input size \(layer.inputSize) must be positive") }
            guard layer.hiddenSize > 0 else { throw .invalidArchitecture("\(name): hidden size \(layer.hiddenSize) must be positive") }
            if let p = layer.projectionSize, !(1..<layer.hiddenSize).contains(p) {
                throw .invalidArchitecture("\(name): projection size \(p) must be at least 1 and less than the hidden size \(layer.hiddenSize) (M24)")
            }
            if k > 0, layer.inputSize != layers[k - 1].outputSize {
                throw .invalidArchitecture("\(name): input size \(layer.inputSize) does not match the output size \(layers[k - 1].outputSize) of lstm.\(k - 1)")
            }
            switch (layer.direction, layer.mergeMode) {
            case (.bidirectional, nil): throw .invalidArchitecture("\(name): a bidirectional layer needs a merge mode")
            case (.forward, .some), (.backward, .some): throw .invalidArchitecture("\(name): merge mode is only for bidirectional layers")
            default: break
            }
            guard layer.gateActivation.isElementwise else { throw .invalidActivation(place: "\(name) gate activation", activation: layer.gateActivation) }
            guard layer.cellActivation.isElementwise else { throw .invalidActivation(place: "\(name) cell activation", activation: layer.cellActivation) }
            let returnsSequences = k < layers.count - 1 || returnSequences
            if !isMasked, layer.zeroOutputForMask {
                throw .invalidArchitecture("\(name): zero output for masked steps is set but the model has no mask")
            }
            if isMasked, layer.direction == .bidirectional, layer.zeroOutputForMask != returnsSequences {
                throw .invalidArchitecture("\(name): a bidirectional layer outputs zeros at masked steps exactly when it returns sequences (zero_output_for_mask must be \(returnsSequences))")
            }
        }
        if let e = embedding {
            guard e.vocabularySize > 0 else { throw .invalidArchitecture("embedding: vocabulary size \(e.vocabularySize) must be positive") }
            guard maskValue == nil else { throw .invalidArchitecture("a model with an embedding cannot also have a mask value") }
        }
        if let v = maskValue, !v.isFinite { throw .invalidArchitecture("mask value \(v) must be finite") }
        var width = layers[layers.count - 1].outputSize
        for (k, d) in dense.enumerated() {
            guard d.outputSize > 0 else { throw .invalidArchitecture("dense.\(k): output size \(d.outputSize) must be positive") }
            guard d.inputSize == width else {
                throw .invalidArchitecture("dense.\(k): input size \(d.inputSize) does not match the width \(width) of the layer before it")
            }
            width = d.outputSize
        }
    }
}

/// Canonical tensor names: `lstm.{k}.{fwd|bwd}.{W|U|b}_{f|i|c|o}` and `dense.{k}.V`, `dense.{k}.c`.
public enum TensorName {
    public enum Kind: String, CaseIterable, Sendable { case W, U, b }

    public static func lstm(_ layer: Int, _ cell: CellDirection, _ kind: Kind, _ gate: Gate) -> String {
        "lstm.\(layer).\(cell.rawValue).\(kind.rawValue)_\(gate.rawValue)"
    }
    /// The projection W_hr [P, H] of a projected cell (M24), after the cell's b_o in canonical order.
    public static func projection(_ layer: Int, _ cell: CellDirection) -> String {
        "lstm.\(layer).\(cell.rawValue).W_hr"
    }
    /// The peephole vector p_g [H] of gate f, i or o of a cell with peepholes (M25), after b_o in canonical order.
    public static func peephole(_ layer: Int, _ cell: CellDirection, _ gate: Gate) -> String {
        "lstm.\(layer).\(cell.rawValue).p_\(gate.rawValue)"
    }
    /// The embedding table E [vocabulary, dim] (M17), first in canonical order.
    public static let embedding = "embedding.E"
    public static func denseV(_ layer: Int) -> String { "dense.\(layer).V" }
    public static func denseC(_ layer: Int) -> String { "dense.\(layer).c" }
}
