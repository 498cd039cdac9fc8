import Foundation
import Testing
@testable import LSTMFormat

/// `TensorRows`, the one maker of a rearranged tensor band by band (`Spec/layout.md` G8, `Spec/hdf5-layout.md`
/// H16): whatever the band limit (parts of one row, whole rows, the whole tensor), its bands in order are the
/// bytes the whole-tensor moves give; and a writer whose writing thread fails stops without hanging.
@Suite struct TensorRowsTests {
    private static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, float32: (0..<n).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) })
    }

    /// The bands of `rows` at `limit`, concatenated; each band checked against the limit.
    private static func banded(_ rows: TensorRows, limit: Int) -> Data {
        var out = Data()
        rows.forEachBand(limit: limit) { band in
            #expect(band.count <= max(limit, rows.dtype.byteSize), "a band of \(band.count) bytes at limit \(limit)")
            out.append(contentsOf: band)
        }
        return out
    }

    /// Limits of one element, part of a row, three whole rows (not a multiple of 8) and the whole tensor.
    private static func limits(_ rows: TensorRows) -> [Int] {
        [rows.dtype.byteSize, 3 * rows.dtype.byteSize, 3 * rows.rowBytes, 1 << 20]
    }

    /// The framework matrix joined band by band (H16) is `join`'s, in every storage, for every band limit.
    @Test(arguments: [GateLayout.MatrixStorage.rows, .columnsTransposed, .columnsReshaped])
    func H16_joinedBandsAreTheJoinedMatrix(_ storage: GateLayout.MatrixStorage) {
        let (h, n) = (5, 7)
        let blocks = (0..<4).map { Self.random([h, n], seed: UInt64($0 + 1)) }
        let rows = GateLayout.joinRows(blocks, storage)
        let expected = GateLayout.join(blocks, storage).bytes
        for limit in Self.limits(rows) {
            #expect(Self.banded(rows, limit: limit) == expected, "\(storage) at limit \(limit)")
        }
        #expect(rows.make().bytes == expected)
    }

    /// A tensor's own bytes and its transpose (G6's `transposed2D`), band by band, for every band limit; a
    /// vector and a scalar are rows of one element.
    @Test func G8_copiedAndTransposedBandsAreTheTensorsBytes() {
        let m = Self.random([9, 13], seed: 11)
        for (rows, expected) in [(TensorRows(m), m.bytes), (TensorRows.transposed(m), m.transposed2D().bytes),
                                 (TensorRows(Self.random([6], seed: 12)), Self.random([6], seed: 12).bytes),
                                 (TensorRows(Self.random([], seed: 13)), Self.random([], seed: 13).bytes)] {
            for limit in Self.limits(rows) {
                #expect(Self.banded(rows, limit: limit) == expected, "\(rows.shape) at limit \(limit)")
            }
        }
    }

    /// Bands are whole rows, a multiple of 8 of them where that fits, and parts of one row only when a row is
    /// larger than the limit.
    @Test func G8_bandsAreWholeRowsUnlessARowIsLarger() {
        let rows = TensorRows(Tensor.zeros(shape: [20, 4]))  // rows of 16 bytes
        #expect(rows.bands(limit: 10 * 16).map(\.rows) == [0..<8, 8..<16, 16..<20])
        #expect(rows.bands(limit: 3 * 16).map(\.rows) == [0..<3, 3..<6, 6..<9, 9..<12, 12..<15, 15..<18, 18..<20])
        let parts = rows.bands(limit: 12)
        #expect(parts.count == 40 && parts.prefix(2) == [.init(rows: 0..<1, part: 0..<3), .init(rows: 0..<1, part: 3..<4)])
    }

    /// A write that fails on the writing thread (a full device) is thrown with the OS's reason from the
    /// `write` still making pieces (more pieces than buffers) and from `finish`; neither side is left waiting.
    @Test func H16_failedRawWriteStopsTheWriter() throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/full"))
        let writer = try RawDataWriter(path: "/dev/full", allowDirect: false)
        let big = TensorRows(Tensor.zeros(shape: [5, 1 << 20]))  // 20 MiB: five pieces, three buffers
        #expect(throws: IOProblem.cannotWrite("No space left on device")) { try writer.write(at: 0, big) }
        #expect(throws: IOProblem.cannotWrite("No space left on device")) { try writer.finish() }
        #expect(writer.regions.isEmpty)
    }
}
