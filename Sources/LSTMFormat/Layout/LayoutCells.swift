/// One LSTM cell as a framework stores it (`GateLayout`): the input-weight matrix, the recurrent-weight matrix
/// and the bias arrays (none, one, or two), each with the shape `GateLayout` gives for it.
public struct FrameworkCell: Sendable, Equatable {
    public var input: Tensor
    public var recurrent: Tensor
    /// Empty when the framework stores no bias (the canonical b is then zero, M14).
    public var biases: [Tensor]

    public init(input: Tensor, recurrent: Tensor, biases: [Tensor]) {
        self.input = input
        self.recurrent = recurrent
        self.biases = biases
    }
}

/// One LSTM cell in canonical form: W_g [H, n], U_g [H, H], b_g [H] for each gate g.
public struct CanonicalCell: Sendable, Equatable {
    public var W: [Gate: Tensor]
    public var U: [Gate: Tensor]
    public var b: [Gate: Tensor]

    public init(W: [Gate: Tensor], U: [Gate: Tensor], b: [Gate: Tensor]) {
        self.W = W
        self.U = U
        self.b = b
    }

    /// The tensors of cell `cell` of layer `layer` of `model`.
    public init(_ model: LSTMModel, layer: Int, cell: CellDirection) {
        func t(_ kind: TensorName.Kind, _ g: Gate) -> Tensor { model.tensors[TensorName.lstm(layer, cell, kind, g)]! }
        W = Dictionary(uniqueKeysWithValues: Gate.allCases.map { ($0, t(.W, $0)) })
        U = Dictionary(uniqueKeysWithValues: Gate.allCases.map { ($0, t(.U, $0)) })
        b = Dictionary(uniqueKeysWithValues: Gate.allCases.map { ($0, t(.b, $0)) })
    }

    /// The canonical names (`lstm.{layer}.{cell}.{W|U|b}_{g}`) of this cell's twelve tensors.
    public func tensors(layer: Int, cell: CellDirection) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for g in Gate.allCases {
            out[TensorName.lstm(layer, cell, .W, g)] = W[g]
            out[TensorName.lstm(layer, cell, .U, g)] = U[g]
            out[TensorName.lstm(layer, cell, .b, g)] = b[g]
        }
        return out
    }
}

/// A framework cell whose arrays do not have the shapes its layout requires.
public enum LayoutError: Error, CustomStringConvertible, Equatable, Sendable {
    /// G4: `array` ("input weights", "recurrent weights", "bias 0", …) has the wrong shape.
    case shape(layout: String, array: String, expected: [Int], actual: [Int])
    /// G3: the number of bias arrays does not match the layout.
    case biasCount(layout: String, expected: Int, actual: Int)
    /// G5: a direction-stacked array does not have the direction count as its leading dimension.
    case directions(array: String, expected: Int, actual: [Int])

    public var description: String {
        switch self {
        case .shape(let l, let a, let e, let s): "\(l) \(a) have shape \(s), expected \(e)"
        case .biasCount(let l, let e, let a): "\(l) stores \(e) bias array\(e == 1 ? "" : "s") per cell, found \(a)"
        case .directions(let a, let e, let s): "\(a) has shape \(s), expected a leading dimension of \(e) directions"
        }
    }
}
