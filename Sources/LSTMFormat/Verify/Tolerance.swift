/// An elementwise closeness test: |actual − expected| ≤ atol + rtol·|expected| (numpy's `allclose` rule), or with
/// `atolPerFeature` ≤ atolPerFeature[j] + rtol·|expected| for an element whose last-axis index is j (B19a).
/// `rtol = 0, atol = 0` demands bitwise-equal values (exact equality of every element).
public struct Tolerance: Codable, Equatable, Sendable {
    public var rtol: Double
    /// The absolute term; with `atolPerFeature`, the largest of them (what a one-number report shows).
    public var atol: Double
    /// One absolute term per index of the arrays' last axis (an output feature), or nil for one `atol` everywhere.
    /// JSON: `atol_per_feature`, null when absent.
    public var atolPerFeature: [Double]?
    /// How the tolerance was chosen, for the report ("given", "exact: same dtypes", …).
    public var basis: String

    public init(rtol: Double, atol: Double, basis: String) {
        self.rtol = rtol
        self.atol = atol
        self.atolPerFeature = nil
        self.basis = basis
    }

    /// A tolerance with one absolute term per output feature (`atol` is their largest).
    public init(rtol: Double, atolPerFeature: [Double], basis: String) {
        self.rtol = rtol
        self.atol = atolPerFeature.max() ?? 0
        self.atolPerFeature = atolPerFeature
        self.basis = basis
    }

    /// The absolute term for the element at flat index `k` of an array whose last axis has `atolPerFeature.count`
    /// entries (the caller checks that it does).
    @inline(__always) func atol(atFlat k: Int) -> Double {
        guard let perFeature = atolPerFeature, !perFeature.isEmpty else { return atol }
        return perFeature[k % perFeature.count]
    }

    enum CodingKeys: String, CodingKey { case rtol, atol, atolPerFeature, basis }

    /// Writes every key, `atolPerFeature` as null when absent (fixed key set for JSON reports).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rtol, forKey: .rtol)
        try c.encode(atol, forKey: .atol)
        try c.encode(atolPerFeature, forKey: .atolPerFeature)
        try c.encode(basis, forKey: .basis)
    }

    public static let exact = Tolerance(rtol: 0, atol: 0, basis: "exact: bitwise-equal values")

    public var isExact: Bool { rtol == 0 && atol == 0 }

    /// The tolerance for two computations that differ only by rounding the parameters to a dtype with unit
    /// roundoff `u`: each parameter moves by at most u relatively; through an LSTM forward/backward pass that
    /// is amplified by a modest factor. We allow 64·u relative to each element plus 64·u of the array's
    /// largest magnitude (so elements near zero are judged against the array's scale).
    public static func derived(lowerPrecision dtype: DType, scale: Double) -> Tolerance {
        let u = dtype.unitRoundoff
        return Tolerance(rtol: 64 * u, atol: 64 * u * scale, basis: "derived from \(dtype.rawValue): rtol = 64u, atol = 64u·max|expected|, u = \(u)")
    }

    /// The same for a model's outputs, one atol per output feature: 64u·s_j, s_j its scale (`OutputScale`, B19a).
    public static func derived(lowerPrecision dtype: DType, scales: [Double]) -> Tolerance {
        let u = dtype.unitRoundoff
        return Tolerance(rtol: 64 * u, atolPerFeature: scales.map { 64 * u * $0 },
                         basis: "derived from \(dtype.rawValue): rtol = 64u, atol_j = 64u·s_j per output feature j (s_j its scale, B19a), u = \(u)")
    }
}

/// The largest deviations found when comparing two arrays.
public struct ArrayComparison: Codable, Equatable, Sendable {
    public var maxAbsError: Double
    /// max |a − e| / |e| over elements with e ≠ 0 (0 when every differing element has e = 0).
    public var maxRelError: Double
    /// The element that is furthest outside (or closest to the edge of) the tolerance.
    public var worstIndex: [Int]
    public var worstActual: Double
    public var worstExpected: Double
    public var mismatches: Int
    public var count: Int
    public var passed: Bool

    /// Compares in float64. Shapes must be equal (callers check and report shape mismatches themselves); a
    /// per-feature tolerance must have one atol per index of the last axis.
    public static func compare(actual: [Double], expected: [Double], shape: [Int], tolerance: Tolerance) -> ArrayComparison {
        precondition(actual.count == expected.count)
        precondition(tolerance.atolPerFeature.map { $0.count == (shape.last ?? 1) } ?? true, "one atol per feature of the last axis")
        var maxAbs = 0.0, maxRel = 0.0, worstRatio = -1.0, worst = 0, mismatches = 0
        for k in 0..<actual.count {
            let a = actual[k], e = expected[k]
            let bitwiseSame = a.bitPattern == e.bitPattern || (a == e)
            let diff = bitwiseSame ? 0 : (a.isNaN || e.isNaN ? Double.infinity : abs(a - e))
            maxAbs = max(maxAbs, diff)
            if e != 0, diff > 0 { maxRel = max(maxRel, diff / abs(e)) }
            let allowed = tolerance.atol(atFlat: k) + tolerance.rtol * abs(e)
            let ok = tolerance.isExact ? bitwiseSame : diff <= allowed
            if !ok { mismatches += 1 }
            let ratio = diff == 0 ? 0 : (allowed > 0 ? diff / allowed : .infinity)
            if ratio > worstRatio { worstRatio = ratio; worst = k }
        }
        return ArrayComparison(maxAbsError: maxAbs, maxRelError: maxRel, worstIndex: Tensor.index(ofFlat: worst, shape: shape),
                               worstActual: actual.isEmpty ? 0 : actual[worst], worstExpected: expected.isEmpty ? 0 : expected[worst],
                               mismatches: mismatches, count: actual.count, passed: mismatches == 0)
    }
}
