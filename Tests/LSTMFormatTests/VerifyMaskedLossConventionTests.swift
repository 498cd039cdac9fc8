import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B19c: on a masked model that returns every step, Keras's compiled `MeanSquaredError` averages
/// (y − t)² over the n_u unmasked outputs only. The expected values are real Keras 3.15.1 (`model.compute_loss`)
/// and tf_keras 2.21.0 (`compiled_loss`) gradients under a GradientTape (`scripts/make_verify_gradient_fixtures.py
/// --kinds masked embedmask`: Fixtures/verify-gradients-kinds/{masked,embedmask}/{keras,tf_keras}_masked_mean.npz);
/// n_u is counted here from the inputs (all-zero feature rows for Masking(0.0), id 0 for mask_zero).
@Suite(.serialized) struct VerifyMaskedLossConventionTests {
    static let producerCases = ["masked", "embedmask"].flatMap { name in ["keras", "tf_keras"].map { "\(name)/\($0)" } }
    static let features = 4

    static func folder(_ name: String) -> URL { VerifyGradientToleranceModelKindsTests.folder(name) }

    static func verify(_ name: String, gradients: URL, targets: URL? = nil) throws -> CLI.Result {
        let f = folder(name)
        return try CLI.run(["verify", f.appendingPathComponent("model.keras").path, "--inputs", f.appendingPathComponent("x.npy").path,
                            "--targets", (targets ?? f.appendingPathComponent("t.npy")).path, "--expect-gradients", gradients.path, "--json"])
    }

    /// The unmasked (batch, step) positions of the case's inputs, batch-major, counted from the fixture itself.
    static func unmasked(_ name: String) throws -> [Bool] {
        guard case .features(let x) = try NumPy.readModelInput(folder(name).appendingPathComponent("x.npy")) else {
            guard case .tokens(let ids) = try NumPy.readModelInput(folder(name).appendingPathComponent("x.npy")) else { return [] }
            return ids.ids.map { $0 != 0 }  // token ids, mask_zero
        }
        let v = x.float64Values(), width = x.shape[2]
        return (0..<(x.shape[0] * x.shape[1])).map { k in (0..<width).contains { v[k * width + $0] != 0 } }
    }

    /// "case/producer" → the case, its `<producer>_masked_mean.npz` file and arrays, n_u and the unmasked steps.
    static func maskedMean(_ pair: String) throws -> (name: String, file: URL, gradients: [String: Tensor], nu: Int, steps: Int) {
        let (name, producer) = (String(pair.split(separator: "/")[0]), String(pair.split(separator: "/")[1]))
        let file = folder(name).appendingPathComponent("\(producer)_masked_mean.npz")
        let steps = try unmasked(name).filter { $0 }.count
        return (name, file, try NumPy.readNPZ(file), steps * features, steps)
    }

    /// Keras's and tf_keras's gradients of the compiled loss fail (exit 1: they are of another loss) with a failing
    /// `loss_convention` check naming 2/n_u and Keras's masked mean; without B19c there was no such check.
    @Test(arguments: producerCases)
    func B19c_kerasCompiledMeanSquaredErrorOnAMaskedModelIsNamed(_ pair: String) throws {
        let (name, file, _, nu, steps) = try Self.maskedMean(pair)
        #expect(nu > 0 && nu < 2 * 30 * Self.features, "the fixture has masked steps")
        let r = try Self.verify(name, gradients: file)
        #expect(r.status == 1, "\(pair): \(r.stdout)\(r.stderr)")
        let note = try #require(try VerifyInputsTests.checks(r.stdout)["loss_convention"], "\(pair): \(r.stdout)")
        #expect(!note.passed, "\(note.detail)")
        #expect(note.detail.contains("= 2/n_u, n_u = \(nu) unmasked outputs (\(steps) unmasked steps × \(Self.features) features)"), "\(note.detail)")
        #expect(note.detail.contains("Keras's compiled MeanSquaredError on a masked model"), "\(note.detail)")
    }

