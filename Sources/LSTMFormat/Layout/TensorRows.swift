import Foundation

/// A tensor held as the move that makes its C-order bytes, made a band at a time into a caller's buffer and
/// never whole unless asked (`make`): a transposed block of a Keras kernel held by the `.lstm` writer
/// (`Spec/layout.md` G8), a rearranged array the HDF5 writers put on disk (`Spec/hdf5-layout.md` H16). The
/// tensor is seen as `rowCount` rows (indices along its first dimension; a scalar is one row) of `rowLength`
/// elements; a band is whole rows, or part of one row when a row is larger than the band limit. Bytes are
/// those of the tensor `make()` returns, moved unchanged (G6).
struct TensorRows: Sendable {
    let dtype: DType
    let shape: [Int]
    /// Writes elements `part` (indices within a row) of rows `rows` to the destination, densely in C order.
    /// `part` is the whole row, or `rows` is one row.
    private let fill: @Sendable (_ rows: Range<Int>, _ part: Range<Int>, _ destination: UnsafeMutableRawPointer) -> Void
    /// The tensor when it already exists whole (`make()` returns it without a copy).
    private let whole: Tensor?

    init(dtype: DType, shape: [Int],
         fill: @escaping @Sendable (_ rows: Range<Int>, _ part: Range<Int>, _ destination: UnsafeMutableRawPointer) -> Void) {
        self.dtype = dtype
        self.shape = shape
        self.fill = fill
        whole = nil
    }

    /// A tensor that exists: its bands are copied from its bytes.
    init(_ tensor: Tensor) {
        let size = tensor.dtype.byteSize, length = tensor.shape.dropFirst().reduce(1) { $0 * $1 }
        dtype = tensor.dtype
        shape = tensor.shape
        whole = tensor
        fill = { rows, part, destination in
            tensor.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Void in
                _ = memcpy(destination, src.baseAddress! + (rows.lowerBound * length + part.lowerBound) * size, rows.count * part.count * size)
            }
        }
    }

    /// Rows along dimension 0 (1 for a scalar).
    var rowCount: Int { shape.first ?? 1 }
    /// Elements in a row.
    var rowLength: Int { shape.dropFirst().reduce(1) { $0 * $1 } }
    var rowBytes: Int { rowLength * dtype.byteSize }
    var byteCount: Int { rowCount * rowBytes }

    /// Largest band of a deferred move (G8): one cache-sized buffer.
    static let bandLimit = 512 << 10

    /// Part of the tensor: elements `part` of rows `rows` (whole rows, or part of one row).
    struct Band: Equatable {
        let rows: Range<Int>
        let part: Range<Int>
    }

    /// The bands of at most `limit` bytes in C order: whole rows (a multiple of 8 of them where that fits, for
    /// the 8 × 8 transpose kernel), or parts of one row when a row is larger than `limit`.
    func bands(limit: Int) -> [Band] {
        guard byteCount > 0 else { return [] }
        let count = rowCount, length = rowLength, wholeRows = limit / rowBytes
        if wholeRows > 0 {
            let step = min(count, wholeRows >= 8 ? wholeRows & ~7 : wholeRows)
            return stride(from: 0, to: count, by: step).map { Band(rows: $0..<min($0 + step, count), part: 0..<length) }
        }
        let step = max(1, limit / dtype.byteSize)
        return (0..<count).flatMap { r in stride(from: 0, to: length, by: step).map { Band(rows: r..<(r + 1), part: $0..<min($0 + step, length)) } }
    }

    /// Bytes of the largest of `bands(limit:)`.
    func bandCapacity(limit: Int) -> Int {
        bands(limit: limit).reduce(0) { max($0, $1.rows.count * $1.part.count) } * dtype.byteSize
    }

    /// Moves `band` into `destination` (at least its size); returns its byte count.
    func fill(_ band: Band, into destination: UnsafeMutableRawPointer) -> Int {
        fill(band.rows, band.part, destination)
        return band.rows.count * band.part.count * dtype.byteSize
    }

    /// Calls `body` with the bytes in order, a band of at most `limit` bytes at a time, through one reused buffer.
    func forEachBand(limit: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let bands = bands(limit: limit)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bandCapacity(limit: limit)), alignment: 64)
        defer { buffer.deallocate() }
        for band in bands {
            try body(UnsafeRawBufferPointer(start: buffer, count: fill(band, into: buffer)))
        }
    }

    /// The whole tensor.
    func make() -> Tensor {
        if let whole { return whole }
        var data = Data(count: byteCount)
        if byteCount > 0 { data.withUnsafeMutableBytes { fill(0..<rowCount, 0..<rowLength, $0.baseAddress!) } }
        return try! Tensor(dtype: dtype, shape: shape, bytes: data)  // rowCount · rowBytes bytes by construction
    }

    /// mᵀ of a matrix m [r, c]: row j of the result is column j of m (m's bytes are taken when the first band is
    /// made). The source's pages are dropped once the last band is made (a source read in place from a mapped
    /// file, M4).
    static func transposed(_ m: Tensor) -> TensorRows {
        precondition(m.shape.count == 2, "transposed needs a matrix")
        return transposed({ m.bytes }, offset: 0, sourceStride: m.shape[1], rows: m.shape[0], cols: m.shape[1], dtype: m.dtype,
                          dropsPages: true)
    }

    /// The [cols, rows] transpose of the `rows` × `cols` block of a source array that starts `offset` bytes
    /// into `source`, its rows `sourceStride` elements apart: out[j, r] = block[r, j]. A Keras gate block
    /// W_g = kernel[:, kH ..< (k+1)H]ᵀ is one (rows n, cols H, stride 4H); a Dense kernel's transpose another (the
    /// whole matrix). The block's bounds are checked against `source` (a programming error, not a file's: shapes
    /// were checked, G4).
    static func transposed(_ source: Data, offset: Int, sourceStride: Int, rows: Int, cols: Int, dtype: DType) -> TensorRows {
        precondition(offset >= 0 && sourceStride >= cols && (rows == 0 || cols == 0
                     || offset + ((rows - 1) * sourceStride + cols) * dtype.byteSize <= source.count), "block outside its source")
        return transposed({ source }, offset: offset, sourceStride: sourceStride, rows: rows, cols: cols, dtype: dtype, dropsPages: false)
    }

    private static func transposed(_ source: @escaping @Sendable () -> Data, offset: Int, sourceStride: Int, rows: Int, cols: Int,
                                   dtype: DType, dropsPages: Bool) -> TensorRows {
        let size = dtype.byteSize
        return TensorRows(dtype: dtype, shape: [cols, rows]) { columns, part, destination in
            let bytes = source()
            bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                ByteCopy.transpose(src.baseAddress! + offset + (part.lowerBound * sourceStride + columns.lowerBound) * size,
                                   srcStride: sourceStride, destination, dstStride: part.count,
                                   rows: part.count, cols: columns.count, elementSize: size)
            }
            if dropsPages, columns.upperBound == cols, part.upperBound == rows { MappedFile.dropResidentPages(of: bytes) }
        }
    }
}
