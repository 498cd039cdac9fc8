import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B31: the checks' float64 copy converts one LSTM layer at a time, when a pass reaches it, into one
/// buffer the size of the largest layer, and gives the same bits as a whole copy of the model: outputs, loss, every
/// gradient, after parameters are set one by one and after every parameter is moved along a direction.
@Suite struct StreamedWeightsTests {
    /// Peepholes, a projection, a bidirectional and a backward layer, so every kind of cell tensor is streamed.
    static let architecture = RandomModels.chained([(.bidirectional, .concat, true, nil), (.forward, nil, false, 2),
                                                    (.backward, nil, false, nil)])

    @Test func B31_everyLSTMLayerLivesInOneBufferTheSizeOfTheLargest() {
        let model = RandomModels.make(architecture: Self.architecture, seed: 31)
        let streamed = Weights<Double>(model, transposedU: false, streamed: true)
        #expect(streamed.cells[0][0].W.p == streamed.cells[1][0].W.p, "layers 0 and 1 share the buffer")
        #expect(streamed.cells[0][0].W.p == streamed.cells[2][0].W.p, "layers 0 and 2 share the buffer")
        let whole = Weights<Double>(model, transposedU: false)
        #expect(whole.cells[0][0].W.p != whole.cells[1][0].W.p)
    }

    @Test func B31_streamedCopyGivesTheBitsOfAWholeCopy() throws {
        let model = RandomModels.make(architecture: Self.architecture, seed: 32)
        let x = ModelInput.features(RandomModels.inputs(batch: 2, steps: 4, features: 3, seed: 33))
        let t = RandomModels.inputs(batch: 2, steps: 4, features: 2, seed: 34)
        let streamed = PreparedModel(model, precision: .float64, transposedU: false, streamed: true)
        let whole = PreparedModel(model, precision: .float64, transposedU: false)
        let names = model.orderedTensors.map(\.name)

        func expectSame(_ what: String) throws {
            #expect(try streamed.forward(x).float64Values() == whole.forward(x).float64Values(), "\(what): outputs")
            let a = try streamed.gradientsByTensor(x, targets: t)
            var ga: [String: [Double]] = [:]
            for name in names { ga[name] = try a.gradients.float64Values(name) }
            let b = try whole.gradientsByTensor(x, targets: t)
            #expect(a.loss == b.loss, "\(what): loss")
            for name in names { #expect(try ga[name] == b.gradients.float64Values(name), "\(what): gradient of \(name)") }
            for name in names { #expect(try streamed.parameter(name, at: 0) == whole.parameter(name, at: 0), "\(what): \(name)[0]") }
        }
        try expectSame("as read")

        // One element in each of two layers, then one restored: the layer is converted again, with the change.
        for (name, index, delta) in [("lstm.0.bwd.U_i", 5, 1e-3), ("lstm.2.bwd.b_o", 1, -2e-3), ("lstm.0.fwd.p_f", 2, 3e-3), ("lstm.1.fwd.W_hr", 3, 4e-3)] {
            let v = try whole.parameter(name, at: index)
            try streamed.setParameter(name, at: index, to: v + delta)
            try whole.setParameter(name, at: index, to: v + delta)
        }
        try streamed.setParameter("lstm.0.bwd.U_i", at: 5, to: try whole.parameter("lstm.0.bwd.U_i", at: 5) - 1e-3)
        try whole.setParameter("lstm.0.bwd.U_i", at: 5, to: try whole.parameter("lstm.0.bwd.U_i", at: 5) - 1e-3)
        try expectSame("after setParameter")

        // Every parameter moved by its own amount, as the gradient check's directions do.
        let adjust: (String, Int, UnsafeMutableBufferPointer<Double>) -> Void = { name, start, w in
            for i in 0..<w.count { w[i] = w[i] + 1e-4 * Double((start + i) % 7 - 3) + Double(name.count) * 1e-6 }
        }
        streamed.setAdjustment(adjust)
        for name in names {
            let w = try whole.float64Values(name)
            model.tensors[name]!.copyFloat64Values(into: w.baseAddress!)
            adjust(name, 0, w)
            try whole.didUpdate(name)
        }
        try expectSame("after setAdjustment")
        streamed.setAdjustment(nil)
        for name in names {
            model.tensors[name]!.copyFloat64Values(into: try whole.float64Values(name).baseAddress!)
            try whole.didUpdate(name)
        }
        try expectSame("back to θ")
    }
}
