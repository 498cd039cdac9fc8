import Foundation
import Testing
@testable import LSTMFormat

/// Projected LSTM layers (PyTorch `proj_size`, `Spec/canonical-model.md` M24) in the verifier (`Spec/bptt.md`
/// B24–B26), in the model (validation, JSON) and in storage (`.lstm` L25, canonical HDF5 H12), and refused by
/// the writers that cannot express them.
@Suite struct NumericsProjectionTests {
    /// Layers (direction, merge, projection) with hidden 4, input 3, chained; dense head of width 2 (or none).
    static func architecture(_ layers: [(Direction, MergeMode?, Int?)], returnSequences: Bool = true,
                             dense: Bool = true) -> ModelArchitecture {
        RandomModels.chained(layers.map { ($0.0, $0.1, false, $0.2) }, returnSequences: returnSequences, dense: dense)
    }

    static let variants: [RandomModels.Variant] = {
        var v: [RandomModels.Variant] = []
        func add(_ name: String, _ a: ModelArchitecture) { v.append(RandomModels.Variant(name: name, architecture: a)) }
        for m2m in [true, false] {
            let tag = m2m ? "m2m" : "m2o"
            add("proj-forward-\(tag)", architecture([(.forward, nil, 2)], returnSequences: m2m))
            add("proj-backward-\(tag)", architecture([(.backward, nil, 3)], returnSequences: m2m))
            add("proj-bi-concat-\(tag)", architecture([(.bidirectional, .concat, 2)], returnSequences: m2m))
            add("proj-bi-sum-\(tag)", architecture([(.bidirectional, .sum, 1)], returnSequences: m2m, dense: false))
            add("proj-stack-proj-plain-\(tag)", architecture([(.bidirectional, .concat, 3), (.forward, nil, nil)], returnSequences: m2m))
            add("proj-stack-plain-proj-\(tag)", architecture([(.forward, nil, nil), (.forward, nil, 2)], returnSequences: m2m))
        }
        var masked = architecture([(.bidirectional, .concat, 2), (.forward, nil, 3)], returnSequences: true)
        masked.maskValue = 0.25
        masked.layers[0].zeroOutputForMask = true
        add("proj-masked-bi-stack", masked)
        var maskedM2O = architecture([(.forward, nil, 2)], returnSequences: false)
        maskedM2O.maskValue = 0.25
        add("proj-masked-m2o", maskedM2O)
        return v
    }()

