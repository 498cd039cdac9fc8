import Foundation
import Testing
@testable import LSTMFormat

/// Tests for checks a review could remove or invert with the whole suite staying green (issue 12, "Tests that
/// fail when the code is wrong"). Each asserts the specific refusal or choice, and was seen to fail with the
/// code broken.
@Suite struct WeakTestKillerTests {
    static let model = RandomModels.make(architecture: RandomModels.architecture(), seed: 12)

    /// M13: a tensor the architecture does not name is refused, not carried along.
    @Test func M13_anExtraTensorIsRefused() throws {
        var tensors = Self.model.tensors
        tensors["lstm.0.fwd.W_x"] = Tensor(shape: [1], float32: [1])
        #expect(throws: ModelError.unexpectedTensor("lstm.0.fwd.W_x")) {
            _ = try LSTMModel(architecture: Self.model.architecture, tensors: tensors, metadata: [:])
        }
    }

    /// H10: metadata HDF5 cannot store (an empty key, NUL in a key or a value) is refused by the writer.
    @Test(arguments: [("", "v", "HDF5 attribute names cannot be empty"), ("a\u{0}b", "v", "the key contains a NUL character"),
                      ("k", "x\u{0}y", "the value contains a NUL character")])
    func H10_unstorableMetadataIsRefused(key: String, value: String, reason: String) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let m = try LSTMModel(architecture: Self.model.architecture, tensors: Self.model.tensors, metadata: [key: value])
        let url = folder.appendingPathComponent("m.h5")
        let error = #expect(throws: FileError.self) { try FormatRegistry.write(m, to: url, format: CanonicalHDF5Format.self) }
        guard case .unstorableMetadata(let k, let r)? = error?.underlying as? CanonicalHDF5Error else {
            Issue.record("expected unstorableMetadata, got \(String(describing: error))"); return
        }
        #expect(k == key)
        #expect(r == reason)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    /// The verifier's finite_parameters check fails on a NaN and names its place; passes when all are finite.
    @Test func finiteParametersFailsOnANaNAndNamesIt() throws {
        let good = Verifier.finiteParameters(Self.model)
        #expect(good.passed)
        var values = Self.model.tensors["lstm.0.fwd.U_c"]!.float64Values()
        values[5] = .nan
        let shape = Self.model.tensors["lstm.0.fwd.U_c"]!.shape
        let bad = try Self.model.replacing(["lstm.0.fwd.U_c": Tensor(shape: shape, values: values, dtype: .float32)])
        let check = Verifier.finiteParameters(bad)
        #expect(!check.passed)
        #expect(check.detail == "\(CheckResult.location("lstm.0.fwd.U_c", Tensor.index(ofFlat: 5, shape: shape))) is not finite")
    }

    /// The summary's worst location is the element furthest outside the tolerance (largest |a − e| / allowed),
    /// not the closest and not the largest absolute error.
    @Test func worstLocationIsTheFurthestOutsideTheTolerance() {
        let tolerance = Tolerance(rtol: 0.1, atol: 0, basis: "test")
        // diff / allowed: 0.5/10, 0.3/0.1, 0, 0.05/0.1: element 1 is worst; element 0 has the largest abs error.
        let c = ArrayComparison.compare(actual: [100.5, 1.3, 2, 1.05], expected: [100, 1, 2, 1], shape: [2, 2], tolerance: tolerance)
        #expect(c.worstIndex == [0, 1])
        #expect(c.worstActual == 1.3 && c.worstExpected == 1)
        #expect(c.mismatches == 1)
        #expect(!c.passed)
    }

    /// Keras 2's hard_sigmoid is clip(0.2x + 0.5, 0, 1), Keras 3's relu6(x + 3) / 6 (the Keras docs' definitions):
    /// swapping them changes these values.
    @Test func hardSigmoidKeras2AndKeras3AreTheirOwnFunctions() {
        let x: [Double] = [-3, -1, 0, 1, 2.4, 3.5]
        func apply(_ a: Activation) -> [Double] {
            var v = x
            v.withUnsafeMutableBufferPointer { ActivationKernels.apply(a, $0.baseAddress!, rows: 1, cols: x.count) }
            return v
        }
        let k2 = apply(.hardSigmoidKeras2), k3 = apply(.hardSigmoidKeras3)
        for (got, want) in zip(k2, [0, 0.3, 0.5, 0.7, 0.98, 1.0]) { #expect(abs(got - want) < 1e-12, "keras2 \(k2)") }
        for (got, want) in zip(k3, [0, 1.0 / 3, 0.5, 2.0 / 3, 0.9, 1.0]) { #expect(abs(got - want) < 1e-12, "keras3 \(k3)") }
    }

    /// softmax values, not only rows summing to one (true of any softmax-shaped output): exp(x) / Σ exp(x).
    @Test func softmaxHasTheRightValues() {
        var v: [Double] = [1, 2, 3, 0, 0, 0]
        v.withUnsafeMutableBufferPointer { ActivationKernels.apply(.softmax, $0.baseAddress!, rows: 2, cols: 3) }
        let e = [exp(1.0), exp(2.0), exp(3.0)], s = e.reduce(0, +)
        for (got, want) in zip(v, e.map { $0 / s } + [1.0 / 3, 1.0 / 3, 1.0 / 3]) { #expect(abs(got - want) < 1e-15, "\(v)") }
    }

    /// bfloat16 is the top 16 bits of a binary32: every one of the 65,536 patterns decodes to exactly that.
    @Test func everyBFloat16PatternDecodesToItsBinary32() {
        var wrong: [UInt16] = []
        for b in 0...UInt16.max where BFloat16Bits.toFloat(b).bitPattern != UInt32(b) << 16 {
            if !(BFloat16Bits.toFloat(b).isNaN && Float(bitPattern: UInt32(b) << 16).isNaN) { wrong.append(b) }
        }
        #expect(wrong.isEmpty, "first wrong patterns: \(wrong.prefix(5))")
    }

    /// The derived float16 tolerance is 64u with u = 2^-11 (IEEE binary16: 11 significand bits).
    @Test func float16DerivedToleranceIs64UnitRoundoffs() {
        let t = Tolerance.derived(lowerPrecision: .float16, scale: 2)
        #expect(t.rtol == 64 * 0x1p-11)
        #expect(t.atol == 64 * 0x1p-11 * 2)
        #expect(Tolerance.derived(lowerPrecision: .bfloat16, scale: 1).rtol == 64 * 0x1p-8)
    }

    /// H6: a dataset larger than the chunk limit is split into slabs of whole rows under the limit.
    @Test func H6_largeDatasetsAreChunkedInRowSlabs() {
        #expect(HDF5File.chunkShape([4096, 1024], elementSize: 4) == [256, 1024])
        #expect(HDF5File.chunkShape([3, 4], elementSize: 4) == [3, 4])
        #expect(HDF5File.chunkShape([1, 1 << 20], elementSize: 8) == [1, 1 << 20])
    }

    /// compare with a model that differs in one parameter by one float32 ulp: exact (bitwise) by default, so the
    /// parameter check fails at that element, and the outputs differ too; the same model compares equal.
    @Test func compareFindsAOneUlpDifferenceAtItsPlace() throws {
        let name = "lstm.0.fwd.W_i"
        let t = try #require(Self.model.tensors[name])
        var values = t.float64Values()
        values[3] = Double(Float(values[3]).nextUp)
        let other = try Self.model.replacing([name: Tensor(shape: t.shape, values: values, dtype: .float32)])
        let same = try Comparer.compare(Self.model, Self.model, files: ["a", "a"], inputs: nil, precision: .float64, tolerance: nil)
        #expect(same.passed)
        let report = try Comparer.compare(Self.model, other, files: ["a", "b"], inputs: nil, precision: .float64, tolerance: nil)
        #expect(!report.passed)
        let failed = report.checks.filter { !$0.passed }.map(\.name)
        #expect(failed.first == "parameter \(name)")
        #expect(report.checks.first { $0.name == "parameter \(name)" }?.location == CheckResult.location(name, Tensor.index(ofFlat: 3, shape: t.shape)))
        #expect(failed.contains("outputs"))
    }
}

/// Refusals and inferences of the Keras readers that whole-fixture tests did not pin down (issue 12).
@Suite struct KerasWeakTestKillerTests {
    /// K-F6: a weights-only file read without a config gets Keras's return_sequences: false on the last LSTM of a
    /// many-to-one model (its Dense sees [batch, units]), true when a TimeDistributed head follows, true on every
    /// LSTM but the last. Expected values: the manifest's architecture, from Keras's own config.
    @Test(arguments: [("k3_lstm_last_dense", "weights_h5"), ("k3_stacked_autonames", "weights_h5"),
                      ("k2_lstm_last_dense", "weights_h5"), ("k2_lstm_last_dense", "weights_v3_h5"),
                      ("k3_lstm_seq_timedistributed", "weights_h5")])
    func K_F6_weightsWithoutConfigGetKerasReturnSequences(id: String, kind: String) throws {
        let fixture = try #require(KerasFixture.accepted.first { $0.id == id })
        let keras = try #require(fixture.architecture)
        let model = try FormatRegistry.read(#require(fixture.url(kind)), options: ReadOptions(warn: { _ in })).model
        #expect(model.architecture.returnSequences == keras.returnSequences)
        #expect(model.architecture.layers == keras.layers)
        if keras.dense.allSatisfy({ $0.activation == .linear }) {
            #expect(model.architecture == keras)  // what weights show is all there is to this model
        }
    }

    /// K-C2: a recurrent layer after a Dense is refused naming both layers, not read as some other model.
    @Test func K_C2_aRecurrentLayerAfterADenseIsRefused() {
        let config = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"LSTM","config":{"name":"l1","units":2,"return_sequences":true}},"#
            + #"{"class_name":"Dense","config":{"name":"d","units":3}},{"class_name":"LSTM","config":{"name":"l2","units":2}}]}}"#
        #expect(throws: KerasError.unsupportedLayer(name: "l2", className: "LSTM", reason: "a recurrent layer after the Dense layer 'd' is not supported")) {
            try KerasConfig.parse(Data(config.utf8), generation: .keras3)
        }
    }
}

extension KerasWeakTestKillerTests {
    /// K-C4: `hard_sigmoid` is Keras 2's clip(0.2x + 0.5) in files Keras 2 wrote and Keras 3's relu6(x + 3) / 6 in
    /// files Keras 3 wrote — in a config and in the real files of each (expected: the manifest, from Keras).
    @Test func K_C4_hardSigmoidIsTheFormOfTheKerasThatWroteTheFile() throws {
        let config = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"LSTM","config":{"name":"l","units":2,"recurrent_activation":"hard_sigmoid"}}]}}"#
        for (generation, expected) in [(KerasGeneration.keras2, Activation.hardSigmoidKeras2), (.keras3, .hardSigmoidKeras3)] {
            let plan = try KerasConfig.parse(Data(config.utf8), generation: generation)
            let gates = plan.layers.compactMap { layer -> Activation? in
                if case .lstm(let l) = layer.kind { return l.recurrentActivation }
                return nil
            }
            #expect(gates == [expected], "\(generation)")
        }
        for (id, kind, expected) in [("k2_hard_sigmoid", "legacy_h5", Activation.hardSigmoidKeras2), ("k3_hard_sigmoid", "keras", .hardSigmoidKeras3)] {
            let fixture = try #require(KerasFixture.accepted.first { $0.id == id })
            #expect(fixture.architecture?.layers.first?.gateActivation == expected, "the manifest says \(expected)")
            let model = try FormatRegistry.read(#require(fixture.url(kind))).model
            #expect(model.architecture.layers.first?.gateActivation == expected, "\(id)")
        }
    }
}
