import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/keras-mapping.md` K-W9: the `.keras` writer writes `model.weights.h5` without a temporary copy;
/// `Spec/hdf5-layout.md` H15: an HDF5 file behind someone else's user block is made standalone.
@Suite struct KerasWeightsMemberTests {
    /// A bidirectional LSTM of a few MiB (several steps of the in-memory image's growth) and a dense head.
    static func model() -> LSTMModel {
        let architecture = ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 300, hiddenSize: 256, direction: .bidirectional, mergeMode: .concat)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: 512, outputSize: 7, activation: .linear)])
        return RandomModels.make(architecture: architecture, seed: 909)
    }

    /// On every path (stored: straight into the archive; compressed: in memory, or through a temporary file for
    /// a model over the memory budget) the member has exactly the bytes of the `.weights.h5` the keras-weights
    /// writer puts on disk for the same model, and reads back as the model.
    @Test func K_W9_weightsMemberIsTheWeightsFileBytesOnEveryPath() throws {
        let model = Self.model()
        let dir = try FixturePaths.temporaryFolder()
        func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
        try KerasArchive.write(model, to: file("stored.keras"), options: WriteOptions())
        try KerasArchive.write(model, to: file("memory.keras"), options: WriteOptions(compress: true))
        try KerasArchive.write(model, to: file("temporary.keras"), options: WriteOptions(compress: true), inMemoryLimit: 0)
        try KerasWeightsFormat.write(model, to: file("w.weights.h5"), options: WriteOptions())
        try KerasWeightsFormat.write(model, to: file("c.weights.h5"), options: WriteOptions(compress: true))
        let stored = try KerasArchive.member(file("stored.keras"), KerasArchive.weightsEntry)
        #expect(stored.count > 3 * HDF5File.imageIncrement)
        #expect(stored == (try Data(contentsOf: file("w.weights.h5"))))
        let compressed = try Data(contentsOf: file("c.weights.h5"))
        #expect(try KerasArchive.member(file("memory.keras"), KerasArchive.weightsEntry) == compressed)
        #expect(try KerasArchive.member(file("temporary.keras"), KerasArchive.weightsEntry) == compressed)
        for name in ["stored.keras", "memory.keras", "temporary.keras"] {
            #expect(try FormatRegistry.read(file(name)).model.tensors == model.tensors, "\(name)")
        }
        // Stored, the member begins at a power of two, right after its padded local header.
        let archive = try ZipArchive(url: file("stored.keras"))
        let range = try archive.storedRange(archive[KerasArchive.weightsEntry]!, limit: 1 << 30)
        #expect(range.map { $0.lowerBound >= 4096 && $0.lowerBound & ($0.lowerBound - 1) == 0 } == true)
    }

    /// libhdf5's file behind a 4 KiB user block, detached, is byte for byte the file written without one; a
    /// file without that superblock is refused and left unchanged.
    @Test func H15_detachedFileIsTheFileWithoutAUserBlock() throws {
        let dir = try FixturePaths.temporaryFolder()
        let plain = dir.appendingPathComponent("plain.h5"), behind = dir.appendingPathComponent("behind.h5")
        let fill = { (file: HDF5File) in
            try file.writeTensor("/layers/lstm/vars/0", Tensor(shape: [3, 5], values: (0..<15).map(Double.init), dtype: .float32), compress: false)
            try file.setStringAttribute("/layers", "name", "sequential")
        }
        try HDF5File.create(plain, fill)
        try HDF5File.create(behind, userBlock: 4096, fill)
        try HDF5File.detachUserBlock(behind, userBlock: 4096)
        #expect(try Data(contentsOf: behind).dropFirst(4096) == Data(contentsOf: plain))
        let before = try Data(contentsOf: plain)
        #expect(throws: HDF5Error.self) { try HDF5File.detachUserBlock(plain, userBlock: 512) }
        #expect(try Data(contentsOf: plain) == before)
    }
}
