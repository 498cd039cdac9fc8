import Foundation

/// The framework arrays of `packLazily` made a run of rows at a time (`Spec/hdf5-layout.md`, H16): the same
/// bytes (`Spec/layout.md`, G6), never a whole rearranged matrix in memory.
extension GateLayout {
    /// Input weights, recurrent weights and bias arrays of one cell, as `packLazily` gives them.
    func packRows(_ cell: CanonicalCell) -> [TensorRows] {
        let lazy = packLazily(cell)
        return [Self.joinRows(Self.common(gateOrder.map { cell.W[$0]! }), inputWeights),
                Self.joinRows(Self.common(gateOrder.map { cell.U[$0]! }), recurrentWeights)]
            + lazy.dropFirst(2).map { TensorRows($0()) }
    }

    /// `join(blocks, storage)` (four [H, n] gate blocks into the framework matrix), made by rows. Each block's
    /// pages are dropped once the last row is made (M4).
    static func joinRows(_ blocks: [Tensor], _ storage: MatrixStorage) -> TensorRows {
        let dtype = blocks[0].dtype, size = dtype.byteSize
        let h = blocks[0].shape[0], n = blocks[0].shape[1]
        let shape = Self.shape(storage, n, h), last = shape[0]
        return TensorRows(dtype: dtype, shape: shape) { rows, d in
            for (k, block) in blocks.enumerated() {
                block.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                    let s = src.baseAddress!
                    switch storage {
                    case .rows:  // [4H, n]: rows k·H ..< (k+1)·H are W_k
                        let mine = max(rows.lowerBound, k * h)..<min(rows.upperBound, (k + 1) * h)
                        if !mine.isEmpty {
                            memcpy(d + (mine.lowerBound - rows.lowerBound) * n * size, s + (mine.lowerBound - k * h) * n * size, mine.count * n * size)
                        }
                    case .columnsReshaped:  // [n, 4H]: row r, columns kH ..< (k+1)H = W_k's flat elements r·H ..< (r+1)·H
                        ByteCopy.runs(s + rows.lowerBound * h * size, srcStride: h * size, d + k * h * size, dstStride: 4 * h * size,
                                      rows: rows.count, runBytes: h * size)
                    case .columnsTransposed:  // M[r, kH + j] = W_k[j, r]
                        ByteCopy.transpose(s + rows.lowerBound * size, srcStride: n, d + k * h * size, dstStride: 4 * h,
                                           rows: h, cols: rows.count, elementSize: size)
                    }
                }
                if rows.upperBound == last { MappedFile.dropResidentPages(of: block.bytes) }
            }
        }
    }
}
