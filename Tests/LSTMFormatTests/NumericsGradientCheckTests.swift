import LSTMFormat
import Testing

/// `Spec/bptt.md` B9: BPTT equals central finite differences in float64, for every architecture variant and
/// every coordinate of every canonical tensor (input 3, hidden 4, steps 5, batch 2; model seed 42, inputs 43,
/// targets 44).
@Suite struct NumericsGradientCheckTests {
    static let tolerance = (absolute: 1e-7, relative: 1e-5)

    @Test(arguments: RandomModels.variants)
    func bpttMatchesCentralDifferences(_ variant: RandomModels.Variant) throws {
        let arch = variant.architecture
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 42)
        let x = RandomModels.inputs(batch: 2, steps: 5, features: arch.inputSize, seed: 43)
        let y = FiniteDifferences.targets(arch, batch: 2, steps: 5, seed: 44)
        let prepared = PreparedModel(model, precision: .float64)
        let (loss, outputs, grads) = try prepared.gradients(inputs: x, targets: y)

        // The loss and outputs the BPTT call returns are the forward pass's.
        #expect(outputs == (try prepared.forward(inputs: x)))
        let expectedLoss = try FiniteDifferences.loss(prepared, inputs: x, targets: y)
        #expect(abs(loss - expectedLoss) <= 1e-12 * max(1, expectedLoss))
        #expect(Set(grads.keys) == Set(model.tensors.keys))

        var failures: [String] = []
        var checked = 0
        for (name, shape) in arch.expectedTensors {
            guard let g = grads[name] else { failures.append("\(name): missing"); continue }
            #expect(g.shape == shape && g.dtype == .float64, "\(name)")
            let analytic = g.float64Values()
            for e in analytic.indices {
                let fd = try FiniteDifferences.centralDifference(prepared, name, e, inputs: x, targets: y)
                let bound = Self.tolerance.absolute + Self.tolerance.relative * max(abs(fd), abs(analytic[e]))
                if abs(analytic[e] - fd) > bound { failures.append("\(name)[\(e)]: bptt \(analytic[e]), fd \(fd)") }
                checked += 1
            }
        }
        #expect(checked == model.parameterCount)
        let failed = failures.count
        #expect(failed == 0, "\(variant): \(failed) of \(checked) differ: \(failures.prefix(5))")
    }
}
