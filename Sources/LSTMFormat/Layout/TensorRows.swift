import Foundation

/// A tensor whose C-order bytes are made a run of rows (indices along its first dimension; a scalar is one row)
/// at a time into the caller's buffer: how the HDF5 writers put a rearranged array on disk without holding it
/// whole (`Spec/hdf5-layout.md`, H16). Bytes are those of the tensor `make()` returns, moved unchanged.
struct TensorRows {
    let dtype: DType
    let shape: [Int]
    /// Writes rows `rows` (`rowBytes` each, in order) to the destination.
    let fill: (_ rows: Range<Int>, _ destination: UnsafeMutableRawPointer) -> Void
    /// The tensor when it already exists whole (`make()` returns it without a copy).
    private let whole: Tensor?

    init(dtype: DType, shape: [Int], fill: @escaping (_ rows: Range<Int>, _ destination: UnsafeMutableRawPointer) -> Void) {
        self.dtype = dtype
        self.shape = shape
        self.fill = fill
        whole = nil
    }

    /// A tensor that exists: its rows are copied from its bytes.
    init(_ tensor: Tensor) {
        let rowBytes: Int = tensor.shape.dropFirst().reduce(tensor.dtype.byteSize) { $0 * $1 }
        let copy: (Range<Int>, UnsafeMutableRawPointer) -> Void = { rows, destination in
            tensor.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Void in
                _ = memcpy(destination, src.baseAddress! + rows.lowerBound * rowBytes, rows.count * rowBytes)
            }
        }
        dtype = tensor.dtype
        shape = tensor.shape
        whole = tensor
        fill = copy
    }

    /// Rows along dimension 0 (1 for a scalar).
    var rowCount: Int { shape.first ?? 1 }
    var rowBytes: Int { shape.dropFirst().reduce(dtype.byteSize) { $0 * $1 } }
    var byteCount: Int { rowCount * rowBytes }

    /// The whole tensor.
    func make() -> Tensor {
        if let whole { return whole }
        var data = Data(count: byteCount)
        if byteCount > 0 { data.withUnsafeMutableBytes { fill(0..<rowCount, $0.baseAddress!) } }
        return try! Tensor(dtype: dtype, shape: shape, bytes: data)  // rowCount · rowBytes bytes by construction
    }

    /// mᵀ of a matrix m [r, c]: row j of the result is column j of m. The source's pages are dropped once the
    /// last row is made (a source read in place from a mapped file, M4).
    static func transposed(_ m: Tensor) -> TensorRows {
        precondition(m.shape.count == 2, "transposed needs a matrix")
        let rows = m.shape[0], cols = m.shape[1], size = m.dtype.byteSize
        return TensorRows(dtype: m.dtype, shape: [cols, rows]) { range, destination in
            m.bytes.withUnsafeBytes { src in
                ByteCopy.transpose(src.baseAddress! + range.lowerBound * size, srcStride: cols, destination, dstStride: rows,
                                   rows: rows, cols: range.count, elementSize: size)
            }
            if range.upperBound == cols { MappedFile.dropResidentPages(of: m.bytes) }
        }
    }
}
