/// SplitMix64: a small, fast, seeded generator, so probes and tests reproduce exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    private static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator's state: the next value comes from state + 0x9E37_79B9_7F4A_7C15 (`DirectionStep`).
    var rawState: UInt64 { state }

    /// Skips `count` values in O(1): the state after it is the state after `count` calls of `next()`.
    public mutating func skip(_ count: Int) {
        state &+= UInt64(truncatingIfNeeded: count) &* Self.increment
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

    /// The probe for any model (B16): float inputs as `inputs`, or token ids for a model with an embedding. Both
    /// are padded when the model is masked — row 0 at its first step (leading), row 1 at a middle and at its last
    /// step (trailing) — with id 0 or the mask value, so a conversion that breaks masking changes the outputs.
    /// Other ids are uniform in 1 ..< vocabulary (0 when the vocabulary has one id).
    public static func input(for architecture: ModelArchitecture, seed: UInt64 = defaultSeed, batch: Int = batch, steps: Int = steps) -> ModelInput {
        let padded = paddedSteps(batch: batch, steps: steps)
        if let e = architecture.embedding {
            var rng = SplitMix64(seed: seed)
            var ids = [Int64](repeating: 0, count: batch * steps)
            for k in ids.indices where !padded.contains(k) {
                ids[k] = e.vocabularySize > 1 ? Int64(1 + rng.next() % UInt64(e.vocabularySize - 1)) : 0
            }
            return .tokens(try! TokenIDs(shape: [batch, steps], ids: ids))
        }
        let x = inputs(for: architecture, seed: seed, batch: batch, steps: steps)
        guard let v = architecture.maskValue else { return .features(x) }
        var values = x.float64Values()
        let width = architecture.inputSize
        // M18: float32(v), which Keras masks in a float32 and in a float64 model alike.
        let pad = Double(Float(v))
        for k in padded { for e in 0..<width { values[k * width + e] = pad } }
        return .features(Tensor(shape: x.shape, float64: values))
    }

    /// Flat (b · steps + t) positions the probe pads: (0, 0), (1, steps / 2), (1, steps − 1).
    static func paddedSteps(batch: Int, steps: Int) -> Set<Int> {
        var s: Set<Int> = [0]
        if batch > 1 { s.formUnion([steps + steps / 2, 2 * steps - 1]) }
        return s
    }

    /// Targets shaped like the model's output for inputs of `batch` rows and `steps` steps, float64.
    public static func targets(for architecture: ModelArchitecture, batch: Int, steps: Int, seed: UInt64 = defaultSeed &+ 1) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let out = architecture.outputSize
        let shape = architecture.returnSequences ? [batch, steps, out] : [batch, out]
        let n = Tensor.elementCount(shape) ?? 0
        return Tensor(shape: shape, float64: (0..<n).map { _ in rng.symmetricUnit() })
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
