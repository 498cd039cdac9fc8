import LSTMFormat
import Testing

/// `Spec/bptt.md` B12: bad shapes are rejected with a specific error, never a crash.
@Suite struct NumericsErrorTests {
    let model = RandomModels.make(architecture: RandomModels.architecture(dense: [(2, .linear)]), seed: 1)

    @Test func inputsMustHaveRankThree() {
        #expect(throws: NumericsError.inputRank(actual: [2, 3])) {
            try LSTMNumerics.forward(model, inputs: Tensor(shape: [2, 3], float32: Array(repeating: 0, count: 6)), precision: .float32)
        }
    }

    @Test func inputFeaturesMustMatchTheFirstLayer() {
        #expect(throws: NumericsError.inputFeatures(expected: 3, actual: 5)) {
            try LSTMNumerics.forward(model, inputs: Tensor.zeros(shape: [1, 2, 5]), precision: .float64)
        }
    }

    @Test func batchAndStepsMustBePositive() {
        #expect(throws: NumericsError.emptyInput(shape: [1, 0, 3])) {
            try LSTMNumerics.forward(model, inputs: Tensor.zeros(shape: [1, 0, 3]), precision: .float32)
        }
        #expect(throws: NumericsError.emptyInput(shape: [0, 4, 3])) {
            try LSTMNumerics.forward(model, inputs: Tensor.zeros(shape: [0, 4, 3]), precision: .float32)
        }
    }

    @Test func targetsMustHaveTheOutputShape() {
        #expect(throws: NumericsError.targetsShape(expected: [2, 4, 2], actual: [2, 2])) {
            try LSTMNumerics.gradients(model, inputs: Tensor.zeros(shape: [2, 4, 3]), targets: Tensor.zeros(shape: [2, 2]),
                                       precision: .float32)
        }
        let m2o = RandomModels.make(architecture: RandomModels.architecture(returnSequences: false), seed: 2)
        #expect(throws: NumericsError.targetsShape(expected: [2, 2], actual: [2, 4, 2])) {
            try LSTMNumerics.gradients(m2o, inputs: Tensor.zeros(shape: [2, 4, 3]), targets: Tensor.zeros(shape: [2, 4, 2]),
                                       precision: .float64)
        }
    }

    @Test func preparedModelRejectsUnknownTensorsAndIndices() {
        let p = PreparedModel(model, precision: .float64)
        #expect(throws: NumericsError.unknownTensor("lstm.0.bwd.W_f")) { try p.parameter("lstm.0.bwd.W_f", at: 0) }
        #expect(throws: NumericsError.indexOutOfRange(tensor: "lstm.0.fwd.b_o", index: 4, count: 4)) {
            try p.setParameter("lstm.0.fwd.b_o", at: 4, to: 1)
        }
        #expect(throws: NumericsError.tensorShape(tensor: "dense.0.c", expected: [2], actual: [3])) {
            try p.replaceTensor("dense.0.c", with: Tensor.zeros(shape: [3]))
        }
    }

    @Test func errorsReadAsOneLine() {
        let e = NumericsError.inputFeatures(expected: 3, actual: 5)
        #expect(e.description == "inputs have 5 features per step; the model's first LSTM layer expects 3")
    }
}
