import Foundation
@testable import LSTMFormat
import Testing

/// `Spec/bptt.md` B10–B11: float32 agrees with float64; the float32 fast exp, sigmoid and tanh stay within their
/// documented error.
@Suite struct NumericsPrecisionTests {
    /// Stacked bidirectional + backward model (input 8, hidden 16, steps 20, batch 3, seed 21): outputs within
    /// 1e-5 absolute, each gradient tensor within 1e-4 of its largest float64 element, the loss within 1e-5
    /// relative.
    @Test func float32AgreesWithFloat64() throws {
        let arch = RandomModels.architecture(input: 8, hidden: 16, layers: [(.bidirectional, .concat), (.backward, nil)],
                                             dense: [(6, .tanh), (4, .linear)])
        let model = RandomModels.make(architecture: arch, dtype: .float32, seed: 21)
        let x = RandomModels.inputs(batch: 3, steps: 20, features: 8, seed: 22)
        let y = FiniteDifferences.targets(arch, batch: 3, steps: 20, seed: 23)
        let r64 = try LSTMNumerics.gradients(model, inputs: x, targets: y, precision: .float64)
        let r32 = try LSTMNumerics.gradients(model, inputs: x, targets: y, precision: .float32)
        #expect(r32.outputs.dtype == .float32 && r64.outputs.dtype == .float64)
        #expect(abs(r32.loss - r64.loss) <= 1e-5 * r64.loss)
        for (a, b) in zip(r32.outputs.float64Values(), r64.outputs.float64Values()) { #expect(abs(a - b) <= 1e-5) }
        for (name, g64) in r64.gradients {
            let a = try #require(r32.gradients[name]).float64Values(), b = g64.float64Values()
            let scale = b.map(abs).max() ?? 0
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * max(scale, 1e-3), "\(name): \(worst) vs scale \(scale)")
        }
    }

    /// bfloat16 and float16 models compute in float32 on their exactly widened values.
    @Test(arguments: [DType.float16, .bfloat16])
    func halfPrecisionModelsWidenExactly(_ dtype: DType) throws {
        let arch = RandomModels.architecture()
        let half = RandomModels.make(architecture: arch, dtype: dtype, seed: 31)
        let x = RandomModels.inputs(batch: 2, steps: 4, features: 3, seed: 32)
        let a = try LSTMNumerics.forward(half, inputs: x, precision: .float32)
        let b = try LSTMNumerics.forward(half.converted(to: .float32), inputs: x, precision: .float32)
        #expect(a == b)
    }

    @Test func fastMathErrorBounds() {
        var worstExp = 0.0, worstSig = 0.0, worstTanh = 0.0
        var x = -30.0
        while x <= 30 {
            let f = Float(x), d = Double(f)
            worstExp = max(worstExp, abs(Double(FastMath.exp(f)) - Foundation.exp(d)) / Foundation.exp(d))
            worstSig = max(worstSig, abs(Double(FastMath.sigmoid(f)) - 1 / (1 + Foundation.exp(-d))))
            worstTanh = max(worstTanh, abs(Double(FastMath.tanh(f)) - Foundation.tanh(d)))
            x += 0.000_37
        }
        #expect(worstExp <= 2.5e-7)  // 2 ulp
        #expect(worstSig <= 4e-7)
        #expect(worstTanh <= 4e-7)
        #expect(FastMath.exp(-200) < 2e-38 && FastMath.exp(200) > 1e38)
        #expect(FastMath.tanh(1e-6) == Float(1e-6))
    }
}
