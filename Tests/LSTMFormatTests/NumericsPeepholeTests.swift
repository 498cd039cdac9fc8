import Foundation
import Testing
@testable import LSTMFormat

/// Peephole connections (ONNX `P`, `Spec/canonical-model.md` M25) in the verifier (`Spec/bptt.md` B27–B29) and
/// in the model (validation, canonical order, JSON).
@Suite struct NumericsPeepholeTests {
    /// Layers (direction, merge, peepholes, projection) with hidden 4, input 3, chained; dense head of width 2.
    static func architecture(_ layers: [(Direction, MergeMode?, Bool, Int?)], returnSequences: Bool = true,
                             dense: Bool = true, gate: Activation = .sigmoid, cell: Activation = .tanh) -> ModelArchitecture {
        RandomModels.chained(layers, returnSequences: returnSequences, dense: dense, gate: gate, cell: cell)
    }

    static let variants: [RandomModels.Variant] = {
        var v: [RandomModels.Variant] = []
        func add(_ name: String, _ a: ModelArchitecture) { v.append(RandomModels.Variant(name: name, architecture: a)) }
        for m2m in [true, false] {
            let tag = m2m ? "m2m" : "m2o"
            add("peep-forward-\(tag)", architecture([(.forward, nil, true, nil)], returnSequences: m2m))
            add("peep-backward-\(tag)", architecture([(.backward, nil, true, nil)], returnSequences: m2m))
            add("peep-bi-concat-\(tag)", architecture([(.bidirectional, .concat, true, nil)], returnSequences: m2m))
            add("peep-bi-sum-\(tag)", architecture([(.bidirectional, .sum, true, nil)], returnSequences: m2m, dense: false))
            add("peep-stack-peep-plain-\(tag)", architecture([(.bidirectional, .concat, true, nil), (.forward, nil, false, nil)], returnSequences: m2m))
            add("peep-stack-plain-peep-\(tag)", architecture([(.forward, nil, false, nil), (.backward, nil, true, nil)], returnSequences: m2m))
            add("peep-proj-\(tag)", architecture([(.bidirectional, .concat, true, 2)], returnSequences: m2m))
        }
        add("peep-relu-hard-sigmoid", architecture([(.forward, nil, true, nil)], gate: .hardSigmoidKeras2, cell: .relu))
        var masked = architecture([(.bidirectional, .concat, true, nil), (.forward, nil, true, 3)], returnSequences: true)
        masked.maskValue = 0.25
        masked.layers[0].zeroOutputForMask = true
        add("peep-masked-bi-stack", masked)
        var maskedM2O = architecture([(.backward, nil, true, nil)], returnSequences: false)
        maskedM2O.maskValue = 0.25
        maskedM2O.layers[0].zeroOutputForMask = true
        add("peep-masked-m2o-zero", maskedM2O)
        var embedded = architecture([(.forward, nil, true, nil)], returnSequences: true)
        embedded.embedding = EmbeddingSpec(vocabularySize: 5, maskZero: true)
        add("peep-embedding-mask-zero", embedded)
        return v
    }()

    static func input(_ arch: ModelArchitecture) throws -> (ModelInput, batch: Int, steps: Int) {
        arch.isMasked ? (try NumericsMaskingTests.paddedInput(arch, seed: 43), 4, 6)
            : (.features(RandomModels.inputs(batch: 2, steps: 5, features: arch.inputSize, seed: 43)), 2, 5)
    }

