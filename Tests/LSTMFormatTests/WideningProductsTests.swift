import CStepKernels
import Foundation
@testable import LSTMFormat
import Testing

/// `Spec/bptt.md` B38: the float64 passes' products at a small batch read float32 weights widened in registers.
/// Skipped (not passed) on CPUs without AVX2 and FMA, where the float64 passes take OpenBLAS.
@Suite(.enabled(if: WideningProducts.cpuRunsThem, "the CPU has no AVX2 + FMA: the widening products never run"))
struct WideningProductsTests {
    static func uniform(_ n: Int, seed: UInt64, scale: Double) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in rng.symmetricUnit() * scale }
    }

    /// How many elements of two arrays differ in their bits.
    static func differing(_ a: [Double], _ b: [Double]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : max(a.count, b.count)
    }

    /// B38: on float32 weights the widening kernel gives the bits of the float64 kernel on the same values
    /// widened; every sum is the same whatever rows of w or of a a call gets (the threads' split) and agrees with
    /// a plain float64 sum to rounding. K = 29 and 8: the 8-lane loop with a tail of 5 and without one.
    @Test(arguments: [29, 8, 3])
    func B38_widenedWeightsGiveTheFloat64KernelsBitsInAnySplit(k: Int) {
        let m = 6, n = 37
        let a = Self.uniform(m * k, seed: 1, scale: 1)
        let w32 = Self.uniform(n * k, seed: 2, scale: 0.5).map { Float($0) }
        let w64 = w32.map { Double($0) }
        let c0 = Self.uniform(m * n, seed: 3, scale: 0.1)
        var widened = c0, double = c0
        lstmk_dot_widened(Int32(m), Int32(n), Int32(k), a, Int32(k), w32, Int32(k), &widened, Int32(n))
        lstmk_dot_double(Int32(m), Int32(n), Int32(k), a, Int32(k), w64, Int32(k), &double, Int32(n))
        #expect(Self.differing(widened, double) == 0)

        // Rows of w in three calls (the threads' split) and rows of a one at a time: the same bits.
        var split = c0
        split.withUnsafeMutableBufferPointer { c in
            for (lo, hi) in [(0, 16), (16, 17), (17, n)] {
                lstmk_dot_widened(Int32(m), Int32(hi - lo), Int32(k), a, Int32(k), w32.withUnsafeBufferPointer { $0.baseAddress! } + lo * k,
                                  Int32(k), c.baseAddress! + lo, Int32(n))
            }
        }
        #expect(Self.differing(split, widened) == 0)
        var byRow = c0
        byRow.withUnsafeMutableBufferPointer { c in
            a.withUnsafeBufferPointer { a in
                for i in 0..<m {
                    lstmk_dot_widened(1, Int32(n), Int32(k), a.baseAddress! + i * k, Int32(k), w32, Int32(k), c.baseAddress! + i * n, Int32(n))
                }
            }
        }
        #expect(Self.differing(byRow, widened) == 0)

        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for q in 0..<k { s += a[i * k + q] * w64[j * k + q] }
                worst = max(worst, abs(widened[i * n + j] - (c0[i * n + j] + s)))
            }
        }
        #expect(worst < 1e-14)
    }

    /// B38 with B31: a streamed float64 copy with coordinate-probe elements set reads W and U from the model's
    /// float32 tensors (no float64 copy of them) and gives the bits of a whole float64 copy; and the float64
    /// passes on the widening products agree with the OpenBLAS path to float64 rounding (other sums).
    @Test func B38_streamedPassesReadFloat32WeightsAndMatchAWholeCopy() throws {
        let layers = [LSTMLayerSpec(inputSize: 13, hiddenSize: 20), LSTMLayerSpec(inputSize: 20, hiddenSize: 20, direction: .bidirectional, mergeMode: .concat)]
        let arch = ModelArchitecture(layers: layers, returnSequences: false,
                                     dense: [DenseLayerSpec(inputSize: 40, outputSize: 3, activation: .tanh)])
        let model = RandomModels.make(architecture: arch, seed: 38)
        let x = ModelInput.features(RandomModels.inputs(batch: 2, steps: 5, features: 13, seed: 39))
        let t = Tensor(shape: [2, 3], float64: Self.uniform(6, seed: 40, scale: 1))
        let streamed = Engine<Double>(model, transposedU: false, streamed: true)
        let whole = PreparedModel(model, precision: .float64, transposedU: false)
        for (name, index, delta) in [("lstm.0.fwd.U_c", 47, 1e-5), ("lstm.1.bwd.W_o", 3, -1e-5), ("lstm.1.fwd.U_f", 399, 2e-5)] {
            let v = try whole.parameter(name, at: index)
            try streamed.weights.setElement(name, index, to: v + delta)
            try whole.setParameter(name, at: index, to: v + delta)
        }
        let ys = try streamed.forward(x).float64Values()
        #expect(Self.differing(ys, try whole.forward(x).float64Values()) == 0)
        let rows = streamed.weights.wideningRows(layer: 1)
        #expect(rows.allSatisfy { $0.W.fused == nil && $0.U.fused == nil }, "W and U read from the float32 tensors")

        let reference = try WideningProducts.$enabled.withValue(false) {
            try whole.gradients(x, targets: t)
        }
        let ours = try whole.gradients(x, targets: t)
        let yr = reference.outputs.float64Values()
        #expect(zip(ys, yr).allSatisfy { abs($0 - $1) <= 1e-14 * max(1, abs($1)) }, "outputs vs OpenBLAS")
        #expect(abs(ours.loss - reference.loss) <= 1e-13 * max(1, abs(reference.loss)))
        for (name, g) in reference.gradients {
            let a = ours.gradients[name]!.float64Values(), b = g.float64Values()
            let scale = b.map(abs).max() ?? 0
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, scale) }, "gradient \(name) vs OpenBLAS")
        }
    }
}
