import Foundation
@testable import LSTMFormat
import Testing

/// `Spec/bptt.md` B39: the gradient check's direction step and the streamed copy's conversion on every core give
/// the bits of the plain loops they replace.
@Suite struct DirectionStepTests {
    /// The kernel against the Swift loop it replaces, from several generator states (odd lengths leave a tail).
    @Test func B39_directionStepHasTheSwiftLoopsBits() {
        for (seed, n, sign) in [(UInt64(1), 1001, 1.0), (0x1_57D1_F0E5 &+ 2, 37, -1.0), (UInt64.max - 5, 4096, 1.0)] {
            var start = SplitMix64(seed: seed)
            start.skip(12345)
            var values = (0..<n).map { Double($0 % 13) * 0.01 - 0.05 }
            var expected = values
            let norm = 3.7, step = GradientCheck.step
            var r = start
            for i in 0..<n { expected[i] = expected[i] + sign * step * (r.symmetricUnit() / norm) }
            values.withUnsafeMutableBufferPointer { DirectionStep.add(to: $0, after: start, scale: sign * step, norm: norm) }
            #expect(zip(values, expected).filter { $0.bitPattern != $1.bitPattern }.count == 0, "seed \(seed)")
        }
    }

    /// A streamed copy whose large float32 tensors are widened and adjusted in parts on several threads gives the
    /// bits of a whole copy adjusted tensor by tensor in one piece (each W_g of layer 0: 256 × 300 = 76 800 elements).
    @Test func B39_streamedConversionInPartsHasTheBitsOfOnePiece() throws {
        let arch = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 300, hiddenSize: 256), LSTMLayerSpec(inputSize: 256, hiddenSize: 8)],
                                     returnSequences: true, dense: [])
        let model = RandomModels.make(architecture: arch, seed: 39)
        let x = ModelInput.features(RandomModels.inputs(batch: 2, steps: 3, features: 300, seed: 40))
        let streamed = PreparedModel(model, precision: .float64, transposedU: false, streamed: true)
        let whole = PreparedModel(model, precision: .float64, transposedU: false)
        let adjust: (String, Int, UnsafeMutableBufferPointer<Double>) -> Void = { name, start, w in
            var r = SplitMix64(seed: UInt64(name.count))
            r.skip(start)
            DirectionStep.add(to: w, after: r, scale: 1e-3, norm: 2)
        }
        streamed.setAdjustment(adjust)
        for (name, _) in model.orderedTensors {
            let w = try whole.float64Values(name)
            model.tensors[name]!.copyFloat64Values(into: w.baseAddress!)
            adjust(name, 0, w)
            try whole.didUpdate(name)
        }
        let a = try streamed.forward(x).float64Values(), b = try whole.forward(x).float64Values()
        #expect(zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count == 0)
        #expect(try streamed.parameter("lstm.0.fwd.W_f", at: 16_000) == whole.parameter("lstm.0.fwd.W_f", at: 16_000))
    }
}
