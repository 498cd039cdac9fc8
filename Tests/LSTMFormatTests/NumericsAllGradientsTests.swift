import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B45: `gradients` forms every tensor at once (a cell's dW and dU from one product over the four
/// gates each, a forward layer's output gradient read in place), and B35: the bits do not depend on the thread
/// count. Both are identities, checked bit for bit on every architecture variant, plain and masked.
@Suite struct NumericsAllGradientsTests {
    typealias Case = RandomModels.MaskedCase

    /// Every variant with float inputs (the embedding variants take token ids), with projection and peepholes.
    static let cases = Case.plainAndMasked((RandomModels.variants + NumericsProjectionTests.variants + NumericsPeepholeTests.variants)
        .filter { $0.architecture.embedding == nil })

    static func problem(_ c: Case, seed: UInt64) throws -> (LSTMModel, ModelInput, Tensor) {
        let arch = c.masked ? NumericsMaskingTests.masked(c.variant.architecture, kind: 1) : c.variant.architecture
        let model = RandomModels.make(architecture: arch, seed: seed)
        let x: ModelInput = c.masked ? try NumericsMaskingTests.paddedInput(arch, seed: seed + 1)
            : .features(RandomModels.inputs(batch: 4, steps: 6, features: arch.inputSize, seed: seed + 1))
        let (batch, steps) = switch x {
        case .features(let t): (t.shape[0], t.shape[1])
        case .tokens(let t): (t.shape[0], t.shape[1])
        }
        return (model, x, FiniteDifferences.targets(arch, batch: batch, steps: steps, seed: seed + 2))
    }

    static func differing(_ a: [Double], _ b: [Double]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// B45: every tensor of `gradients` has the bits `gradientsByTensor` forms for it alone, in both precisions.
    /// Seeds 61, 62, 63 (model, inputs, targets).
    @Test(arguments: cases)
    func B45_allAtOnceGivesEachTensorsBits(_ c: Case) throws {
        let (model, x, y) = try Self.problem(c, seed: 61)
        for precision in [Precision.float32, .float64] {
            let prepared = PreparedModel(model, precision: precision)
            let all = try prepared.gradients(x, targets: y)
            let byTensor = try prepared.gradientsByTensor(x, targets: y)
            #expect(all.loss.bitPattern == byTensor.loss.bitPattern, "\(c) \(precision)")
            #expect(Set(all.gradients.keys) == Set(model.tensors.keys), "\(c) \(precision)")
            for (name, g) in all.gradients {
                let n = Self.differing(g.float64Values(), try byTensor.gradients.float64Values(name))
                #expect(n == 0, "\(c) \(precision) \(name): \(n) values differ")
            }
        }
    }

    /// B49: float32 on AVX-512: every element of dW_g and dU_g, from `gradients` (B45) and formed per tensor (B30),
    /// is one FMA chain from 0 over the rows of dZ in time-major order (dZ as BPTT left it in the workspace; the
    /// chain written here with `addingProduct`). Peephole and projection cells (dZ from the general pass) and masked
    /// rows (dZ 0) included; a masked case first runs unmasked inputs of the same shape, so a masked row's column of
    /// dZᵀ left from that call would show. Seeds 67, 68, 69 (model, inputs, targets), 70 (the first inputs).
    @Test(.enabled(if: StepKernels.cpuRunsThem, "no AVX-512 F: float32 products stay OpenBLAS's"), arguments: cases)
    func B49_weightGradientsAreOneFMAChainOverTheRows(_ c: Case) throws {
        let (model, x, y) = try Self.problem(c, seed: 67)
        var first: ModelInput? = nil
        if c.masked, case .features(let t) = x {
            first = .features(RandomModels.inputs(batch: t.shape[0], steps: t.shape[1], features: t.shape[2], seed: 70))
        }
        try Self.checkFMAChains(Engine<Float>(model), x, y, first: first, label: "\(c)")
    }

    /// B49 at 1080 rows (batch 9, 120 steps; hidden 67, a partial 16-unit group), where OpenBLAS's order over the
    /// rows is not one chain (it failed with the products left to OpenBLAS); a forward and a reversed cell.
    /// Seeds 71, 72, 73.
    @Test(.enabled(if: StepKernels.cpuRunsThem, "no AVX-512 F: float32 products stay OpenBLAS's"),
          arguments: ["forward-m2m", "bidirectional-concat-m2m"])
    func B49_weightGradientsAreOneFMAChainAtManyRows(_ name: String) throws {
        let variant = try #require(RandomModels.variants.first { $0.name == name })
        let arch = RandomModels.architecture(input: 5, hidden: 67, layers: variant.architecture.layers.map {
            ($0.direction, $0.mergeMode)
        }, returnSequences: variant.architecture.returnSequences)
        let model = RandomModels.make(architecture: arch, seed: 71)
        let x = ModelInput.features(RandomModels.inputs(batch: 9, steps: 120, features: 5, seed: 72))
        let y = FiniteDifferences.targets(arch, batch: 9, steps: 120, seed: 73)
        try Self.checkFMAChains(Engine<Float>(model), x, y, first: nil, label: name)
    }

    static func checkFMAChains(_ engine: Engine<Float>, _ x: ModelInput, _ y: Tensor, first: ModelInput?, label c: String) throws {
        let arch = engine.architecture
        let (all, byTensor, ws) = try RowParallel.withBLASThreads { threads throws(NumericsError) in
            if let first { _ = try engine.runGradients(first, targets: y, threads: threads) }
            let r = try engine.runGradients(x, targets: y, threads: threads)
            let all = r.gradients.allTensors(threads: threads)
            var byTensor: [String: Tensor] = [:]
            for name in all.keys { byTensor[name] = try r.gradients.tensor(name, threads: threads) }
            return (all, byTensor, try engine.prepare(x))
        }
        let batch = ws.batch, rows = ws.batch * ws.steps
        for (k, layer) in arch.layers.enumerated() {
            let h = layer.hiddenSize, s = layer.stateSize
            let input = k == 0 ? ws.inputs.p
                : ws.layerOutputs[k - 1]?.p ?? ws.cells[k - 1][0].h.p + batch * arch.layers[k - 1].stateSize
            for (ci, dir) in layer.cells.enumerated() {
                let cell = ws.cells[k][ci], dz = cell.z.p
                let hPrev = cell.h.p + cell.previousSlot(0) * batch * s
                for (kind, operand, width) in [(TensorName.Kind.W, input, layer.inputSize), (.U, hPrev, s)] {
                    for (g, gate) in Gate.allCases.enumerated() {
                        let name = TensorName.lstm(k, dir, kind, gate)
                        var expected = [Float](repeating: 0, count: h * width)
                        for i in 0..<h {
                            for j in 0..<width {
                                var acc: Float = 0
                                for n in 0..<rows { acc = acc.addingProduct(dz[n * 4 * h + g * h + i], operand[n * width + j]) }
                                expected[i * width + j] = acc
                            }
                        }
                        for (how, tensor) in [("gradients", all[name]), ("per tensor", byTensor[name])] {
                            let got = try #require(tensor, "\(c) \(name)").float64Values().map { Float($0) }
                            let n = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
                            #expect(got.count == expected.count && n == 0, "\(c) \(name) \(how): \(n) of \(expected.count) differ")
                        }
                    }
                }
            }
        }
    }

    /// B35, B35a: 1, 2 and 3 threads give the same bits in float32 and float64 (the engine called with each thread count
    /// inside `withBLASThreads`, as `gradients` calls it; no process-wide setting changes). Hidden 67 (a partial
    /// 16-unit group), batch 9 (no even split of the batch), 120 steps: every split happens (the forward's units,
    /// B40, above 2^24 multiply-adds; BPTT's batch; the all-steps products' rows, each part above 2^21).
    /// float64 on 3 threads failed here before B35a (3-row parts of the batch took OpenBLAS's small-matrix kernels
    /// in another order than 4- and 5-row ones); the pieces are now cut by the shape alone. Seeds 64, 65, 66.
    /// Also hidden 37 and 11 steps, where a split of the all-steps products by the thread count took OpenBLAS's
    /// small-matrix kernels for some parts only.
    @Test(arguments: ["forward-m2m", "backward-m2o", "bidirectional-concat-m2m", "stack3-bi-bwd-fwd-m2m"], [(67, 120), (37, 11)])
    func B35_anyThreadCountGivesTheSameBits(_ name: String, _ size: (hidden: Int, steps: Int)) throws {
        let variant = try #require(RandomModels.variants.first { $0.name == name })
        let arch = RandomModels.architecture(input: 5, hidden: size.hidden, layers: variant.architecture.layers.map {
            ($0.direction, $0.mergeMode)
        }, returnSequences: variant.architecture.returnSequences)
        let model = RandomModels.make(architecture: arch, seed: 64)
        let x = ModelInput.features(RandomModels.inputs(batch: 9, steps: size.steps, features: 5, seed: 65))
        let y = FiniteDifferences.targets(arch, batch: 9, steps: size.steps, seed: 66)
        func run<T: BLASScalar>(_ engine: Engine<T>, threads: Int) throws -> (loss: Double, gradients: [String: [Double]]) {
            try RowParallel.withBLASThreads { _ throws(NumericsError) in
                let r = try engine.runGradients(x, targets: y, threads: threads)
                return (r.loss, r.gradients.allTensors(threads: threads).mapValues { $0.float64Values() })
            }
        }
        func check<T: BLASScalar>(_ engine: Engine<T>, threads counts: [Int]) throws {
            let reference = try run(engine, threads: 1)
            for threads in counts {
                let r = try run(engine, threads: threads)
                #expect(r.loss.bitPattern == reference.loss.bitPattern, "\(name) \(T.self) threads \(threads)")
                #expect(Set(r.gradients.keys) == Set(model.tensors.keys))
                for (tensor, g) in reference.gradients {
                    let n = Self.differing(try #require(r.gradients[tensor]), g)
                    #expect(n == 0, "\(name) \(T.self) threads \(threads) \(tensor): \(n) values differ")
                }
            }
        }
        try check(Engine<Float>(model), threads: [2, 3])
        try check(Engine<Double>(model), threads: [2, 3])
    }
}
