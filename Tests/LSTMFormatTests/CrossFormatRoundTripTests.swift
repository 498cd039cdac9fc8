import Foundation
import Testing
@testable import LSTMFormat

/// Issue #2's round trip across formats: model → .lstm → canonical .h5 → .lstm is lossless and gives the same
/// `.lstm` bytes, for every dtype set and every architecture variant (seeded random models).
@Suite struct CrossFormatRoundTripTests {
    static let dtypeSets: [[DType]] = [[.float32], [.float64], [.float16], [.bfloat16], [.float32, .bfloat16, .float64, .float16]]

    @Test(arguments: RandomModels.variants, dtypeSets)
    func lstmToHDF5AndBackIsByteIdentical(_ variant: RandomModels.Variant, dtypes: [DType]) throws {
        let seed: UInt64 = 0xC0FF_EE00 &+ UInt64(variant.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF)
        let model = try RandomModels.model(variant.architecture, dtypes: dtypes,
                                           metadata: ["source.tool": "test", "note": "ünïcödé ✓", "seed": "\(seed)"], seed: seed)
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("a.lstm"), h5 = dir.appendingPathComponent("m.h5"), second = dir.appendingPathComponent("b.lstm")
        try FormatRegistry.write(model, to: first)
        let viaCompact = try FormatRegistry.read(first).model
        try FormatRegistry.write(viaCompact, to: h5, options: WriteOptions(compress: dtypes.count > 1))
        let viaHDF5 = try FormatRegistry.read(h5)
        #expect(viaHDF5.format.name == "hdf5")
        try FormatRegistry.write(viaHDF5.model, to: second)
        #expect(viaHDF5.model == model, "seed \(seed): the model changed through .lstm and .h5")
        #expect(try Data(contentsOf: first) == Data(contentsOf: second), "seed \(seed): .lstm bytes differ after the .h5 round trip")
    }
}
