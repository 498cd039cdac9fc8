/// The gate layouts of the frameworks LSTMFormat reads and writes (`Spec/layout.md`, G7). A new framework adds
/// an entry here, or uses one of these.
extension GateLayout {
    /// Keras `LSTM`: kernel [n, 4H], recurrent_kernel [H, 4H], columns in gate order i, f, c, o; bias [4H].
    public static let keras = GateLayout(name: "Keras", gateOrder: [.i, .f, .c, .o], inputWeights: .columnsTransposed,
                                         recurrentWeights: .columnsTransposed, bias: .single, directions: .separateArrays)

    /// Keras 2 `CuDNNLSTM`: kernel [n, 4H] and recurrent_kernel [H, 4H] in cuDNN's element order per gate block,
    /// gate order i, f, c, o; bias [8H] (input-side then recurrent-side), converted exactly as tf.keras converts it.
    public static let cudnn = GateLayout(name: "CuDNN", gateOrder: [.i, .f, .c, .o], inputWeights: .columnsReshaped,
                                         recurrentWeights: .columnsReshaped, bias: .concatenatedPair, directions: .separateArrays)

    /// PyTorch `nn.LSTM`: weight_ih [4H, n], weight_hh [4H, H], rows in gate order i, f, g, o (PyTorch's g is the
    /// canonical c); bias_ih and bias_hh [4H] each, b = bias_ih + bias_hh; `_reverse` arrays for the backward cell.
    public static let pytorch = GateLayout(name: "PyTorch", gateOrder: [.i, .f, .c, .o], inputWeights: .rows,
                                           recurrentWeights: .rows, bias: .separatePair, directions: .separateArrays)

    /// ONNX `LSTM`: W [dirs, 4H, n], R [dirs, 4H, H], rows in gate order i, o, f, c; B [dirs, 8H] = [Wb ‖ Rb].
    public static let onnx = GateLayout(name: "ONNX", gateOrder: [.i, .o, .f, .c], inputWeights: .rows,
                                        recurrentWeights: .rows, bias: .concatenatedPair, directions: .stackedLeading)

    /// Every entry, for documentation and tests.
    public static let all: [GateLayout] = [.keras, .cudnn, .pytorch, .onnx]
}
