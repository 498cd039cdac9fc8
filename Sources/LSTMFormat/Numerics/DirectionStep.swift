import CStepKernels

/// The gradient check's step along a random direction (`Spec/bptt.md` B39), in a kernel the compiler vectorizes:
/// w[i] = w[i] + scale · (u_i / norm), u_i the i-th `symmetricUnit()` of `generator` from its current state —
/// element by element the bits of the Swift loop `w[i] + scale * (r.symmetricUnit() / norm)`.
enum DirectionStep {
    static func add(to w: UnsafeMutableBufferPointer<Double>, after generator: SplitMix64, scale: Double, norm: Double) {
        guard let base = w.baseAddress else { return }
        lstmk_add_direction(base, w.count, generator.rawState, scale, norm)
    }
}
