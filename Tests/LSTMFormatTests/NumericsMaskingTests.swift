import Foundation
@testable import LSTMFormat
import Testing

/// Embedding and masking in the verifier (`Spec/canonical-model.md` M17–M22, `Spec/bptt.md` B20–B22).
@Suite struct NumericsMaskingTests {
    /// Every architecture variant, made masked: by an embedding with mask_zero (kind 0) or a mask value (kind 1);
    /// bidirectional layers zero their masked outputs exactly when they return sequences (M21), the other layers
    /// alternate between zero and carried outputs.
    static func masked(_ a: ModelArchitecture, kind: Int) -> ModelArchitecture {
        var a = a
        for k in a.layers.indices {
            let sequences = k < a.layers.count - 1 || a.returnSequences
            a.layers[k].zeroOutputForMask = a.layers[k].direction == .bidirectional ? sequences : (k + kind) % 2 == 0
        }
        if kind == 0 { a.embedding = EmbeddingSpec(vocabularySize: 5, maskZero: true) } else { a.maskValue = 0.25 }
        return a
    }

    static let variants: [RandomModels.Variant] = RandomModels.variants.flatMap { v in
        [RandomModels.Variant(name: v.name + "+embedding-mask-zero", architecture: masked(v.architecture, kind: 0)),
         RandomModels.Variant(name: v.name + "+mask-value", architecture: masked(v.architecture, kind: 1))]
    }

    /// Padded inputs [4, 6]: row 0 leading (steps 0, 1), row 1 trailing (4, 5), row 2 middle (2, 3), row 3 every step.
    static func paddedInput(_ a: ModelArchitecture, seed: UInt64) throws -> ModelInput {
        let batch = 4, steps = 6
        let pad: Set<Int> = [0, 1, 10, 11, 14, 15, 18, 19, 20, 21, 22, 23]
        var rng = SeededRandom(seed: seed)
        if let e = a.embedding {
            let ids = (0..<(batch * steps)).map { k in pad.contains(k) ? Int64(0) : Int64(1 + rng.next() % UInt64(e.vocabularySize - 1)) }
            return .tokens(try TokenIDs(shape: [batch, steps], ids: ids))
        }
        var values = rng.values(batch * steps * a.inputSize)
        for k in pad { for f in 0..<a.inputSize { values[k * a.inputSize + f] = a.maskValue! } }
        return .features(Tensor(shape: [batch, steps, a.inputSize], float64: values))
    }

    static func loss(_ m: PreparedModel, _ x: ModelInput, _ t: Tensor) throws -> Double {
        let y = try m.forward(x).float64Values(), target = t.float64Values()
        return y.indices.reduce(0) { $0 + 0.5 * (y[$1] - target[$1]) * (y[$1] - target[$1]) }
    }

    /// B9 extended (B22): every coordinate, every masked variant, against central differences.
    @Test(arguments: variants)
    func maskedBPTTMatchesCentralDifferences(_ variant: RandomModels.Variant) throws {
        let arch = variant.architecture
        let model = RandomModels.make(architecture: arch, dtype: .float64, seed: 42)
        let x = try Self.paddedInput(arch, seed: 43)
        let t = FiniteDifferences.targets(arch, batch: 4, steps: 6, seed: 44)
        let prepared = PreparedModel(model, precision: .float64)
        let (loss, _, grads) = try prepared.gradients(x, targets: t)
        #expect(abs(loss - (try Self.loss(prepared, x, t))) <= 1e-12 * max(1, loss))
        let (_, failures) = try FiniteDifferences.checkEveryCoordinate(prepared, arch, gradients: grads, x, t)
        let failed = failures.count
        #expect(failed == 0, "\(variant): \(failed) differ: \(failures.prefix(4))")
        if let e = arch.embedding, e.maskZero {
            // id 0 only occurs at masked steps: its row of dE is 0 (B21).
            let dE = try #require(grads[TensorName.embedding]).float64Values()
            #expect(dE.prefix(arch.inputSize).allSatisfy { $0 == 0 })
        }
    }

