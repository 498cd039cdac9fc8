import Foundation

/// Keras weight arrays ↔ canonical tensors (`Spec/keras-mapping.md`, K-M rules). Pure: no files.
///
/// Keras stores an LSTM as kernel [in, 4u], recurrent_kernel [u, 4u] and bias [4u], the 4u columns in gate
/// order i, f, c, o (`GateLayout.keras`; CuDNNLSTM: `GateLayout.cudnn`); the canonical model holds
/// W_g = kernel[:, g-slice]ᵀ [u, in], U_g [u, u], b_g [u]. A Dense kernel is [in, out]; canonical V = kernelᵀ.
/// Every rearrangement is the layout layer's (`Spec/layout.md`) and moves element bytes unchanged.
enum KerasWeightMapping {
    /// Keras's gate order in the 4u columns.
    static var kerasGateOrder: [Gate] { GateLayout.keras.gateOrder }

    static func transposed(_ m: Tensor) -> Tensor { m.transposed2D() }

    /// A read Dense kernel's transpose V, held as the kernel and the move (`Spec/layout.md` G8).
    static func transposedForReading(_ m: Tensor) -> Tensor { m.transposed2D(deferred: true) }

    /// The tensors in one dtype: unchanged when they share one (bfloat16 only reaches Keras 3 writers, which
    /// store it as Keras does, K-W6), otherwise widened exactly (a mix → float32, or float64 when one is float64).
    static func commonDType(_ ts: [Tensor]) -> [Tensor] {
        let dtypes = Set(ts.map(\.dtype))
        if dtypes.count == 1 { return ts }
        let target: DType = dtypes.contains(.float64) ? .float64 : .float32
        return ts.map { $0.converted(to: target) }
    }

    // MARK: one LSTM cell

    /// Canonical tensors of one cell from Keras kernel [in, 4u], recurrent [u, 4u], bias [4u] (nil: zeros, M14).
    /// The shapes must already have been checked against the layer's config (`KerasModelBuilder`).
    static func cellTensors(kernel: Tensor, recurrent: Tensor, bias: Tensor?, units u: Int, layer k: Int, cell: CellDirection,
                            layout: GateLayout = .keras) -> [String: Tensor] {
        let framework = FrameworkCell(input: kernel, recurrent: recurrent, biases: bias.map { [$0] } ?? [])
        do {
            return try layout.unpack(framework, hidden: u).tensors(layer: k, cell: cell)
        } catch {
            preconditionFailure("shapes are checked before the layout is applied: \(error)")
        }
    }

    /// Keras kernel, recurrent_kernel and bias of one canonical cell, each made a run of rows at a time as it
    /// is written (H16).
    static func kerasCell(_ model: LSTMModel, layer k: Int, cell: CellDirection) -> [TensorRows] {
        var c = CanonicalCell(model, layer: k, cell: cell)
        for part in [\CanonicalCell.W, \CanonicalCell.U, \CanonicalCell.b] {
            let widened = commonDType(Gate.allCases.map { c[keyPath: part][$0]! })
            c[keyPath: part] = Dictionary(uniqueKeysWithValues: zip(Gate.allCases, widened))
        }
        return GateLayout.keras.packRows(c)
    }

    /// Keras kernel [in, out] and bias [out] of canonical dense layer j.
    static func kerasDense(_ model: LSTMModel, layer j: Int) -> [TensorRows] {
        let v = model.tensors[TensorName.denseV(j)]!, c = model.tensors[TensorName.denseC(j)]!
        return [TensorRows.transposed(v), TensorRows(c)]
    }

    /// Weight arrays of every weighted Keras layer in model order: per LSTM layer kernel, recurrent_kernel,
    /// bias (forward cell then backward cell for Bidirectional), then per dense layer kernel, bias. Each array
    /// is made a run of rows at a time as it is written, so a writer holds at most one rearranged array (K-W9,
    /// H16).
    static func kerasWeightArrays(_ model: LSTMModel) -> [[TensorRows]] {
        var out: [[TensorRows]] = []
        if let e = model.tensors[TensorName.embedding], model.architecture.embedding != nil { out.append([TensorRows(e)]) }
        for (k, layer) in model.architecture.layers.enumerated() {
            out.append(layer.cells.flatMap { kerasCell(model, layer: k, cell: $0) })
        }
        for j in model.architecture.dense.indices { out.append(kerasDense(model, layer: j)) }
        return out
    }

    /// `kerasWeightArrays`, every array made.
    static func kerasWeights(_ model: LSTMModel) -> [[Tensor]] {
        kerasWeightArrays(model).map { $0.map { $0.make() } }
    }
}
