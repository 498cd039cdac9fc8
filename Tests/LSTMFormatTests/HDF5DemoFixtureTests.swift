import Foundation
import Testing
@testable import LSTMFormat

/// Fixtures/demo/model.h5, written by scripts/make_demo_fixture.py with h5py, reads as the model the script
/// describes.
@Suite struct HDF5DemoFixtureTests {
    @Test func demoModelReads() throws {
        let url = FixturePaths.fixture("demo/model.h5")
        let (model, format) = try FormatRegistry.read(url)
        #expect(format.name == "hdf5")
        #expect(model.architecture == ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 3, hiddenSize: 8),
                     LSTMLayerSpec(inputSize: 8, hiddenSize: 8, direction: .bidirectional, mergeMode: .concat)],
            returnSequences: true, dense: [DenseLayerSpec(inputSize: 16, outputSize: 4, activation: .tanh)]))
        #expect(model.dtypes == [.float32])
        #expect(model.metadata["source.tool"] == "make_demo_fixture.py")
        // Forget-gate biases are 1, the other biases 0 (the script's Keras-like initialization).
        #expect(model.tensor("lstm.1.bwd.b_f")?.float32Values() == Array(repeating: 1, count: 8))
        #expect(model.tensor("lstm.0.fwd.b_i")?.float32Values() == Array(repeating: 0, count: 8))
        // Glorot-uniform bound for the 4×16 dense kernel: sqrt(6 / 20).
        let v = try #require(model.tensor("dense.0.V")).float32Values()
        #expect(v.allSatisfy { abs($0) <= Float(sqrt(6.0 / 20.0)) } && Set(v).count == 64)
    }
}