    /// The independent TensorFlow reference (scripts/make_reference_numerics.py): embeddings, masks, zero and
    /// carried outputs, go_backwards and bidirectional layers under masks.
    @Test(arguments: ["embedding_mask_bidirectional", "embedding_many_to_one", "masking_stacked_backward", "masking_backward_bidirectional"])
    func maskedForwardAndBPTTMatchTensorFlow(name: String) throws {
        let dir = FixturePaths.fixture("reference/\(name)")
        let (model, _) = try FormatRegistry.read(dir.appendingPathComponent("model.h5"))
        #expect(model.architecture.embedding != nil || model.architecture.maskValue != nil)
        let x = try NumPy.readModelInput(dir.appendingPathComponent("x.npy"))
        let t = try NumPy.readNPY(dir.appendingPathComponent("t.npy"))
        let y = try NumPy.readNPY(dir.appendingPathComponent("y.npy"))
        let expected = try NumPy.readNPZ(dir.appendingPathComponent("expected.npz"))
        let tight = Tolerance(rtol: 1e-9, atol: 1e-12, basis: "float64 vs TensorFlow float64")
        let (loss, outputs, grads) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: .float64)
        let oc = ArrayComparison.compare(actual: outputs.float64Values(), expected: y.float64Values(), shape: y.shape, tolerance: tight)
        #expect(outputs.shape == y.shape)
        #expect(oc.passed, "outputs: max abs \(oc.maxAbsError) at \(oc.worstIndex)")
        let refLoss = try #require(expected["loss"]).float64Values()[0]
        #expect(abs(loss - refLoss) <= 1e-9 * abs(refLoss))
        for (tensor, _) in model.orderedTensors {
            let e = try #require(expected[tensor], "TensorFlow gradient for \(tensor)")
            let c = ArrayComparison.compare(actual: try #require(grads[tensor]).float64Values(), expected: e.float64Values(), shape: e.shape, tolerance: tight)
            #expect(c.passed, "\(tensor): max abs \(c.maxAbsError) at \(c.worstIndex)")
        }
    }

    static func embeddingModel(maskZero: Bool = true) -> LSTMModel {
        var a = RandomModels.architecture(returnSequences: true)
        a.embedding = EmbeddingSpec(vocabularySize: 4, maskZero: maskZero)
        return RandomModels.make(architecture: a, dtype: .float32, seed: 7)
    }

