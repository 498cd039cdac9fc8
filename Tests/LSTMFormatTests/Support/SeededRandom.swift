/// SplitMix64: a tiny, fast, fully reproducible generator for tests. Always print or name the seed in the test
/// so a failure reproduces.
struct SeededRandom: RandomNumberGenerator {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    mutating func uniform(_ scale: Double = 1) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }

    /// `count` values uniform in [-scale, scale).
    mutating func values(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in uniform(scale) }
    }
}
