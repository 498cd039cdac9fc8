import Foundation
import Testing
@testable import LSTMFormat

/// Real Keras 3 and tf_keras models with Embedding / Masking made by scripts/keras_masking_fixtures.py
/// (Fixtures/keras-masking/generated): text classifiers, a bidirectional tagger with TimeDistributed(Dense),
/// Masking with stacked LSTMs, go_backwards under a mask, zero_output_for_mask; padded inputs (leading,
/// trailing, middle, whole row). `Spec/keras-mapping.md` K-E1–K-E5, `Spec/canonical-model.md` M17–M23.
@Suite struct KerasMaskingFixtureTests {
    struct Fixture: Sendable, CustomTestStringConvertible, Decodable {
        let id: String, description: String, writer: String, file: String
        var testDescription: String { id }
        func url(_ name: String) -> URL { FixturePaths.fixture("keras-masking/generated/\(id)/\(name)") }
        var model: URL { FixturePaths.fixture("keras-masking/generated/\(file)") }
    }

    struct Manifest: Decodable { let fixtures: [Fixture] }

    static let all: [Fixture] = {
        let url = FixturePaths.fixture("keras-masking/generated/manifest.json")
        guard let data = try? Data(contentsOf: url), let m = try? JSONDecoder().decode(Manifest.self, from: data) else { return [] }
        return m.fixtures
    }()

    @Test func manifestListsTheFixtures() { #expect(Self.all.count == 14) }

    /// Keras's predictions (float32, within 1e-5) and TensorFlow's loss and gradients (float64 BPTT within 1e-4
    /// of GradientTape on the float32 Keras model), the embedding table's gradient included.
    @Test(arguments: all)
    func matchesKerasAndTensorFlow(_ f: Fixture) throws {
        let model = try FormatRegistry.read(f.model).model
        #expect(model.architecture.isMasked == !f.id.hasSuffix("nomask"))
        let x = try NumPy.readModelInput(f.url("x.npy"))
        let y = try NumPy.readNPY(f.url("y.npy")), t = try NumPy.readNPY(f.url("t.npy"))
        let out = try LSTMNumerics.forward(model, input: x, precision: .float32)
        let oc = ArrayComparison.compare(actual: out.float64Values(), expected: y.float64Values(), shape: y.shape,
                                         tolerance: Tolerance(rtol: 1e-5, atol: 1e-5, basis: "Keras float32"))
        #expect(out.shape == y.shape)
        #expect(oc.passed, "\(f.id) outputs: max abs \(oc.maxAbsError) at \(oc.worstIndex)")
        let expected = try NumPy.readNPZ(f.url("expected.npz"))
        let (loss, _, grads) = try LSTMNumerics.gradients(model, input: x, targets: t, precision: .float64)
        let refLoss = try #require(expected["loss"]).float64Values()[0]
        #expect(abs(loss - refLoss) <= 1e-4 * max(1, abs(refLoss)), "\(f.id) loss \(loss) vs \(refLoss)")
        let tol = Tolerance(rtol: 1e-4, atol: 1e-5, basis: "TF float32 GradientTape")
        for (name, _) in model.orderedTensors {
            let e = try #require(expected[name], "\(f.id): TensorFlow gradient for \(name)")
            let c = ArrayComparison.compare(actual: try #require(grads[name]).float64Values(), expected: e.float64Values(), shape: e.shape, tolerance: tol)
            #expect(c.passed, "\(f.id) \(name): max abs \(c.maxAbsError) at \(c.worstIndex)")
        }
    }

    /// Every Keras writer round-trips the model exactly, and the exports load in real Keras and predict Keras's
    /// outputs (`.keras` in Keras 3, legacy `.h5` in Keras 3 and tf_keras; one Python process).
    @Test(.enabled(if: KerasMaskingCaseTests.pythonEnabled))
    func exportsLoadInRealKeras() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = []
        for f in Self.all {
            let model = try FormatRegistry.read(f.model).model
            let k3 = folder.appendingPathComponent("\(f.id).keras"), h5 = folder.appendingPathComponent("\(f.id).h5")
            let weights = folder.appendingPathComponent("\(f.id).weights.h5")
            try FormatRegistry.write(model, to: k3, format: KerasFormat.self)
            try FormatRegistry.write(model, to: h5, format: KerasH5Format.self)
            try FormatRegistry.write(model, to: weights, format: KerasWeightsFormat.self)
            var options = ReadOptions()
            options.keras.config = try KerasConfigWriter.json(try KerasConfigWriter.plan(model, target: .keras3), model: model, target: .keras3)
            for (url, opts) in [(k3, ReadOptions()), (h5, ReadOptions()), (weights, options)] {
                let back = try FormatRegistry.read(url, options: opts).model
                #expect(back.architecture == model.architecture, "\(f.id) \(url.lastPathComponent)")
                #expect(back.tensors == model.tensors, "\(f.id) \(url.lastPathComponent)")
            }
            let x = f.url("x.npy").path, y = f.url("y.npy").path
            for (file, loader) in [(k3, "keras3"), (h5, "keras3"), (h5, "tf_keras")] {
                jobs.append(["--file", file.path, "--loader", loader, "--inputs", x, "--expect", y, "--atol", "1e-5"])
            }
        }
        let codes = try KerasInteropTests.runChecks(jobs, folder: folder, loader: "masking-fixtures")
        #expect(codes.count == jobs.count)
        for (job, code) in zip(jobs, codes) { #expect(code == 0, "\(job[1]) with \(job[3]): keras_check exit \(code)") }
    }
}
