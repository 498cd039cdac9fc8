import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B35a: OpenBLAS products are cut into pieces fixed by their shape, never by the thread count, so
/// outputs, loss and every gradient are the same bits on 1, 2 and 3 threads, in float32 and float64. The fresh-clone
/// reviewer's case (hidden 300 and 513, where OpenBLAS's SkylakeX dgemm sums the elements of a call's last rows and
/// columns in another order, so a row split moved that edge) and its neighbours 200 and 400; batch 1, 9 and 33
/// (9 on 3 threads gave 3-row parts of the per-step products their own order); a projected cell (its per-step
/// W_hr products).
@Suite struct NumericsThreadCountTests {
    struct Case: CustomStringConvertible, Sendable {
        let hidden: Int, batch: Int, projection: Int?
        var description: String { "hidden \(hidden) batch \(batch)" + (projection.map { " projection \($0)" } ?? "") }
    }

    static let cases: [Case] = [200, 300, 400, 513].flatMap { h in [1, 9, 33].map { Case(hidden: h, batch: $0, projection: nil) } }
        + [Case(hidden: 300, batch: 9, projection: 129), Case(hidden: 67, batch: 33, projection: 45)]

    /// Seeds 71, 72, 73 (model, inputs, targets); 11 steps, input 6, a dense head of 4 (the reviewer's shapes).
    @Test(arguments: cases)
    func B35a_threadCountNeverChangesABit(_ c: Case) throws {
        let layer = LSTMLayerSpec(inputSize: 6, hiddenSize: c.hidden, direction: .forward, projectionSize: c.projection)
        let arch = ModelArchitecture(layers: [layer], returnSequences: true,
                                     dense: [DenseLayerSpec(inputSize: layer.outputSize, outputSize: 4, activation: .linear)])
        let model = RandomModels.make(architecture: arch, seed: 71, scale: 0.1)
        let x = ModelInput.features(RandomModels.inputs(batch: c.batch, steps: 11, features: 6, seed: 72))
        let y = FiniteDifferences.targets(arch, batch: c.batch, steps: 11, seed: 73)
        func run<T: BLASScalar>(_ engine: Engine<T>, threads: Int) throws
            -> (loss: Double, outputs: [Double], gradients: [String: [Double]]) {
            try RowParallel.withBLASThreads { _ throws(NumericsError) in
                let r = try engine.runGradients(x, targets: y, threads: threads)
                return (r.loss, r.outputs.float64Values(), r.gradients.allTensors(threads: threads).mapValues { $0.float64Values() })
            }
        }
        func check<T: BLASScalar>(_ engine: Engine<T>) throws {
            let reference = try run(engine, threads: 1)
            for threads in [2, 3] {
                let r = try run(engine, threads: threads)
                #expect(r.loss.bitPattern == reference.loss.bitPattern, "\(c) \(T.self) threads \(threads): loss")
                let outputs = NumericsAllGradientsTests.differing(r.outputs, reference.outputs)
                #expect(outputs == 0, "\(c) \(T.self) threads \(threads): \(outputs) outputs differ")
                #expect(Set(r.gradients.keys) == Set(model.tensors.keys))
                for (tensor, g) in reference.gradients.sorted(by: { $0.key < $1.key }) {
                    let n = NumericsAllGradientsTests.differing(try #require(r.gradients[tensor]), g)
                    #expect(n == 0, "\(c) \(T.self) threads \(threads) \(tensor): \(n) values differ")
                }
            }
        }
        try check(Engine<Float>(model))
        try check(Engine<Double>(model))
    }
}