    /// The claim behind the name, checked by B19b's tolerance alone: Keras's masked-mean loss and gradients ÷ (2/n_u)
    /// are ours for targets equal to our outputs at the masked steps (residual 0 there); exit 0.
    @Test(arguments: producerCases)
    func B19c_theMaskedMeanIsTwoOverNuTimesTheHalfSumOverUnmaskedSteps(_ pair: String) throws {
        let (name, _, g, nu, _) = try Self.maskedMean(pair)
        let f = Self.folder(name)
        let model = try FormatRegistry.read(f.appendingPathComponent("model.keras")).model
        let input = try NumPy.readModelInput(f.appendingPathComponent("x.npy"))
        let y = try LSTMNumerics.forward(model, input: input, precision: .float32).float64Values()
        let t = try NumPy.readNPY(f.appendingPathComponent("t.npy"))
        var target = t.float64Values()
        for (k, live) in try Self.unmasked(name).enumerated() where !live {
            for j in 0..<Self.features { target[k * Self.features + j] = y[k * Self.features + j] }
        }
        let targets = try FixturePaths.temporaryFolder().appendingPathComponent("t.npy")
        try NumPy.writeNPY(Tensor(shape: t.shape, float64: target), to: targets)
        let divided = g.mapValues { VerifyGradientToleranceTests.scaled($0, by: Double(nu) / 2) }
        let r = try Self.verify(name, gradients: try VerifyGradientToleranceTests.write(divided), targets: targets)
        #expect(r.status == 0, "\(pair): \(r.stdout)\(r.stderr)")
    }

    /// Real Keras 3.15.1 gradients of `MeanSquaredError()(t, y, sample_weight=mask)` on an output without Keras's mask
    /// (`scripts/make_verify_gradient_fixtures.py --kinds masked embedmask --sample-weight`:
    /// `keras_sample_weight.npz`; the script checks Keras's loss against numpy's sum over the unmasked outputs ÷ n)
    /// fail (exit 1) with a failing `loss_convention` check naming 2/n, n all the outputs.
    @Test(arguments: ["masked", "embedmask"])
    func B19c_kerasSampleWeightedMeanIsNamedTwoOverN(_ name: String) throws {
        let n = 2 * 30 * Self.features
        let r = try Self.verify(name, gradients: Self.folder(name).appendingPathComponent("keras_sample_weight.npz"))
        #expect(r.status == 1, "\(name): \(r.stdout)\(r.stderr)")
        let note = try #require(try VerifyInputsTests.checks(r.stdout)["loss_convention"], "\(name): \(r.stdout)")
        #expect(!note.passed, "\(note.detail)")
        #expect(note.detail.contains("= 2/n, n = \(n) outputs: the sum of (y − t)² over the unmasked outputs divided by all n"),
                "\(note.detail)")
    }

    /// Other factors over the unmasked steps are named as such (2: the sum of squares; 1: our half sum with the masked
    /// steps left out, which fails every gradient check; another factor as a factor);
    /// a wrong gradient of the masked mean gets no such check.
    @Test func B19c_otherFactorsOverTheUnmaskedStepsAndWrongGradients() throws {
        let (name, _, g, nu, _) = try Self.maskedMean("masked/keras")
        for (factor, says) in [(Double(nu), "= 2: the sum of (y − t)² over the unmasked steps"),
                               (Double(nu) / 2, "= 1: Σ ½ (y − t)² over the unmasked steps only"),
                               (Double(nu) * 1.5, "a constant factor over the unmasked steps")] {
            let r = try Self.verify(name, gradients: try VerifyGradientToleranceTests.write(g.mapValues { VerifyGradientToleranceTests.scaled($0, by: factor) }))
            #expect(r.status == 1)
            #expect(try VerifyInputsTests.checks(r.stdout)["loss_convention"]?.detail.contains(says) == true, "\(factor): \(r.stdout)")
        }
        var wrong = g
        wrong["lstm.0.fwd.U_f"] = VerifyGradientToleranceTests.scaled(g["lstm.0.fwd.U_f"]!, by: 1 + 1e-2)
        let swapped = VerifyGradientToleranceModelKindsTests.Fault.gatesSwapped.apply(g, tensor: "")
        for bad in [wrong, swapped] {
            let r = try Self.verify(name, gradients: try VerifyGradientToleranceTests.write(bad))
            let checks = try VerifyInputsTests.checks(r.stdout)
            #expect(r.status == 1 && checks["loss_convention"] == nil, "\(r.stdout)")
        }
    }
}
