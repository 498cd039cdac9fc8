import Foundation

/// A transposed block not moved yet (`Spec/layout.md`, G8): the [cols, rows] transpose of the `rows` × `cols`
/// block of a source array that starts `offset` bytes into `source`, its rows `sourceStride` elements apart. A
/// Keras gate block W_g = kernel[:, kH ..< (k+1)H]ᵀ is one (rows n, cols H, stride 4H); a Dense kernel's
/// transpose another (the whole matrix).
///
/// `Tensor` holds one in place of bytes: its bytes are made once, on first use of `Tensor.bytes`; the `.lstm`
/// writer instead moves it a band of whole output rows at a time (`forEachBand`), through one buffer of at most
/// `bandLimit` bytes, for its CRC-32 and then for the file, so the whole block is never made.
final class DeferredMove: @unchecked Sendable {
    let source: Data
    let offset: Int
    let sourceStride: Int
    let rows: Int
    let cols: Int
    let elementSize: Int
    private let lock = NSLock()
    private var made: Data?
    private var crc: UInt32?

    /// The block's bounds are checked against `source` (a programming error, not a file's: shapes were checked, G4).
    init(source: Data, offset: Int, sourceStride: Int, rows: Int, cols: Int, elementSize: Int) {
        precondition(rows > 0 && cols > 0 && [2, 4, 8].contains(elementSize) && offset >= 0 && sourceStride >= cols
                     && offset + ((rows - 1) * sourceStride + cols) * elementSize <= source.count, "block outside its source")
        self.source = source
        self.offset = offset
        self.sourceStride = sourceStride
        self.rows = rows
        self.cols = cols
        self.elementSize = elementSize
    }

    /// rows × cols × elementSize: the bytes the move gives.
    var byteCount: Int { rows * cols * elementSize }

    /// Whether `bytes` has made the whole block (the `.lstm` writer never does, G8).
    var isMade: Bool { lock.withLock { made != nil } }

    /// The moved bytes, made on first use and kept.
    var bytes: Data {
        lock.withLock {
            if let made { return made }
            var data = Data(count: byteCount)
            data.withUnsafeMutableBytes { dst in
                source.withUnsafeBytes { src in
                    ByteCopy.transpose(src.baseAddress! + offset, srcStride: sourceStride, dst.baseAddress!, dstStride: rows,
                                       rows: rows, cols: cols, elementSize: elementSize)
                }
            }
            made = data
            return data
        }
    }

    /// CRC-32 of the moved bytes, band by band (the bytes are not made), computed once.
    var crc32: UInt32 {
        if let c = lock.withLock({ made.map(CRC32.checksum) ?? crc }) { return c }
        var c: UInt32 = 0
        forEachBand { c = CRC32.update(c, $0) }
        lock.withLock { crc = c }
        return c
    }

    /// Largest band (when one output row is larger, a band is part of a row).
    static let bandLimit = 512 << 10

    /// Part of the moved bytes: output rows `column ..< column + columns` (source columns), or, when one output
    /// row is larger than `bandLimit`, elements `row ..< row + rowCount` of output row `column`.
    struct Band {
        let column: Int
        let columns: Int
        let row: Int
        let rowCount: Int
    }

    /// The bands in output order: whole output rows (a multiple of 8 of them where that fits, for the 8 × 8
    /// kernel), or parts of one row when a row is larger than `bandLimit`.
    var bands: [Band] {
        let wholeRows = Self.bandLimit / (rows * elementSize)
        if wholeRows > 0 {
            let step = min(cols, wholeRows >= 8 ? wholeRows & ~7 : wholeRows)
            return stride(from: 0, to: cols, by: step).map { Band(column: $0, columns: min(step, cols - $0), row: 0, rowCount: rows) }
        }
        let part = Self.bandLimit / elementSize
        return (0..<cols).flatMap { j in stride(from: 0, to: rows, by: part).map { Band(column: j, columns: 1, row: $0, rowCount: min(part, rows - $0)) } }
    }

    /// Bytes of the largest band.
    var bandCapacity: Int { bands.reduce(0) { max($0, $1.columns * $1.rowCount) } * elementSize }

    /// Moves `band` into `buffer` (at least `bandCapacity` bytes); returns its byte count.
    func move(_ band: Band, into buffer: UnsafeMutableRawPointer) -> Int {
        let size = elementSize
        source.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            let from = src.baseAddress! + offset + (band.row * sourceStride + band.column) * size
            ByteCopy.transpose(from, srcStride: sourceStride, buffer, dstStride: band.rowCount, rows: band.rowCount, cols: band.columns,
                               elementSize: size)
        }
        return band.columns * band.rowCount * size
    }

    /// Calls `body` with the moved bytes in order, band by band, through one reused buffer.
    func forEachBand(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bandCapacity, alignment: 64)
        defer { buffer.deallocate() }
        for band in bands {
            try body(UnsafeRawBufferPointer(start: buffer, count: move(band, into: buffer)))
        }
    }
}
