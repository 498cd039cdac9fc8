/// Keras 2's `CuDNNLSTM` weights → plain LSTM weights, exactly as tf.keras converts them when it loads a
/// CuDNNLSTM file into an `LSTM` (`hdf5_format._convert_rnn_weights`, `Spec/keras-mapping.md` K-M5): the
/// `GateLayout.cudnn` entry read, the `GateLayout.keras` entry written.
///
/// - kernel [in, 4u]: each gate block k [in, u] becomes `k.T.reshape((in, u), order="F")`;
/// - recurrent_kernel [u, 4u]: each gate block is transposed;
/// - bias [8u]: the input half and the recurrent half are summed into [4u].
///
/// Gate order stays i, f, c, o. For in ≠ u the kernel rule is a reshuffle, not a transpose; it is what Keras
/// does, so the result predicts what Keras's own conversion predicts.
enum KerasCuDNN {
    static func kernel(_ k: Tensor, units u: Int) -> Tensor {
        GateLayout.join(gateOrder.map { GateLayout.split(k, .columnsReshaped, inputs: k.shape[0], hidden: u, order: gateOrder)[$0]! }, .columnsTransposed)
    }

    static func recurrentKernel(_ r: Tensor, units u: Int) -> Tensor {
        GateLayout.join(gateOrder.map { GateLayout.split(r, .columnsReshaped, inputs: u, hidden: u, order: gateOrder)[$0]! }, .columnsTransposed)
    }

    /// b[0..<4u] + b[4u..<8u], each sum rounded once to the bias dtype (as numpy's float32 add does).
    static func bias(_ b: Tensor, units u: Int) -> Tensor {
        BiasSum.halves(b)
    }

    private static var gateOrder: [Gate] { GateLayout.cudnn.gateOrder }
}
