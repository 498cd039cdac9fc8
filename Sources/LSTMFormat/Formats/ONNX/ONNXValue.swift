/// A size in the graph: a number, or the input's symbolic batch or steps (O-R3).
enum ONNXDim: Equatable, Sendable, CustomStringConvertible {
    case known(Int)
    case batch
    case steps
    /// batch · steps (a Reshape that flattens both, as Keras's `Tensordot` does).
    case batchSteps

    var description: String {
        switch self {
        case .known(let n): "\(n)"
        case .batch: "batch"
        case .steps: "steps"
        case .batchSteps: "batch·steps"
        }
    }
}

/// One axis of the data flowing from the graph input.
enum ONNXAxis: Equatable, Sendable {
    case batch
    case time
    /// batch and time flattened into one axis (in that order).
    case batchTime
    /// The direction axis of an LSTM output (1 or 2 long).
    case dir(Int)
    case feature(Int)
    /// A size-1 axis added by `Unsqueeze` or kept by a `Gather`/`Slice`.
    case unit
    /// Final states of several stacked layers joined along the direction axis (PyTorch's `h_n`, O-R8): `earlier`
    /// entries of earlier layers, then the `dirs` entries of the last layer.
    case stateStack(earlier: Int, dirs: Int)

    var dim: ONNXDim {
        switch self {
        case .batch: .batch
        case .time: .steps
        case .batchTime: .batchSteps
        case .dir(let n), .feature(let n): .known(n)
        case .unit: .known(1)
        case .stateStack(let e, let d): .known(e + d)
        }
    }

    var isSizeOne: Bool { dim == .known(1) }
}

/// What the flowing data means in canonical terms.
enum ONNXStage: Equatable, Sendable {
    /// The graph input x.
    case input
    /// The `Y` of the last parsed layer. `inputOrder` is true for a reverse-only layer whose steps are still in
    /// input order (not yet what a canonical `backward` layer emits, M2).
    case sequence(inputOrder: Bool)
    /// The last layer's many-to-one output (M5): its `Y_h`, or the right step of its `Y`.
    case lastStep
    /// After the `MatMul`/`Gemm` of the last dense layer, before its activation; `hasBias` once `Add` is seen.
    case linear(hasBias: Bool)
    /// After the last dense layer's activation.
    case activated
}

/// One parsed LSTM node: the canonical layer it becomes and its tensors.
struct ONNXLayer: Sendable {
    var spec: LSTMLayerSpec
    /// Canonical names relative to the layer (`fwd.W_f`, …).
    var tensors: [String: Tensor]
    var nodeName: String
}

/// One parsed dense layer of the head.
struct ONNXDense: Sendable {
    var V: Tensor
    var c: Tensor?
    var activation: Activation
}

/// The input embedding read from `Gather(table, ids)` (O-R15): E `[V, I]` and the node it came from.
struct ONNXEmbedding: Sendable {
    var E: Tensor
    var nodeName: String
    /// True when the file reads a row for id −1 (ONNX `Gather`'s negative indices), which the canonical model
    /// refuses (M17); said through `ReadOptions.warn`.
    var readsNegativeIds: Bool
}

/// Integer (or boolean, as 0 and 1) data computed element by element from the token-id input (O-R15): its axes
/// (`[batch, time]` at the input) and the value an element takes for the token id at its place.
struct ONNXTokens: Sendable {
    var axes: [ONNXAxis]
    var value: @Sendable (Int64) -> Double
}

/// The data flowing from the graph input, with its axes and its canonical meaning so far.
struct ONNXFlow: Sendable {
    var axes: [ONNXAxis]
    var stage: ONNXStage
    var layers: [ONNXLayer]
    var dense: [ONNXDense]
    /// True once the last step was taken (M5 `return_sequences` false).
    var manyToOne: Bool
    /// The embedding whose rows this data started as (O-R15); nil for a float input.
    var embedding: ONNXEmbedding? = nil
    /// Set when only one direction (0 forward, 1 backward) of the last, bidirectional layer was selected; the
    /// two are merged again by `Concat` (concat), `Add` (sum) or `Mul` (mul).
    var dirPick: Int? = nil
    /// Set when the input sequence was time-reversed (`ReverseSequence` over all steps) before the next LSTM.
    var timeReversed = false

    var dims: [ONNXDim] { axes.map(\.dim) }
}

/// An abstract value of the graph evaluation (O-R3).
enum ONNXValue: Sendable {
    /// Numbers known when reading (initializers, `Constant`, folded arithmetic).
    case numbers(ONNXNumbers)
    /// A rank-0 (`scalar`) or rank-1 integer tensor whose entries may be the symbolic batch or steps.
    case dims([ONNXDim], scalar: Bool)
    /// A tensor of one repeated value and a possibly symbolic shape (`ConstantOfShape`, `Expand`).
    case filled(Double, [ONNXDim], DType)
    /// A tensor filled with one symbolic size (e.g. `sequence_lens` = steps for every batch entry).
    case filledDim(ONNXDim, [ONNXDim])
    /// Data that depends on the graph input.
    case flow(ONNXFlow)
    /// Integers computed from the token-id input, element by element (O-R15).
    case tokens(ONNXTokens)
    /// A graph input other than the sequence input (e.g. an initial state fed at run time).
    case graphInput(String)
    /// A value that could not be evaluated; using it refuses with this reason.
    case refused(ONNXError)

    /// The value as a list of sizes: integer constants of rank ≤ 1 and `dims`.
    var asDims: [ONNXDim]? {
        switch self {
        case .dims(let d, _): return d
        case .numbers(.ints(let shape, let v)) where shape.count <= 1: return v.map { .known(Int(clamping: $0)) }
        default: return nil
        }
    }

    /// The value as known integers (rank ≤ 1), or nil when an entry is symbolic or the value is not integral.
    var asInts: [Int64]? {
        switch self {
        case .numbers(.ints(let shape, let v)) where shape.count <= 1: return v
        case .dims(let d, _):
            var out: [Int64] = []
            for x in d { guard case .known(let n) = x else { return nil }; out.append(Int64(n)) }
            return out
        default: return nil
        }
    }

    var isScalar: Bool {
        switch self {
        case .dims(_, let s): s
        case .numbers(.ints(let shape, _)): shape.isEmpty
        case .numbers(.floats(let t)): t.shape.isEmpty
        default: false
        }
    }
}
