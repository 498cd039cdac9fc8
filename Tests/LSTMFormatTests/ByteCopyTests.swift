import CByteCopy
import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/layout.md` G6: the layout layer's transposes move element bytes unchanged.
@Suite struct ByteCopyTests {
    /// Both paths of the 4-byte transpose (AVX2 where the CPU has it, the tiled scalar loop) give
    /// dst[c, r] = src[r, c] inside strided blocks, for sizes on and off the 8 × 8 blocks and 64 × 64 tiles, and
    /// leave the bytes outside the block alone.
    @Test(arguments: [(1, 1), (3, 5), (8, 8), (9, 17), (64, 64), (70, 130), (200, 67)])
    func G6_transposePathsGiveTheDefinitionsBytes(_ size: (Int, Int)) {
        let (rows, cols) = size
        let srcStride = cols + 3, dstStride = rows + 5
        var rng = SplitMix64(seed: UInt64(rows * 1000 + cols))
        let src = (0..<(rows * srcStride)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        var expected = [UInt32](repeating: 0xDEAD_BEEF, count: cols * dstStride)
        for r in 0..<rows { for c in 0..<cols { expected[c * dstStride + r] = src[r * srcStride + c] } }
        var fast = [UInt32](repeating: 0xDEAD_BEEF, count: cols * dstStride), scalar = fast
        lstmformat_transpose32(src, srcStride, &fast, dstStride, rows, cols)
        lstmformat_transpose32_scalar(src, srcStride, &scalar, dstStride, rows, cols)
        #expect(fast == expected)
        #expect(scalar == expected)
    }
}
