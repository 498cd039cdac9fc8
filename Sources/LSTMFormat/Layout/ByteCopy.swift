import Foundation

/// The copy kernels of the layout routine (`Spec/layout.md`, G6): contiguous runs move with `memcpy`, transposes
/// move whole elements (2, 4 or 8 bytes) in cache-sized tiles. Element bytes are never altered.
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
        case 4: transpose(src, srcStride, dst, dstStride, rows, cols, as: UInt32.self)
        case 8: transpose(src, srcStride, dst, dstStride, rows, cols, as: UInt64.self)
        default: preconditionFailure("element size \(elementSize)")
        }
    }

    private static let tile = 32

    @inline(__always)
    private static func transpose<T: FixedWidthInteger>(_ src: UnsafeRawPointer, _ srcStride: Int, _ dst: UnsafeMutableRawPointer,
                                                         _ dstStride: Int, _ rows: Int, _ cols: Int, as: T.Type) {
        let size = MemoryLayout<T>.size
        var r0 = 0
        while r0 < rows {
            let r1 = min(r0 + tile, rows)
            var c0 = 0
            while c0 < cols {
                let c1 = min(c0 + tile, cols)
                for r in r0..<r1 {
                    let rowBase = r * srcStride
                    for c in c0..<c1 {
                        let v = src.loadUnaligned(fromByteOffset: (rowBase + c) * size, as: T.self)
                        dst.storeBytes(of: v, toByteOffset: (c * dstStride + r) * size, as: T.self)
                    }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

extension Tensor {
    /// The transpose of a [rows, cols] matrix, element bytes unchanged (a Keras Dense kernel [in, out] ↔ V [out, in]).
    func transposed2D() -> Tensor {
        precondition(shape.count == 2, "transposed2D needs a matrix")
        let rows = shape[0], cols = shape[1], size = dtype.byteSize
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
