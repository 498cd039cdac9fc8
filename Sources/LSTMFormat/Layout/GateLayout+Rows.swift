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

    /// `join(blocks, storage)` (four [H, n] gate blocks into the framework matrix), made by bands. Each block's
    /// pages are dropped once the last band is made (M4).
    static func joinRows(_ blocks: [Tensor], _ storage: MatrixStorage) -> TensorRows {
        let dtype = blocks[0].dtype, size = dtype.byteSize
        let h = blocks[0].shape[0], n = blocks[0].shape[1]
        let shape = Self.shape(storage, n, h), last = shape[0], length = shape[1]
        return TensorRows(dtype: dtype, shape: shape) { rows, part, d in
            let width = part.count  // the destination's row length
            for (k, block) in blocks.enumerated() {
                // .rows: block k is rows kH ..< (k+1)H; the columns storages: it is columns kH ..< (k+1)H.
                let wanted = storage == .rows ? rows : part, low = max(wanted.lowerBound, k * h)
                let mine = low..<max(low, min(wanted.upperBound, (k + 1) * h))
                guard !mine.isEmpty else { continue }
                block.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                    let s = src.baseAddress!
                    switch storage {
                    case .rows:  // [4H, n]: row kH + r is W_k's row r (whole rows or part of one: contiguous on both sides)
                        memcpy(d + (mine.lowerBound - rows.lowerBound) * width * size, s + ((mine.lowerBound - k * h) * n + part.lowerBound) * size,
                               mine.count * width * size)
                    case .columnsReshaped:  // [n, 4H]: row r, columns kH ..< (k+1)H = W_k's flat elements r·H ..< (r+1)·H
                        ByteCopy.runs(s + (rows.lowerBound * h + mine.lowerBound - k * h) * size, srcStride: h * size,
                                      d + (mine.lowerBound - part.lowerBound) * size, dstStride: width * size,
                                      rows: rows.count, runBytes: mine.count * size)
                    case .columnsTransposed:  // M[r, kH + j] = W_k[j, r]
                        ByteCopy.transpose(s + ((mine.lowerBound - k * h) * n + rows.lowerBound) * size, srcStride: n,
                                           d + (mine.lowerBound - part.lowerBound) * size, dstStride: width,
                                           rows: mine.count, cols: rows.count, elementSize: size)
                    }
                }
                if rows.upperBound == last, part.upperBound == length { MappedFile.dropResidentPages(of: block.bytes) }
            }
        }
    }
}
