import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/keras-mapping.md` K-W9: the `.keras` writer builds `model.weights.h5` in memory.
@Suite struct KerasWeightsMemberTests {
    /// A bidirectional LSTM of a few MiB (several steps of the in-memory image's growth) and a dense head.
    static func model() -> LSTMModel {
        let architecture = ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 300, hiddenSize: 256, direction: .bidirectional, mergeMode: .concat)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: 512, outputSize: 7, activation: .linear)])
        return RandomModels.make(architecture: architecture, seed: 909)
    }

    /// The member built in memory has exactly the bytes of the `.weights.h5` the keras-weights writer puts on
    /// disk for the same model, and the archive is the one written through a temporary file (the path of a model
    /// over the memory budget).
    @Test func K_W9_inMemoryMemberIsTheWeightsFileBytes() throws {
        let model = Self.model()
        let dir = try FixturePaths.temporaryFolder()
        let inMemory = dir.appendingPathComponent("a.keras"), throughFile = dir.appendingPathComponent("b.keras")
        let weights = dir.appendingPathComponent("w.weights.h5")
        try KerasArchive.write(model, to: inMemory, options: WriteOptions())
        try KerasArchive.write(model, to: throughFile, options: WriteOptions(), inMemoryLimit: 0)
        try KerasWeightsFormat.write(model, to: weights, options: WriteOptions())
        let member = try KerasArchive.member(inMemory, KerasArchive.weightsEntry)
        #expect(member.count > 3 * HDF5File.imageIncrement)
        #expect(member == (try Data(contentsOf: weights)))
        #expect(try Data(contentsOf: inMemory) == Data(contentsOf: throughFile))
        #expect(try FormatRegistry.read(inMemory).model.tensors == model.tensors)
    }
}
