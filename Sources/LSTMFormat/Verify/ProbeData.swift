/// SplitMix64: a small, fast, seeded generator, so probes and tests reproduce exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), 53 random bits.
    public mutating func symmetricUnit() -> Double {
        Double(next() >> 11) * 0x1p-52 - 1
    }
}

/// The deterministic probe the verifier runs when no inputs are given: seeded inputs and targets in [-1, 1).
public enum ProbeData {
    public static let defaultSeed: UInt64 = 0x1_57D1_F0E5
    public static let batch = 2
    public static let steps = 5

    /// Inputs [batch, steps, input size], float64.
    public static func inputs(for architecture: ModelArchitecture, seed: UInt64 = defaultSeed, batch: Int = batch, steps: Int = steps) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let n = batch * steps * architecture.inputSize
        return Tensor(shape: [batch, steps, architecture.inputSize], float64: (0..<n).map { _ in rng.symmetricUnit() })
    }

    /// Targets shaped like the model's output for `inputs` ([batch, steps, out] or [batch, out]), float64.
    public static func targets(for architecture: ModelArchitecture, inputs: Tensor, seed: UInt64 = defaultSeed &+ 1) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let batch = inputs.shape[0], steps = inputs.shape[1], out = architecture.outputSize
        let shape = architecture.returnSequences ? [batch, steps, out] : [batch, out]
        let n = Tensor.elementCount(shape) ?? 0
        return Tensor(shape: shape, float64: (0..<n).map { _ in rng.symmetricUnit() })
    }
}
