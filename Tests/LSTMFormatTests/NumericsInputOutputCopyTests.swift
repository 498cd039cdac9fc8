import Foundation
import LSTMFormat
import Testing

/// `Spec/bptt.md` B50: inputs in the verifier's own precision are copied from their bytes into the time-major
/// workspace, and outputs are written straight into the tensor's bytes, batch-major. Checked against paths that
/// share neither copy: the same values given in the other dtype (decoded and converted), and each sequence run
/// alone (batch 1, where batch-major and time-major orders coincide).
@Suite struct NumericsInputOutputCopyTests {
    /// Many-to-many, many-to-one and a bidirectional layer (batch 3, 4 steps, 3 features).
    static let architectures: [ModelArchitecture] = [
        RandomModels.architecture(hidden: 5, dense: [(2, .linear)]),
        RandomModels.architecture(hidden: 5, returnSequences: false, dense: [(2, .tanh)]),
        RandomModels.architecture(hidden: 4, layers: [(.bidirectional, .concat)], dense: [(3, .linear)]),
    ]

    /// float32 values (exact in both dtypes) as a float32 and as a float64 tensor.
    static func inputs(batch: Int, steps: Int, seed: UInt64) -> (f32: Tensor, f64: Tensor) {
        let shape = [batch, steps, 3]
        let values = RandomModels.inputs(batch: batch, steps: steps, features: 3, seed: seed).float32Values()
        return (Tensor(shape: shape, float32: values), Tensor(shape: shape, float64: values.map(Double.init)))
    }

    @Test(arguments: Precision.allCases, [0, 1, 2])
    func B50_inputsInEitherDtypeGiveTheSameBits(_ precision: Precision, _ a: Int) throws {
        let model = RandomModels.make(architecture: Self.architectures[a], dtype: .float32, seed: 50 + UInt64(a))
        let prepared = PreparedModel(model, precision: precision)
        let x = Self.inputs(batch: 3, steps: 4, seed: 5)
        let fromF32 = try prepared.forward(inputs: x.f32), fromF64 = try prepared.forward(inputs: x.f64)
        #expect(fromF32.dtype == precision.dtype && fromF64.dtype == precision.dtype)
        #expect(fromF32.bytes == fromF64.bytes)
    }

    @Test(arguments: Precision.allCases, [0, 1, 2])
    func B50_eachSequenceOfABatchIsItsOwnRun(_ precision: Precision, _ a: Int) throws {
        let arch = Self.architectures[a]
        let model = RandomModels.make(architecture: arch, dtype: .float32, seed: 60 + UInt64(a))
        let prepared = PreparedModel(model, precision: precision)
        let batch = 3, steps = 4
        // The batch in the verifier's own dtype (B50's byte copies both ways).
        let x = Self.inputs(batch: batch, steps: steps, seed: 6)
        let all = try prepared.forward(inputs: precision == .float32 ? x.f32 : x.f64)
        let expectedShape = arch.returnSequences ? [batch, steps, arch.outputSize] : [batch, arch.outputSize]
        #expect(all.shape == expectedShape)
        let perRow = all.float64Values().count / batch
        let xs = x.f64.float64Values(), perInput = steps * 3
        for b in 0..<batch {
            let one = Tensor(shape: [1, steps, 3], float64: Array(xs[(b * perInput)..<((b + 1) * perInput)]))
            let alone = try prepared.forward(inputs: one).float64Values()
            let row = Array(all.float64Values()[(b * perRow)..<((b + 1) * perRow)])
            let tol = precision == .float64 ? 1e-12 : 1e-5
            for (u, v) in zip(row, alone) { #expect(abs(u - v) <= tol * max(1, abs(v)), "sequence \(b): \(u) vs \(v)") }
        }
    }
}