    /// M17: an id outside the vocabulary names its batch row and step; the other kind of input is refused.
    @Test func badInputsAreNamedErrors() throws {
        let m = Self.embeddingModel()
        let ids = try TokenIDs(shape: [2, 3], ids: [1, 2, 3, 0, 4, 1])
        #expect(throws: NumericsError.tokenOutOfRange(row: 1, step: 1, id: 4, vocabulary: 4)) {
            try LSTMNumerics.forward(m, input: .tokens(ids), precision: .float32)
        }
        #expect(throws: NumericsError.tokenOutOfRange(row: 0, step: 0, id: -1, vocabulary: 4)) {
            try LSTMNumerics.forward(m, input: .tokens(try TokenIDs(shape: [1, 1], ids: [-1])), precision: .float32)
        }
        #expect(throws: NumericsError.expectedTokenIDs) {
            try LSTMNumerics.forward(m, inputs: Tensor(shape: [1, 2, 3], float32: [0, 0, 0, 0, 0, 0]), precision: .float32)
        }
        let plain = RandomModels.make(architecture: RandomModels.architecture(), seed: 1)
        #expect(throws: NumericsError.expectedFeatures) {
            try LSTMNumerics.forward(plain, input: .tokens(try TokenIDs(shape: [1, 1], ids: [0])), precision: .float32)
        }
        #expect(throws: NumericsError.tokenShape(actual: [2, 3, 1])) { try TokenIDs(shape: [2, 3, 1], ids: [1, 2, 3, 0, 1, 1]) }
    }

    /// M19: a masked step repeats the carried output and leaves the state alone, so a padded sequence ends in
    /// the state of its unpadded prefix; a fully padded row outputs the carried zero state.
    @Test func paddingIsTransparent() throws {
        let m = Self.embeddingModel()
        let p = PreparedModel(m, precision: .float64)
        let full = try p.forward(.tokens(try TokenIDs(shape: [1, 5], ids: [0, 3, 0, 2, 0]))).float64Values()
        let short = try p.forward(.tokens(try TokenIDs(shape: [1, 2], ids: [3, 2]))).float64Values()
        let out = m.architecture.outputSize
        // Step 3 (after ids 3, 2) and step 4 (padding, carried) equal the short sequence's last step.
        #expect(Array(full[3 * out ..< 4 * out]) == Array(short[out ..< 2 * out]))
        #expect(Array(full[4 * out ..< 5 * out]) == Array(short[out ..< 2 * out]))
        // Step 0 is padding before anything: h = 0, the output is the head's bias.
        let c = m.tensors["dense.0.c"]!.float64Values()
        #expect(Array(full[0 ..< out]) == c)
        // Without mask_zero, id 0 is an ordinary token.
        let unmasked = try LSTMNumerics.forward(Self.embeddingModel(maskZero: false), input: .tokens(try TokenIDs(shape: [1, 5], ids: [0, 3, 0, 2, 0])), precision: .float64)
        #expect(Array(unmasked.float64Values()[0 ..< out]) != c)
    }

    /// M18: a step is masked only when every feature equals the mask value, compared in the inputs' dtype.
    @Test func maskValueNeedsEveryFeature() throws {
        var a = RandomModels.architecture(input: 2, returnSequences: true)
        a.maskValue = 0.1
        let m = RandomModels.make(architecture: a, seed: 3)
        let p = PreparedModel(m, precision: .float64)
        let v = Float(0.1)
        // float32 inputs: 0.1 rounded to float32 masks (Keras compares in float32).
        let y = try p.forward(inputs: Tensor(shape: [1, 3, 2], float32: [0.5, -0.5, v, v, v, 0.7])).float64Values()
        let out = a.outputSize
        #expect(Array(y[out ..< 2 * out]) == Array(y[0 ..< out]), "step 1 (all features 0.1) is masked: carried output")
        #expect(Array(y[2 * out ..< 3 * out]) != Array(y[out ..< 2 * out]), "step 2 (one feature 0.1) is computed")
    }

    /// B23: the verifier's probe for a masked model pads leading, middle and trailing steps, so `compare` and
    /// the gradient check run through masked steps; other ids are valid and non-zero.
    @Test func probeIsPadded() throws {
        let m = Self.embeddingModel()
        guard case .tokens(let ids) = ProbeData.input(for: m.architecture) else { Issue.record("expected token ids"); return }
        #expect(ids.shape == [2, 5])
        #expect(ids.ids[0] == 0 && ids.ids[5 + 2] == 0 && ids.ids[5 + 4] == 0)
        #expect(ids.ids.enumerated().allSatisfy { [0, 7, 9].contains($0.offset) || (1..<4).contains($0.element) })
        var a = RandomModels.architecture()
        a.maskValue = 0.5
        guard case .features(let x) = ProbeData.input(for: a) else { Issue.record("expected features"); return }
        let v = x.float64Values(), f = a.inputSize
        #expect((0..<f).allSatisfy { v[$0] == 0.5 && v[(5 + 4) * f + $0] == 0.5 && v[(5 + 2) * f + $0] == 0.5 })
        #expect(!(0..<f).allSatisfy { v[f + $0] == 0.5 })
        // M18: a mask value float32 cannot hold is padded as float32(v), which a float32 and a float64 model mask.
        a.maskValue = 0.1
        guard case .features(let x1) = ProbeData.input(for: a) else { Issue.record("expected features"); return }
        for dtype in [DType.float32, .float64] {
            let masked: [Bool] = ModelInput.features(x1).maskedSteps(a, dtype: dtype) ?? []
            let positions: [Int] = masked.indices.filter { masked[$0] }
            #expect(positions == [0, 7, 9], "\(dtype)")
        }
        a.maskValue = 0.5
        // The gradient check passes on masked models (it runs on this probe).
        #expect(try GradientCheck.run(m).passed)
        #expect(try GradientCheck.run(RandomModels.make(architecture: a, seed: 5)).passed)
    }
}
