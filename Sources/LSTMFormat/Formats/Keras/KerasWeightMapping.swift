import Foundation

/// Keras weight arrays ↔ canonical tensors (`Spec/keras-mapping.md`, K-M rules). Pure: no files.
///
/// Keras stores an LSTM as kernel [in, 4u], recurrent_kernel [u, 4u] and bias [4u], the 4u columns in gate
/// order i, f, c, o; the canonical model holds W_g = kernel[:, g-slice]ᵀ [u, in], U_g [u, u], b_g [u].
/// A Dense kernel is [in, out]; canonical V = kernelᵀ. Every rearrangement moves element bytes unchanged.
enum KerasWeightMapping {
    /// Keras's gate order in the 4u columns.
    static let kerasGateOrder: [Gate] = [.i, .f, .c, .o]

    // MARK: byte-exact rearrangement

    /// A tensor whose element `k` is `source`'s element `sourceIndex(k)`, bytes copied unchanged.
    static func gather(_ source: Tensor, shape: [Int], _ sourceIndex: (Int) -> Int) -> Tensor {
        let size = source.dtype.byteSize
        let count = Tensor.elementCount(shape) ?? 0
        var out = [UInt8](repeating: 0, count: count * size)
        let src = [UInt8](source.bytes)
        for k in 0..<count {
            let s = sourceIndex(k) * size
            for b in 0..<size { out[k * size + b] = src[s + b] }
        }
        return try! Tensor(dtype: source.dtype, shape: shape, bytes: Data(out))  // count·size bytes by construction
    }

    /// Columns [first, first + width) of a [rows, cols] matrix, transposed to [width, rows].
    static func columnBlockTransposed(_ m: Tensor, first: Int, width: Int) -> Tensor {
        let rows = m.shape[0], cols = m.shape[1]
        return gather(m, shape: [width, rows]) { k in (k % rows) * cols + first + k / rows }
    }

    static func transposed(_ m: Tensor) -> Tensor {
        columnBlockTransposed(m, first: 0, width: m.shape[1])
    }

    static func slice(_ v: Tensor, first: Int, count: Int) -> Tensor {
        gather(v, shape: [count]) { first + $0 }
    }

    /// Several [u, n] gate matrices side by side as [n, blocks·u]: out[r, g·u + j] = blocks[g][j, r].
    static func joinTransposed(_ blocks: [Tensor]) -> Tensor {
        let parts = commonDType(blocks)
        let u = parts[0].shape[0], n = parts[0].shape[1], cols = u * parts.count
        let all = try! Tensor(dtype: parts[0].dtype, shape: [parts.count * u * n], bytes: parts.reduce(into: Data()) { $0.append($1.bytes) })
        return gather(all, shape: [n, cols]) { k in
            let r = k / cols, col = k % cols, g = col / u, j = col % u
            return g * u * n + j * n + r
        }
    }

    static func concatenated(_ vectors: [Tensor]) -> Tensor {
        let parts = commonDType(vectors)
        let bytes = parts.reduce(into: Data()) { $0.append($1.bytes) }
        return try! Tensor(dtype: parts[0].dtype, shape: [bytes.count / parts[0].dtype.byteSize], bytes: bytes)
    }

    /// The tensors in one dtype that Keras can hold: unchanged when they share a float16/32/64 dtype, otherwise
    /// widened exactly (bfloat16 → float32; a mix → float32, or float64 when one is float64).
    static func commonDType(_ ts: [Tensor]) -> [Tensor] {
        let dtypes = Set(ts.map(\.dtype))
        if dtypes.count == 1, let d = dtypes.first, d != .bfloat16 { return ts }
        let target: DType = dtypes.contains(.float64) ? .float64 : .float32
        return ts.map { $0.converted(to: target) }
    }

    // MARK: one LSTM cell

    /// Canonical tensors of one cell from Keras kernel [in, 4u], recurrent [u, 4u], bias [4u] (nil: zeros, M14).
    static func cellTensors(kernel: Tensor, recurrent: Tensor, bias: Tensor?, units u: Int, layer k: Int, cell: CellDirection) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (index, gate) in kerasGateOrder.enumerated() {
            out[TensorName.lstm(k, cell, .W, gate)] = columnBlockTransposed(kernel, first: index * u, width: u)
            out[TensorName.lstm(k, cell, .U, gate)] = columnBlockTransposed(recurrent, first: index * u, width: u)
            out[TensorName.lstm(k, cell, .b, gate)] = bias.map { slice($0, first: index * u, count: u) }
                ?? Tensor.zeros(shape: [u], dtype: kernel.dtype)
        }
        return out
    }

    /// Keras kernel, recurrent_kernel and bias of one canonical cell.
    static func kerasCell(_ model: LSTMModel, layer k: Int, cell: CellDirection) -> [Tensor] {
        func t(_ kind: TensorName.Kind, _ g: Gate) -> Tensor { model.tensors[TensorName.lstm(k, cell, kind, g)]! }
        return [
            joinTransposed(kerasGateOrder.map { t(.W, $0) }),
            joinTransposed(kerasGateOrder.map { t(.U, $0) }),
            concatenated(kerasGateOrder.map { t(.b, $0) }),
        ]
    }

    /// Keras kernel [in, out] and bias [out] of canonical dense layer j.
    static func kerasDense(_ model: LSTMModel, layer j: Int) -> [Tensor] {
        [transposed(model.tensors[TensorName.denseV(j)]!), model.tensors[TensorName.denseC(j)]!]
    }

    /// Weight arrays of every weighted Keras layer in model order: per LSTM layer kernel, recurrent_kernel,
    /// bias (forward cell then backward cell for Bidirectional), then per dense layer kernel, bias.
    static func kerasWeights(_ model: LSTMModel) -> [[Tensor]] {
        var out: [[Tensor]] = []
        for (k, layer) in model.architecture.layers.enumerated() {
            out.append(layer.cells.flatMap { kerasCell(model, layer: k, cell: $0) })
        }
        for j in model.architecture.dense.indices { out.append(kerasDense(model, layer: j)) }
        return out
    }
}
