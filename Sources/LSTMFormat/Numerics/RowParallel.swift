import CBLAS
import Dispatch
import Foundation

/// The verifier's own threading. The sequences of a batch never interact in an LSTM, so each part of the batch
/// walks all its steps (per-step GEMM and gate math) with no synchronization, and the all-steps GEMMs are split
/// by rows of their result. Every OpenBLAS call is cut by the problem's shape, never by the thread count
/// (`RowCut`, `Spec/bptt.md` B35a), so results are the same bits for any number of threads.
///
/// OpenBLAS itself runs single-threaded meanwhile: its worker threads would otherwise spin (sched_yield) for a
/// while after each threaded GEMM and take the cores from the parts, and concurrent callers of a multi-threaded
/// OpenBLAS share one thread pool. The verifier uses as many threads as OpenBLAS was set to (`BLASThreads`).
enum RowParallel {
    /// Serializes verifier calls: OpenBLAS's thread count is process-wide, and a call that read it while another
    /// had set it to 1 would split its work differently — and could round differently, which would break
    /// `compare`'s bitwise guarantee. One call at a time uses every core anyway.
    private static let lock = NSLock()

    /// Runs `body` with OpenBLAS single-threaded, passing the thread count it had; restores that count after.
    /// Calls from several threads run one after another.
    static func withBLASThreads<R>(_ body: (Int) throws(NumericsError) -> R) throws(NumericsError) -> R {
        lock.lock()
        defer { lock.unlock() }
        _ = BLASKernels.core
        let threads = Int(openblas_get_num_threads())
        if threads <= 1 { return try body(1) }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        return try body(threads)
    }

    /// Calls `body` for `parts` disjoint ranges covering 0..<count (fewer if count is small), at once.
    /// Boundaries fall on multiples of `align` where possible.
    static func run(parts: Int, count: Int, align: Int = 1, _ body: (Range<Int>) -> Void) {
        let n = Swift.min(parts, Swift.max(1, count / align))
        if n <= 1 {
            body(0..<count)
            return
        }
        let bound: @Sendable (Int) -> Int = { p in p == n ? count : (p * count / n) / align * align }
        // Each part touches only its own rows of the shared buffers.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: n) { p in body(bound(p) ..< bound(p + 1)) }
    }

    /// Runs `body` once per thread with a contiguous run of `cut`'s pieces (piece indices), at most `parts`
    /// threads. Which thread takes a piece never changes the piece's bounds (B35a).
    static func run(parts: Int, cut: RowCut, _ body: (Range<Int>) -> Void) {
        run(parts: parts, count: cut.pieces, body)
    }

    /// Runs `body` for every piece of `cut` (its rows), the pieces shared out over at most `parts` threads.
    static func forEachPiece(parts: Int, cut: RowCut, _ body: (Range<Int>) -> Void) {
        run(parts: parts, cut: cut) { pieces in
            for p in pieces { body(cut.rows(p)) }
        }
    }

    /// `T.gemm` with the rows of C cut by `RowCut.product` (`Spec/bptt.md` B35a): the calls' shapes depend on
    /// m, n and k only, so the bits never depend on `parts`, the number of threads that share the calls out.
    static func gemm<T: BLASScalar>(
        parts: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        forEachPiece(parts: parts, cut: .product(m: m, n: n, k: k)) { rows in
            let a0 = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
            T.gemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: 1, a: a0, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
        }
    }
}

/// Rows 0..<count cut into pieces whose bounds depend on `count`, the number of pieces and `align` only, never on
/// the thread count (`Spec/bptt.md` B35a): OpenBLAS does not give an element the same sum in every call shape
/// (edges of a call, small-matrix kernels), so each piece is one call of the same shape whichever thread takes it.
struct RowCut: Sendable {
    let count: Int
    let pieces: Int
    let align: Int

    /// At most `pieces` pieces, each a multiple of `align` rows except the last (fewer pieces if count is small).
    init(count: Int, pieces: Int, align: Int = 1) {
        self.count = count
        self.align = align
        self.pieces = Swift.max(1, Swift.min(pieces, count / align))
    }

    /// Piece p's first row (p in 0...pieces).
    func bound(_ p: Int) -> Int { p >= pieces ? count : (p * count / pieces) / align * align }

    /// The rows of piece p.
    func rows(_ p: Int) -> Range<Int> { bound(p) ..< bound(p + 1) }

    /// The rows of a run of pieces.
    func rows(pieces r: Range<Int>) -> Range<Int> { bound(r.lowerBound) ..< bound(r.upperBound) }

    /// An all-steps product C[m, n] = A[m, k]·B[k, n]: one call under 2^22 multiply-adds, else two pieces of
    /// rows cut at a multiple of 16 (each packs all of B again, so more pieces cost: six took 6–8 % more CPU time).
    static func product(m: Int, n: Int, k: Int) -> RowCut {
        RowCut(count: m, pieces: Double(m) * Double(n) * Double(k) < Double(1 << 22) ? 1 : pieces, align: 16)
    }

    /// A batch of `batch` sequences for the per-step OpenBLAS products: min(batch, 2) pieces.
    static func batch(_ batch: Int) -> RowCut { RowCut(count: batch, pieces: pieces) }

    /// How many pieces a product that is cut is cut into: the cores of the machines this is built for, so two
    /// threads get the cut they had before B35a; a third thread gets no piece of these products.
    static let pieces = 2
}

/// Per-step products, cut into 16 × 64 × 512 tiles: small enough (m·n·k ≤ 10⁶) for OpenBLAS's unpacked
/// small-matrix kernels on AVX-512 x86 (0.3.16 and later), where the whole per-step product would repack the 4 MB
/// recurrent weight every step. Measured on Zen 4 (OpenBLAS 0.3.21, one thread, [32, 512]·[512, 2048]): 0.70 ms
/// in these tiles, 0.90 ms as one GEMM; 48-, 112- or 32-column tiles were slower. Elsewhere the tiles take the
/// ordinary path at the same arithmetic cost plus a call per tile.
enum StepGEMM {
    /// C[m, n] = A[m, k]·B[k, n] + beta·C, row-major; with `transB`, B is stored [n, k] and Bᵀ is used.
    static func multiply<T: BLASScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, transB: Bool = false,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        let mb = 16, nb = 64, kb = 512
        var k0 = 0
        while k0 < k {
            let kc = Swift.min(kb, k - k0)
            let b0: T = k0 == 0 ? beta : 1
            var m0 = 0
            while m0 < m {
                let mc = Swift.min(mb, m - m0)
                var n0 = 0
                while n0 < n {
                    let nc = Swift.min(nb, n - n0)
                    T.gemm(transA: false, transB: transB, m: mc, n: nc, k: kc, alpha: 1, a: a + m0 * lda + k0, lda: lda,
                           b: transB ? b + n0 * ldb + k0 : b + k0 * ldb + n0, ldb: ldb, beta: b0, c: c + m0 * ldc + n0, ldc: ldc)
                    n0 += nc
                }
                m0 += mc
            }
            k0 += kc
        }
    }
}