    /// B29: every coordinate of every peephole variant (p_f, p_i, p_o included) against central differences.
    @Test(arguments: variants)
    func peepholeBPTTMatchesCentralDifferences(_ variant: RandomModels.Variant) throws {
        let arch = variant.architecture
        try arch.validate()
        // Peepholes drawn in [-1.5, 1.5) so that their terms matter as much as the others.
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 42, scale: 1.5)
        let (x, batch, steps) = try Self.input(arch)
        let t = FiniteDifferences.targets(arch, batch: batch, steps: steps, seed: 44)
        let prepared = PreparedModel(model, precision: .float64)
        let (loss, _, grads) = try prepared.gradients(x, targets: t)
        #expect(abs(loss - (try NumericsMaskingTests.loss(prepared, x, t))) <= 1e-12 * max(1, loss))
        #expect(Set(grads.keys) == Set(model.tensors.keys))
        #expect(grads.keys.contains { $0.hasSuffix(".p_o") })
        let (checked, failures) = try FiniteDifferences.checkEveryCoordinate(prepared, arch, gradients: grads, x, t)
        #expect(checked == model.parameterCount)
        let failed = failures.count
        #expect(failed == 0, "\(variant): \(failed) of \(checked) differ: \(failures.prefix(4))")
    }

    /// B29: forward, loss and every gradient against PyTorch float64 autograd of an independent implementation of
    /// M25 (`scripts/make_peephole_reference.py`); the model files are canonical HDF5 written by h5py (H13).
    @Test(arguments: ["peephole_forward", "peephole_stacked_bidirectional", "peephole_masked_projection", "peephole_embedding"])
    func peepholeForwardAndBPTTMatchPyTorch(name: String) throws {
        let dir = FixturePaths.fixture("reference-peephole/\(name)")
        let (model, _) = try FormatRegistry.read(dir.appendingPathComponent("model.h5"))
        #expect(model.architecture.layers.contains { $0.peepholes })
        let x = try NumPy.readModelInput(dir.appendingPathComponent("x.npy"))
        let t = try NumPy.readNPY(dir.appendingPathComponent("t.npy"))
        let y = try NumPy.readNPY(dir.appendingPathComponent("y.npy"))
        let expected = try NumPy.readNPZ(dir.appendingPathComponent("expected.npz"))
        let tight = Tolerance(rtol: 1e-9, atol: 1e-12, basis: "float64 vs PyTorch float64")
        let (loss, outputs, grads) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: .float64)
        #expect(outputs.shape == y.shape)
        let oc = ArrayComparison.compare(actual: outputs.float64Values(), expected: y.float64Values(), shape: y.shape, tolerance: tight)
        #expect(oc.passed, "outputs: max abs \(oc.maxAbsError) at \(oc.worstIndex)")
        let refLoss = try #require(expected["loss"]).float64Values()[0]
        #expect(abs(loss - refLoss) <= 1e-9 * abs(refLoss))
        for (tensor, _) in model.orderedTensors {
            let e = try #require(expected[tensor], "PyTorch gradient for \(tensor)")
            let c = ArrayComparison.compare(actual: try #require(grads[tensor]).float64Values(), expected: e.float64Values(), shape: e.shape, tolerance: tight)
            #expect(c.passed, "\(tensor): max abs \(c.maxAbsError) at \(c.worstIndex)")
        }
    }

    /// B10, B27: the float32 path computes the same peephole model as float64 (outputs to 1e-5, each gradient to
    /// 1e-4 of its largest element).
    @Test func float32AgreesWithFloat64() throws {
        var arch = Self.architecture([(.bidirectional, .concat, true, nil), (.backward, nil, true, 2)], returnSequences: true)
        arch.maskValue = 0.25
        arch.layers[0].zeroOutputForMask = true
        let model = RandomModels.make(architecture: arch, dtype: .float32, seed: 5, scale: 1.5)
        let (x, batch, steps) = try Self.input(arch)
        let t = FiniteDifferences.targets(arch, batch: batch, steps: steps, seed: 6)
        let (l64, y64, g64) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: .float64)
        let (l32, y32, g32) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: .float32)
        #expect(y32.dtype == .float32)
        for (a, b) in zip(y32.float64Values(), y64.float64Values()) { #expect(abs(a - b) <= 1e-5) }
        #expect(abs(l32 - l64) <= 1e-5 * abs(l64))
        for name in model.tensors.keys where name.contains(".p_") {
            let a = try #require(g32[name]).float64Values(), b = try #require(g64[name]).float64Values()
            let scale = b.map(abs).max() ?? 0
            #expect(scale > 0, "\(name)")
            for k in a.indices { #expect(abs(a[k] - b[k]) <= 1e-4 * scale, "\(name)[\(k)]") }
        }
    }

    /// M25: p_f, p_i, p_o [H] come after b_o and before W_hr; shapes and finiteness are checked on construction;
    /// the JSON form without the key still decodes, and a layer without peepholes writes no key.
    @Test func peepholesAreValidatedAndOrdered() throws {
        let a = Self.architecture([(.bidirectional, .concat, true, 2)])
        let names = a.expectedTensors.map(\.name)
        let bo = try #require(names.firstIndex(of: "lstm.0.bwd.b_o"))
        #expect(Array(names[(bo + 1)...(bo + 4)]) == ["lstm.0.bwd.p_f", "lstm.0.bwd.p_i", "lstm.0.bwd.p_o", "lstm.0.bwd.W_hr"])
        #expect(a.expectedTensors.first { $0.name == "lstm.0.fwd.p_o" }?.shape == [4])
        let good = RandomModels.make(architecture: a, dtype: .float32, seed: 1)
        var tensors = good.tensors
        tensors["lstm.0.fwd.p_i"] = Tensor(shape: [3], float32: [0, 0, 0])
        #expect(throws: ModelError.shapeMismatch(tensor: "lstm.0.fwd.p_i", expected: [4], actual: [3])) {
            try LSTMModel(architecture: a, tensors: tensors)
        }
        for bad in [Double.nan, .infinity, -.infinity] {
            tensors["lstm.0.fwd.p_i"] = Tensor(shape: [4], values: [0, 1, bad, 2], dtype: .float64)
            do {
                _ = try LSTMModel(architecture: a, tensors: tensors)
                Issue.record("a peephole value \(bad) was accepted")
            } catch {
                guard case .nonFinite(let name, let index, let value)? = Optional(error) else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
                #expect(name == "lstm.0.fwd.p_i" && index == 2 && (value == bad || value.isNaN && bad.isNaN))
                #expect("\(error)".contains("lstm.0.fwd.p_i[2]"))
            }
        }
        var plainTensors = good.tensors
        for name in plainTensors.keys where name.contains(".p_") { plainTensors[name] = nil }
        var plain = a
        plain.layers[0].peepholes = false
        #expect(throws: ModelError.unexpectedTensor("lstm.0.bwd.p_f")) { try LSTMModel(architecture: plain, tensors: good.tensors) }
        _ = try LSTMModel(architecture: plain, tensors: plainTensors)
        let decoded = try JSONDecoder().decode(LSTMLayerSpec.self, from: Data(#"{"inputSize":3,"hiddenSize":4,"direction":"forward","gateActivation":"sigmoid","cellActivation":"tanh"}"#.utf8))
        #expect(!decoded.peepholes)
        #expect(!String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self).contains("peepholes"))
        #expect(String(decoding: try JSONEncoder().encode(a.layers[0]), as: UTF8.self).contains(#""peepholes":true"#))
    }
}
