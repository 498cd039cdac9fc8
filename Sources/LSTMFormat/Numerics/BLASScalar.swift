import CBLAS
import Foundation

/// A floating-point type the verifier computes in: Float through `cblas_sgemm`, Double through `cblas_dgemm`.
/// Everything else in the verifier is generic over this protocol, so both precisions share one code path.
protocol BLASScalar: BinaryFloatingPoint, Sendable {
    /// C = alpha · op(A) · op(B) + beta · C, row-major; op(X) is X or Xᵀ. op(A) is [m, k], op(B) [k, n], C [m, n].
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    )
    /// p[k] = e^p[k] for k in 0..<n.
    static func expInPlace(_ p: UnsafeMutablePointer<Self>, _ n: Int)
    /// p[k] = 1 / (1 + e^-p[k]).
    static func sigmoidInPlace(_ p: UnsafeMutablePointer<Self>, _ n: Int)
    /// p[k] = tanh(p[k]).
    static func tanhInPlace(_ p: UnsafeMutablePointer<Self>, _ n: Int)
    /// 1 / (1 + e^-x), exactly as `sigmoidInPlace` computes it (for loops that fuse several steps).
    static func sigmoid(_ x: Self) -> Self
    /// tanh(x), exactly as `tanhInPlace` computes it.
    static func tanh(_ x: Self) -> Self
    /// The tensor's values in this type (float16 and bfloat16 widen exactly to both).
    static func values(of tensor: Tensor) -> [Self]
    /// `values(of:)` written to `out` (at least `tensor.elementCount` elements) without intermediate arrays.
    static func copyValues(of tensor: Tensor, into out: UnsafeMutablePointer<Self>)
    /// The tensor dtype this type's values are stored as (`.float32`, `.float64`).
    static var dtype: DType { get }
}

extension BLASScalar {
    /// Converts to Double for loss sums and parameter access.
    @inline(__always) var double: Double { Double(self) }

    /// A tensor of this type's dtype holding `values` (row-major, `shape`'s element count).
    static func tensor(shape: [Int], values: UnsafeBufferPointer<Self>) -> Tensor {
        #if _endian(little)
        // One copy, straight into the tensor's little-endian bytes.
        try! Tensor(dtype: dtype, shape: shape, bytes: Data(buffer: values))
        #else
        // Widening to Double and rounding back is exact for both types.
        Tensor(shape: shape, values: values.map { Double($0) }, dtype: dtype)
        #endif
    }
}

@inline(__always)
private func transpose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: BLASScalar {
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transpose(transA), transpose(transB), blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
    @inline(__always) static func sigmoid(_ x: Float) -> Float { FastMath.sigmoid(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { FastMath.tanh(x) }
    static func expInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = FastMath.exp(p[k]) }
    }
    static func sigmoidInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = FastMath.sigmoid(p[k]) }
    }
    static func tanhInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = FastMath.tanh(p[k]) }
    }
    static func values(of tensor: Tensor) -> [Float] { tensor.float32Values() }
    static func copyValues(of tensor: Tensor, into out: UnsafeMutablePointer<Float>) { tensor.copyFloat32Values(into: out) }
    static var dtype: DType { .float32 }
}

extension Double: BLASScalar {
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, transpose(transA), transpose(transB), blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
    // float64 is the reference precision: libm's correctly rounded-ish functions, not approximations.
    @inline(__always) static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    static func expInPlace(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        for k in 0..<n { p[k] = Foundation.exp(p[k]) }
    }
    static func sigmoidInPlace(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        for k in 0..<n { p[k] = sigmoid(p[k]) }
    }
    static func tanhInPlace(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        for k in 0..<n { p[k] = Foundation.tanh(p[k]) }
    }
    static func values(of tensor: Tensor) -> [Double] { tensor.float64Values() }
    static func copyValues(of tensor: Tensor, into out: UnsafeMutablePointer<Double>) { tensor.copyFloat64Values(into: out) }
    static var dtype: DType { .float64 }
}

/// OpenBLAS's thread count (it defaults to one thread per core).
public enum BLASThreads {
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}

/// OpenBLAS chooses its kernels by the CPU's model number. On a CPU it does not know — for one, a virtual machine
/// whose hypervisor reports a generic "Intel Xeon Processor", like this project's build machines — it falls back
/// to "Prescott": SSE3 kernels that run the verifier's products 1.5–2× slower than the AVX2 or AVX-512 kernels
/// the CPU can run. Before the first product, this re-selects by the instruction sets the CPU and OS report,
/// unless the user chose a core with `OPENBLAS_CORETYPE`. Results stay deterministic run to run (one kernel set
/// per process, fixed by the CPU).
public enum BLASKernels {
    /// OpenBLAS's core name after the check ("Prescott", "Haswell", "SkylakeX", …).
    public static let core: String = {
        let chosen = String(cString: openblas_get_corename())
        guard chosen == "Prescott", ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let better = lstmformat_blas_core_for_cpu(), lstmformat_blas_select_core(better) != 0
        else { return chosen }
        return String(cString: openblas_get_corename())
    }()

    /// The core OpenBLAS is using right now.
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The OpenBLAS core whose kernels fit this CPU's instruction sets ("SkylakeX", "Haswell"), or nil.
    public static var coreForCPU: String? { lstmformat_blas_core_for_cpu().map { String(cString: $0) } }
}
