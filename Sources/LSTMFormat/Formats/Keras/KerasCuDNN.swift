/// Keras 2's `CuDNNLSTM` weights → plain LSTM weights, exactly as tf.keras converts them when it loads a
/// CuDNNLSTM file into an `LSTM` (`hdf5_format._convert_rnn_weights`, `Spec/keras-mapping.md` K-M5):
///
/// - kernel [in, 4u]: each gate block k [in, u] becomes `k.T.reshape((in, u), order="F")`;
/// - recurrent_kernel [u, 4u]: each gate block is transposed;
/// - bias [8u]: the input half and the recurrent half are summed into [4u].
///
/// Gate order stays i, f, c, o. For in ≠ u the kernel rule is a reshuffle, not a transpose; it is what Keras
/// does, so the result predicts what Keras's own conversion predicts.
enum KerasCuDNN {
    static func kernel(_ k: Tensor, units u: Int) -> Tensor {
        let n = k.shape[0], cols = k.shape[1]
        return KerasWeightMapping.gather(k, shape: [n, cols]) { index in
            let p = index / cols, col = index % cols, g = col / u, q = col % u
            let linear = p + q * n  // Fortran-order position in the [in, u] block
            return (linear / u) * cols + g * u + linear % u
        }
    }

    static func recurrentKernel(_ r: Tensor, units u: Int) -> Tensor {
        let cols = r.shape[1]
        return KerasWeightMapping.gather(r, shape: r.shape) { index in
            let p = index / cols, col = index % cols, g = col / u, q = col % u
            return q * cols + g * u + p
        }
    }

    /// b[0..<4u] + b[4u..<8u], each sum rounded once to the bias dtype (as numpy's float32 add does).
    static func bias(_ b: Tensor, units u: Int) -> Tensor {
        let v = b.float64Values()
        let sums = (0..<(4 * u)).map { v[$0] + v[$0 + 4 * u] }
        return Tensor(shape: [4 * u], values: sums, dtype: b.dtype)
    }
}
