import Foundation
import Testing
@testable import LSTMFormat

/// Embedding and masking in `.lstm` (L24) and canonical HDF5 (H11).
@Suite struct MaskingStorageTests {
    static func models() -> [LSTMModel] {
        var a = RandomModels.architecture(layers: [(.bidirectional, .concat), (.backward, nil)], returnSequences: false)
        a.embedding = EmbeddingSpec(vocabularySize: 7, maskZero: true)
        a.layers[0].zeroOutputForMask = true
        a.layers[1].zeroOutputForMask = true
        var b = RandomModels.architecture(returnSequences: true)
        b.maskValue = -1.25
        var c = RandomModels.architecture(returnSequences: false)
        c.embedding = EmbeddingSpec(vocabularySize: 3, maskZero: false)
        return [a, b, c].enumerated().map { RandomModels.make(architecture: $0.element, seed: UInt64($0.offset)) }
    }

    @Test func lstmRoundTripKeepsEmbeddingAndMask() throws {
        for m in Self.models() {
            let bytes = CompactFormat.encode(m)
            // L24: version 2 exactly for masked models.
            #expect(bytes[8] == (m.architecture.isMasked ? 2 : 1))
            let back = try CompactFormat.decode(bytes)
            #expect(back == m)
            #expect(CompactFormat.encode(back) == bytes)
        }
    }

    /// L24: a version-1 header that declares a mask is refused (a version-1 reader would have ignored it).
    @Test func maskInVersion1IsRefused() throws {
        var bytes = [UInt8](CompactFormat.encode(Self.models()[1]))
        bytes[8] = 1
        #expect(throws: CompactError.maskNeedsVersion2) { try CompactFormat.decode(Data(bytes)) }
    }

    @Test func hdf5RoundTripKeepsEmbeddingAndMask() throws {
        let dir = FixturePaths.temporaryRoot.appendingPathComponent("masking-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (k, m) in Self.models().enumerated() {
            let url = dir.appendingPathComponent("m\(k).h5")
            try FormatRegistry.write(m, to: url, format: CanonicalHDF5Format.self)
            let (back, format) = try FormatRegistry.read(url)
            #expect(format.name == "hdf5")
            #expect(back.architecture == m.architecture)
            #expect(back.tensors == m.tensors)
        }
    }

    /// M21: in a masked model a bidirectional layer zeroes masked outputs exactly when it returns sequences;
    /// without a mask the flag is refused.
    @Test func zeroOutputFlagIsValidated() {
        var a = RandomModels.architecture(layers: [(.bidirectional, .sum)], returnSequences: true)
        a.maskValue = 0
        #expect(throws: ModelError.self) { try a.validate() }
        a.layers[0].zeroOutputForMask = true
        #expect(throws: Never.self) { try a.validate() }
        a.maskValue = nil
        #expect(throws: ModelError.self) { try a.validate() }
        var e = RandomModels.architecture()
        e.embedding = EmbeddingSpec(vocabularySize: 0)
        #expect(throws: ModelError.self) { try e.validate() }
    }
}
