/// How one framework stores the four gates of an LSTM cell (`Spec/layout.md`, G1–G6): a declarative
/// description that `GateLayout.unpack` and `GateLayout.pack` apply, byte for byte, in both directions.
///
/// A framework's cell is an input-weight matrix, a recurrent-weight matrix and zero, one or two bias arrays;
/// the canonical cell is W_g [H, n], U_g [H, H] and b_g [H] for the gates f, i, c, o (`Spec/canonical-model.md`).
public struct GateLayout: Sendable, Equatable, CustomStringConvertible {
    /// How the four gate blocks of a weight matrix are stacked (G2).
    public enum MatrixStorage: String, Sendable, Equatable {
        /// [4H, n]: block k is rows k·H ..< (k+1)·H and equals W_g (PyTorch, ONNX).
        case rows
        /// [n, 4H]: block k is columns k·H ..< (k+1)·H and equals W_gᵀ (Keras).
        case columnsTransposed
        /// [n, 4H]: block k is columns k·H ..< (k+1)·H; its elements read in C order are W_g's elements in
        /// C order (cuDNN as Keras 2 stores CuDNNLSTM; tf.keras converts it with `k.T.reshape((n, H), order="F")`).
        case columnsReshaped
    }

    /// How the bias is stored (G3).
    public enum BiasStorage: String, Sendable, Equatable {
        /// One [4H] array (Keras).
        case single
        /// One [8H] array: the input-side [4H] then the recurrent-side [4H]; b = sum of the halves (cuDNN, ONNX `B`).
        case concatenatedPair
        /// Two [4H] arrays, input-side then recurrent-side; b = their sum (PyTorch `bias_ih`, `bias_hh`).
        case separatePair
    }

    /// How the cells of a bidirectional layer are stored (G5).
    public enum DirectionStorage: String, Sendable, Equatable {
        /// Each direction has its own arrays (Keras forward/backward layers, PyTorch `_reverse` suffix).
        case separateArrays
        /// Every array has a leading `num_directions` axis, forward first (ONNX [dirs, 4H, n]).
        case stackedLeading
    }

    /// Short name for messages ("Keras", "PyTorch", …).
    public var name: String
    /// The gate of each stacked block, first block first (G1).
    public var gateOrder: [Gate]
    public var inputWeights: MatrixStorage
    public var recurrentWeights: MatrixStorage
    public var bias: BiasStorage
    public var directions: DirectionStorage

    public init(name: String, gateOrder: [Gate], inputWeights: MatrixStorage, recurrentWeights: MatrixStorage,
                bias: BiasStorage, directions: DirectionStorage) {
        precondition(Set(gateOrder).count == 4 && gateOrder.count == 4, "a gate order names each of the four gates once")
        self.name = name
        self.gateOrder = gateOrder
        self.inputWeights = inputWeights
        self.recurrentWeights = recurrentWeights
        self.bias = bias
        self.directions = directions
    }

    public var description: String {
        "\(name): gates \(gateOrder.map(\.rawValue).joined(separator: ",")), input \(inputWeights.rawValue), "
            + "recurrent \(recurrentWeights.rawValue), bias \(bias.rawValue), directions \(directions.rawValue)"
    }

    /// Shape of the framework's input-weight matrix for n inputs and H units.
    public func inputShape(inputs n: Int, hidden h: Int) -> [Int] { Self.shape(inputWeights, n, h) }
    /// Shape of the framework's recurrent-weight matrix for H units.
    public func recurrentShape(hidden h: Int) -> [Int] { Self.shape(recurrentWeights, h, h) }
    /// Shapes of the framework's bias arrays for H units.
    public func biasShapes(hidden h: Int) -> [[Int]] {
        switch bias {
        case .single: [[4 * h]]
        case .concatenatedPair: [[8 * h]]
        case .separatePair: [[4 * h], [4 * h]]
        }
    }

    static func shape(_ s: MatrixStorage, _ n: Int, _ h: Int) -> [Int] {
        s == .rows ? [4 * h, n] : [n, 4 * h]
    }
}
