import CBLAS
import Dispatch
import Foundation

/// The verifier's own threading. The sequences of a batch never interact in an LSTM, so each part of the batch
/// walks all its steps (per-step GEMM and gate math) with no synchronization, and the all-steps GEMMs are split
/// by rows of their result.
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

    /// `T.gemm` with the rows of C split across `parts` threads. No part has fewer than 2^21 multiply-adds
    /// (`Spec/bptt.md` B35): OpenBLAS takes its small-matrix kernels, which sum in another order, for products of
    /// up to 10^6, so a split that crossed that size would change the bits with the thread count.
    static func gemm<T: BLASScalar>(
        parts: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        let size = Double(m) * Double(n) * Double(k)
        let parts = Swift.max(1, Swift.min(parts, Int(size / Double(1 << 21))))
        run(parts: parts, count: m, align: 16) { rows in
            let a0 = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
            T.gemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: 1, a: a0, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
        }
    }
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