    /// B26: every coordinate of every projected variant (W_hr included) against central differences.
    @Test(arguments: variants)
    func projectedBPTTMatchesCentralDifferences(_ variant: RandomModels.Variant) throws {
        let arch = variant.architecture
        try arch.validate()
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 42)
        let x: ModelInput = arch.isMasked ? try NumericsMaskingTests.paddedInput(arch, seed: 43)
            : .features(RandomModels.inputs(batch: 2, steps: 5, features: arch.inputSize, seed: 43))
        let (batch, steps) = arch.isMasked ? (4, 6) : (2, 5)
        let t = FiniteDifferences.targets(arch, batch: batch, steps: steps, seed: 44)
        let prepared = PreparedModel(model, precision: .float64)
        let (loss, _, grads) = try prepared.gradients(x, targets: t)
        #expect(abs(loss - (try NumericsMaskingTests.loss(prepared, x, t))) <= 1e-12 * max(1, loss))
        #expect(Set(grads.keys) == Set(model.tensors.keys))
        #expect(grads.keys.contains { $0.hasSuffix(".W_hr") })
        let (checked, failures) = try FiniteDifferences.checkEveryCoordinate(prepared, arch, gradients: grads, x, t)
        #expect(checked == model.parameterCount)
        let failed = failures.count
        #expect(failed == 0, "\(variant): \(failed) of \(checked) differ: \(failures.prefix(4))")
    }

    /// B24: the forward pass of one projected forward layer (no head) against a scalar loop written here from
    /// M24's equations: m = o ⊙ tanh(C), h = W_hr m, z = W x + U h(t−1) + b.
    @Test func projectedForwardMatchesScalarLoops() throws {
        let arch = Self.architecture([(.forward, nil, 2)], dense: false)
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 7)
        let x = RandomModels.inputs(batch: 2, steps: 4, features: 3, seed: 8)
        let y = try PreparedModel(model, precision: .float64).forward(inputs: x).float64Values()
        func w(_ name: String) -> [Double] { model.tensors[name]!.float64Values() }
        let H = 4, P = 2, I = 3
        let xs = x.float64Values(), R = w("lstm.0.fwd.W_hr")
        var expected: [Double] = []
        for b in 0..<2 {
            var h = [Double](repeating: 0, count: P), c = [Double](repeating: 0, count: H)
            for t in 0..<4 {
                var gates: [[Double]] = []
                for g in Gate.allCases {
                    let W = w(TensorName.lstm(0, .fwd, .W, g)), U = w(TensorName.lstm(0, .fwd, .U, g)), bias = w(TensorName.lstm(0, .fwd, .b, g))
                    gates.append((0..<H).map { r in
                        var z = bias[r]
                        for s in 0..<I { z += W[r * I + s] * xs[(b * 4 + t) * I + s] }
                        for s in 0..<P { z += U[r * P + s] * h[s] }
                        return g == .c ? tanh(z) : 1 / (1 + exp(-z))
                    })
                }
                for u in 0..<H { c[u] = gates[0][u] * c[u] + gates[1][u] * gates[2][u] }
                let m = (0..<H).map { gates[3][$0] * tanh(c[$0]) }
                h = (0..<P).map { r in (0..<H).reduce(0) { $0 + R[r * H + $1] * m[$1] } }
                expected += h
            }
        }
        #expect(y.count == expected.count)
        for k in expected.indices { #expect(abs(y[k] - expected[k]) <= 1e-12, "output \(k)") }
    }

    /// M24: 1 ≤ P < H; shapes U [H, P], W_hr [P, H]; the JSON form without the key still decodes.
    @Test func projectionIsValidatedAndShaped() throws {
        var a = Self.architecture([(.bidirectional, .concat, 2)])
        #expect(a.layers[0].outputSize == 4)
        let shapes = Dictionary(uniqueKeysWithValues: a.expectedTensors.map { ($0.name, $0.shape) })
        #expect(shapes["lstm.0.bwd.U_o"] == [4, 2])
        #expect(shapes["lstm.0.bwd.W_hr"] == [2, 4])
        let names = a.expectedTensors.map(\.name)
        #expect(names.firstIndex(of: "lstm.0.fwd.W_hr") == names.firstIndex(of: "lstm.0.fwd.b_o")! + 1)
        for bad in [0, 4, 5] {
            a.layers[0].projectionSize = bad
            #expect(throws: ModelError.self) { try a.validate() }
        }
        let plain = try JSONDecoder().decode(LSTMLayerSpec.self, from: Data(#"{"inputSize":3,"hiddenSize":4,"direction":"forward","gateActivation":"sigmoid","cellActivation":"tanh"}"#.utf8))
        #expect(plain.projectionSize == nil)
        #expect(!String(decoding: try JSONEncoder().encode(plain), as: UTF8.self).contains("projection"))
    }

    static func projectedModels() -> [LSTMModel] {
        var masked = architecture([(.forward, nil, 3)])
        masked.maskValue = 0
        return [architecture([(.bidirectional, .concat, 2), (.forward, nil, nil)], returnSequences: false), masked]
            .enumerated().map { RandomModels.make(architecture: $0.element, seed: UInt64(10 + $0.offset)) }
    }

    /// L25: `.lstm` keeps the projection (version 1, or 2 when masked) and a reader that ignored
    /// `projection_size` would still refuse the file (its table lists W_hr).
    @Test func lstmRoundTripKeepsProjection() throws {
        for m in Self.projectedModels() {
            let bytes = CompactFormat.encode(m)
            #expect(bytes[8] == (m.architecture.isMasked ? 2 : 1))
            let back = try CompactFormat.decode(bytes)
            #expect(back == m)
            #expect(CompactFormat.encode(back) == bytes)
            #expect(String(decoding: bytes, as: UTF8.self).contains("\"projection_size\":"))
        }
        // What a reader that ignores `projection_size` makes of it: the architecture without the projection,
        // which does not name W_hr nor fit U's shape, so the tensors are refused (L13), never misread.
        let m = Self.projectedModels()[0]
        var old = m.architecture
        old.layers[0].projectionSize = nil
        old.layers[1].inputSize = old.layers[0].outputSize
        #expect(throws: (any Error).self) { try LSTMModel(architecture: old, tensors: m.tensors, metadata: m.metadata) }
    }

    /// H12: canonical HDF5 keeps the projection.
    @Test func hdf5RoundTripKeepsProjection() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("projection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (k, m) in Self.projectedModels().enumerated() {
            let url = dir.appendingPathComponent("m\(k).h5")
            try FormatRegistry.write(m, to: url, format: CanonicalHDF5Format.self)
            let (back, _) = try FormatRegistry.read(url)
            #expect(back.architecture == m.architecture)
            #expect(back.tensors == m.tensors)
        }
    }

    /// M24, K-W1: the Keras writers cannot express a projection: they refuse it naming it, and write nothing.
    @Test func writersWithoutProjectionRefuse() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("projection-refuse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = Self.projectedModels()[0]
        for name in ["m.keras", "m.h5legacy.h5", "m.weights.h5"] {
            let url = dir.appendingPathComponent(name)
            let format = try FormatRegistry.format(named: ["m.keras": "keras", "m.h5legacy.h5": "keras-h5",
                                                           "m.weights.h5": "keras-weights"][name]!)
            do {
                try FormatRegistry.write(m, to: url, format: format)
                Issue.record("\(name): a projected model was written")
            } catch {
                #expect("\(error)".contains("projection"), "\(name): \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
        }
    }
}
