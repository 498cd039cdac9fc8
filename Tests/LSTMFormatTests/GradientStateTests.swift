import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B30: weight gradients are formed one tensor at a time; no model-sized gradient buffer.
@Suite struct GradientStateTests {
    static let architecture = RandomModels.architecture(input: 3, hidden: 4, layers: [(.bidirectional, .concat), (.forward, nil)])

    @Test func B30_BPTTKeepsNoBufferOfTheWholeWeightGradient() {
        let g = GradientWorkspace<Double>(architecture: Self.architecture, batch: 2, steps: 5)
        for cells in g.cells { for cell in cells { #expect(cell.W.count == 0 && cell.U.count == 0) } }
        let model = RandomModels.make(architecture: Self.architecture, seed: 27)
        let checker = Weights<Double>(model, transposedU: false)
        #expect(checker.cells.allSatisfy { $0.allSatisfy { $0.UT == nil } }, "the checker's float64 copy keeps no Uᵀ")
    }

    /// Each tensor's gradient, formed on its own, agrees with central differences of the forward pass (which
    /// forms no gradient) at its first, middle and last element, and is the same on every run.
    @Test func B30_perTensorGradientsMatchFiniteDifferencesAndRepeatBitwise() throws {
        let model = RandomModels.make(architecture: Self.architecture, dtype: .float64, seed: 27)
        let x = RandomModels.inputs(batch: 2, steps: 5, features: 3, seed: 28)
        let t = RandomModels.inputs(batch: 2, steps: 5, features: 2, seed: 29)
        let prepared = PreparedModel(model, precision: .float64, transposedU: false)
        let first = try prepared.gradientsByTensor(.features(x), targets: t)
        var again: [String: [Double]] = [:]
        for (name, _) in model.orderedTensors { again[name] = try first.gradients.float64Values(name) }
        let second = try PreparedModel(model, precision: .float64).gradientsByTensor(.features(x), targets: t)
        for (name, tensor) in model.orderedTensors {
            let g = try second.gradients.float64Values(name)
            #expect(g == again[name], "\(name): the same bits on every run")
            #expect(g.count == tensor.elementCount)
        }
        // Finite differences of the loss through the plain forward pass, a few elements of each weight tensor.
        func loss(_ m: LSTMModel) throws -> Double {
            let y = try LSTMNumerics.forward(m, inputs: x, precision: .float64).float64Values()
            return zip(y, t.float64Values()).reduce(0) { $0 + 0.5 * ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        for name in ["lstm.0.fwd.W_c", "lstm.0.bwd.U_o", "lstm.1.fwd.U_f", "lstm.1.fwd.W_i"] {
            let tensor = model.tensors[name]!
            for index in [0, tensor.elementCount - 1, tensor.elementCount / 2] {
                var plus = tensor.float64Values(), minus = plus
                plus[index] += 1e-6
                minus[index] -= 1e-6
                let fd = (try loss(model.replacing([name: Tensor(shape: tensor.shape, float64: plus)]))
                    - loss(model.replacing([name: Tensor(shape: tensor.shape, float64: minus)]))) / 2e-6
                let g = again[name]![index]
                #expect(abs(fd - g) <= 1e-6 + 1e-5 * abs(fd), "\(name)[\(index)]: BPTT \(g), finite difference \(fd)")
            }
        }
    }
}
