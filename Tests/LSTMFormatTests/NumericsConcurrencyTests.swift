import Dispatch
import Foundation
import Testing
@testable import LSTMFormat

/// B14: verifier calls from several threads at once give the same bits as one call alone (`compare` relies on
/// bitwise-reproducible numerics; OpenBLAS's thread count is process-wide).
@Suite struct NumericsConcurrencyTests {
    @Test func concurrentCallsAreBitwiseReproducible() throws {
        let arch = RandomModels.architecture(input: 5, hidden: 40, layers: [(.bidirectional, .concat)], dense: [(3, .tanh)])
        let model = RandomModels.make(architecture: arch, seed: 77)
        let x = RandomModels.inputs(batch: 48, steps: 12, features: 5, seed: 78).converted(to: .float32)
        let t = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
        let targets = Tensor(shape: t.shape, float64: t.float64Values().map { $0 * 0.5 }).converted(to: .float32)
        let reference = try LSTMNumerics.gradients(model, inputs: x, targets: targets, precision: .float32)

        let runs = 8
        nonisolated(unsafe) var results = [(Double, Tensor, [String: Tensor])?](repeating: nil, count: runs)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: runs) { k in
            let r = try? LSTMNumerics.gradients(model, inputs: x, targets: targets, precision: .float32)
            lock.lock(); results[k] = r.map { ($0.loss, $0.outputs, $0.gradients) }; lock.unlock()
        }
        for (k, r) in results.enumerated() {
            let (loss, outputs, grads) = try #require(r, "run \(k) threw")
            #expect(loss.bitPattern == reference.loss.bitPattern, "run \(k): loss differs")
            #expect(outputs == reference.outputs, "run \(k): outputs differ")
            #expect(grads == reference.gradients, "run \(k): gradients differ")
        }
    }
}
