/// Sums of two bias arrays (`Spec/layout.md`, G3): each element is rounded once to the result dtype, as numpy's
/// and PyTorch's own addition of two arrays of that dtype rounds it.
///
/// The sum is formed in float64 and then rounded to the result dtype. For float64 inputs that is the one
/// rounding; for float32, float16 and bfloat16 inputs the float64 sum rounds again to the narrower dtype, which
/// gives the correctly rounded sum because float64 has more than twice their precision plus two bits
/// (double rounding is innocuous for addition when p' ≥ 2p + 2).
enum BiasSum {
    /// a + b elementwise. Same dtype: that dtype. Different dtypes: float64 when one is float64, else float32.
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let dtype: DType = a.dtype == b.dtype ? a.dtype : ([a.dtype, b.dtype].contains(.float64) ? .float64 : .float32)
        let x = a.float64Values(), y = b.float64Values()
        return Tensor(shape: a.shape, values: zip(x, y).map { $0 + $1 }, dtype: dtype)
    }

    /// v[0..<m] + v[m..<2m] of a [2m] vector.
    static func halves(_ v: Tensor) -> Tensor {
        let all = v.float64Values(), m = all.count / 2
        return Tensor(shape: [m], values: (0..<m).map { all[$0] + all[$0 + m] }, dtype: v.dtype)
    }
}
