import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/layout.md` G8: transposed blocks held as their source and the move give exactly the moved bytes, and
/// the `.lstm` writer streams them band by band to the bytes the made tensors give, without making them.
@Suite struct DeferredLayoutTests {
    /// Element bytes of a [rows, cols] matrix of distinct 4-byte values, and the definition of its block's
    /// transpose: out[j, r] = m[r, c0 + j] for j < width.
    private static func matrix(rows: Int, cols: Int, seed: UInt64) -> [UInt32] {
        var rng = SplitMix64(seed: seed)
        return (0..<(rows * cols)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
    }

    private static func transposedBlock(_ m: [UInt32], rows: Int, cols: Int, from c0: Int, width: Int) -> Data {
        var out = [UInt32](repeating: 0, count: rows * width)
        for r in 0..<rows { for j in 0..<width { out[j * rows + r] = m[r * cols + c0 + j] } }
        return out.withUnsafeBytes { Data($0) }
    }

    /// Keras kernels [n, 4H]: each gate block is deferred; its CRC-32 (computed band by band first), its bands in
    /// order and its made bytes all equal the definition's. Shapes with whole-row bands (a multiple of 8 rows and
    /// a remainder) and with rows larger than a band (parts of rows).
    @Test(arguments: [(3, 2), (1024, 200), (140_000, 2)])
    func G8_deferredGateBlocksGiveTheMovedBytes(_ size: (n: Int, h: Int)) throws {
        let (n, h) = size
        let m = Self.matrix(rows: n, cols: 4 * h, seed: UInt64(n * 31 + h))
        let kernel = try Tensor(dtype: .float32, shape: [n, 4 * h], bytes: m.withUnsafeBytes { Data($0) })
        let recurrent = Tensor.zeros(shape: [h, 4 * h])
        let cell = try GateLayout.keras.unpack(FrameworkCell(input: kernel, recurrent: recurrent, biases: []), hidden: h)
        for (k, gate) in GateLayout.keras.gateOrder.enumerated() {
            let expected = Self.transposedBlock(m, rows: n, cols: 4 * h, from: k * h, width: h)
            let w = try #require(cell.W[gate])
            let move = try #require(w.deferred, "W_\(gate) of a Keras kernel is a deferred move")
            #expect(w.shape == [h, n] && w.byteCount == expected.count)
            #expect(w.crc32 == CRC32.checksum(expected))
            var streamed = Data()
            move.rows.forEachBand(limit: TensorRows.bandLimit) { streamed.append(contentsOf: $0) }
            let sameBands = streamed == expected  // a Bool: #expect would diff the bytes
            #expect(sameBands, "bands of W_\(gate)")
            if n * 4 > TensorRows.bandLimit { #expect(move.rows.bands(limit: TensorRows.bandLimit).count > h, "rows larger than a band come in parts") }
            #expect(!move.isMade)
            let sameBytes = w.bytes == expected
            #expect(sameBytes, "made bytes of W_\(gate)")
            #expect(move.isMade)
        }
    }

    /// A Dense kernel [in, out] read for the canonical V [out, in] is a deferred move of the whole matrix.
    @Test func G8_deferredDenseTransposeGivesTheMovedBytes() throws {
        let (rows, cols) = (300, 17)
        let m = Self.matrix(rows: rows, cols: cols, seed: 7)
        let kernel = try Tensor(dtype: .float32, shape: [rows, cols], bytes: m.withUnsafeBytes { Data($0) })
        let v = KerasWeightMapping.transposedForReading(kernel)
        #expect(v.deferred != nil)
        #expect(v.shape == [cols, rows])
        let same = v.bytes == Self.transposedBlock(m, rows: rows, cols: cols, from: 0, width: cols)  // a Bool, not a diff
        #expect(same)
        #expect(v == kernel.transposed2D())
    }

    /// The canonical model of `model` read back from Keras arrays: every W, U and V a deferred move.
    private static func deferredCopy(_ model: LSTMModel) throws -> LSTMModel {
        var tensors: [String: Tensor] = [:]
        let arrays = KerasWeightMapping.kerasWeights(model)
        for (k, layer) in model.architecture.layers.enumerated() {
            let a = arrays[k]
            tensors.merge(KerasWeightMapping.cellTensors(kernel: a[0], recurrent: a[1], bias: a[2], units: layer.hiddenSize,
                                                         layer: k, cell: .fwd)) { a, _ in a }
        }
        for j in model.architecture.dense.indices {
            let a = arrays[model.architecture.layers.count + j]
            tensors[TensorName.denseV(j)] = KerasWeightMapping.transposedForReading(a[0])
            tensors[TensorName.denseC(j)] = a[1]
        }
        return try model.replacing(tensors)
    }

    /// The `.lstm` writer's bytes for a model of deferred moves equal those of the same model with its bytes
    /// made, and no move is made on the way: a small model (written on one thread) and one large enough for the
    /// CRC pass on every core and the band pipeline.
    @Test(arguments: [(3, 8), (256, 512)])
    func G8_lstmWriterStreamsDeferredTensorsToTheMadeBytes(_ size: (input: Int, hidden: Int)) throws {
        let architecture = ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: size.input, hiddenSize: size.hidden), LSTMLayerSpec(inputSize: size.hidden, hiddenSize: size.hidden)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: size.hidden, outputSize: 5, activation: .linear)])
        let model = RandomModels.make(architecture: architecture, seed: UInt64(size.hidden))
        let deferred = try Self.deferredCopy(model)
        let moves = deferred.orderedTensors.compactMap(\.tensor.deferred)
        #expect(moves.count == 2 * 8 + 1)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("deferred-\(UUID().uuidString).lstm")
        defer { try? FileManager.default.removeItem(at: url) }
        try CompactWriter.write(deferred, to: url)
        #expect(moves.allSatisfy { !$0.isMade }, "the writer made a whole deferred tensor")
        let written = try Data(contentsOf: url)
        let same = written == CompactFormat.encode(model)  // a Bool: #expect would diff megabytes of bytes
        #expect(same, "the streamed file differs from the made model's")
        #expect(try CompactFormat.decode(written) == model)
    }

    /// A write that fails part way (a full disk) stops the band pipeline and reports the failure; nothing hangs.
    @Test func G8_failedWriteStopsThePipeline() throws {
        let architecture = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 256, hiddenSize: 512)], returnSequences: false, dense: [])
        let deferred = try Self.deferredCopy(RandomModels.make(architecture: architecture, seed: 3))
        var taken = 0
        #expect(throws: IOProblem.cannotWrite("No space left on device")) {
            try CompactWriter.write(deferred) { part in
                taken += part.count
                if taken > 2 << 20 { throw IOProblem.cannotWrite("No space left on device") }
            }
        }
        #expect(taken > 2 << 20 && taken < 3 << 20)
    }
}
