import LSTMFormat

/// The library's SplitMix64, which the verifier's probe uses too: tiny, fast and fully reproducible. Always
/// print or name the seed in the test so a failure reproduces.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    /// Uniform in [-scale, scale).
    mutating func uniform(_ scale: Double = 1) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }

    /// `count` values uniform in [-scale, scale).
    mutating func values(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in uniform(scale) }
    }
}
