import CByteCopy
import Foundation

/// The copy kernels of the layout routine (`Spec/layout.md`, G6): contiguous runs move with `memcpy`, transposes
/// move whole elements (2, 4 or 8 bytes) in cache-sized tiles; 4-byte elements through `CByteCopy` (AVX2 8 × 8
/// register transposes in 64 × 64 tiles: 1.9 GB/s of CPU time here against 0.8 GB/s for the Swift tiles).
/// Element bytes are never altered.
enum ByteCopy {
    /// Copies `rows` runs of `runBytes` bytes: run r from `src + r·srcStride` to `dst + r·dstStride` (bytes).
    static func runs(_ src: UnsafeRawPointer, srcStride: Int, _ dst: UnsafeMutableRawPointer, dstStride: Int, rows: Int, runBytes: Int) {
        guard runBytes > 0 else { return }
        for r in 0..<rows {
            memcpy(dst + r * dstStride, src + r * srcStride, runBytes)
        }
    }

    /// dst[c, r] = src[r, c] for a `rows` × `cols` block; strides in elements, element size 2, 4 or 8 bytes.
    static func transpose(_ src: UnsafeRawPointer, srcStride: Int, _ dst: UnsafeMutableRawPointer, dstStride: Int,
                          rows: Int, cols: Int, elementSize: Int) {
        switch elementSize {
        case 2: transpose(src, srcStride, dst, dstStride, rows, cols, as: UInt16.self)
        case 4: lstmformat_transpose32(src, srcStride, dst, dstStride, rows, cols)  // AVX2 where the CPU has it
        case 8: transpose(src, srcStride, dst, dstStride, rows, cols, as: UInt64.self)
        default: preconditionFailure("element size \(elementSize)")
        }
    }

    private static let tile = 32

    /// Tile by tile through two small buffers: each tile's source rows are copied whole into one, transposed
    /// there, and its destination rows written whole from the other. Strides that are multiples of 4 KiB (a
    /// Keras kernel with 3072 units: 48 KiB rows) map every row of a tile to the same L1 cache set; reading and
    /// writing whole rows at once keeps that from evicting a line before it is used up (the split's share of a
    /// 500 MB `.keras` conversion's CPU time went from 39 % to 27 % in `perf`).
    @inline(__always)
    private static func transpose<T: FixedWidthInteger>(_ src: UnsafeRawPointer, _ srcStride: Int, _ dst: UnsafeMutableRawPointer,
                                                         _ dstStride: Int, _ rows: Int, _ cols: Int, as: T.Type) {
        let size = MemoryLayout<T>.size, b = tile
        withUnsafeTemporaryAllocation(of: T.self, capacity: 2 * b * b) { buffer in
            let input = buffer.baseAddress!, output = input + b * b
            var r0 = 0
            while r0 < rows {
                let rn = min(b, rows - r0)
                var c0 = 0
                while c0 < cols {
                    let cn = min(b, cols - c0)
                    for i in 0..<rn {
                        memcpy(input + i * b, src + ((r0 + i) * srcStride + c0) * size, cn * size)
                    }
                    for j in 0..<cn {
                        let out = output + j * b
                        for i in 0..<rn { out[i] = input[i * b + j] }
                    }
                    for j in 0..<cn {
                        memcpy(dst + ((c0 + j) * dstStride + r0) * size, output + j * b, rn * size)
                    }
                    c0 += cn
                }
                r0 += rn
            }
        }
    }
}

extension Tensor {
    /// The transpose of a [rows, cols] matrix, element bytes unchanged (a Keras Dense kernel [in, out] ↔ V [out, in]).
    /// `deferred`: held as this matrix and the move, made on first use or moved band by band by the `.lstm`
    /// writer (`Spec/layout.md` G8).
    func transposed2D(deferred: Bool = false) -> Tensor {
        precondition(shape.count == 2, "transposed2D needs a matrix")
        let rows = shape[0], cols = shape[1], size = dtype.byteSize
        // Zero pages in, zero pages out: an outline read (M3) moves no bytes.
        if isDeclaredOnly, let t = try? Tensor.declaredOnly(dtype: dtype, shape: [cols, rows]) { return t }
        if deferred, rows > 0, cols > 0 {
            return Tensor(deferred: TensorRows.transposed(bytes, offset: 0, sourceStride: cols, rows: rows, cols: cols, dtype: dtype))
        }
        var data = Data(count: bytes.count)
        if !bytes.isEmpty {
            bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                data.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
                    ByteCopy.transpose(src.baseAddress!, srcStride: cols, dst.baseAddress!, dstStride: rows, rows: rows, cols: cols, elementSize: size)
                }
            }
            MappedFile.dropResidentPages(of: bytes)  // a source read in place from a mapped file (M4)
        }
        return try! Tensor(dtype: dtype, shape: [cols, rows], bytes: data)  // same element count
    }
}
