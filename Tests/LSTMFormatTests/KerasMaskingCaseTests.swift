import Foundation
import Testing
@testable import LSTMFormat

/// The shared user cases `keras-masking/embedding` and `keras-masking/masking-layer` (copied into
/// Fixtures/keras-masking/, Keras's own files and predictions): Embedding with and without mask_zero, and a
/// Masking layer in Keras 3 and tf_keras (`Spec/canonical-model.md` M17–M22, `Spec/keras-mapping.md` K-E1–K-E5).
@Suite struct KerasMaskingCaseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let folder: String, model: String, inputs: String, outputs: String
        var testDescription: String { "\(folder)/\(model)" }
        func url(_ name: String) -> URL { FixturePaths.fixture("keras-masking/\(folder)/\(name)") }
    }

    static let cases = [
        Case(folder: "embedding", model: "emb_mask.keras", inputs: "x.npy", outputs: "y_mask.npy"),
        Case(folder: "embedding", model: "emb_nomask.keras", inputs: "x.npy", outputs: "y_nomask.npy"),
        Case(folder: "masking-layer", model: "masking_k3.keras", inputs: "x.npy", outputs: "y_k3.npy"),
        Case(folder: "masking-layer", model: "masking_tfk.h5", inputs: "x.npy", outputs: "y_tfk.npy"),
    ]
    static let python = ProcessInfo.processInfo.environment["LSTMFORMAT_PYTHON"] ?? "/root/.cache/lstm-format/venv/bin/python"
    static let pythonEnabled = ProcessInfo.processInfo.environment["LSTMFORMAT_SKIP_PYTHON"] != "1"
    static let keras = Tolerance(rtol: 1e-5, atol: 1e-5, basis: "Keras float32 predictions")

    /// Keras's predictions, the outputs at padded steps included, within 1e-5.
    @Test(arguments: cases)
    func predictsWhatKerasPredicts(_ c: Case) throws {
        let model = try FormatRegistry.read(c.url(c.model)).model
        let a = model.architecture
        #expect(c.folder == "embedding" ? a.embedding != nil : a.maskValue == 0)
        let y = try LSTMNumerics.forward(model, input: try NumPy.readModelInput(c.url(c.inputs)), precision: .float32)
        let expected = try NumPy.readNPY(c.url(c.outputs))
        let r = ArrayComparison.compare(actual: y.float64Values(), expected: expected.float64Values(), shape: expected.shape, tolerance: Self.keras)
        #expect(y.shape == expected.shape)
        #expect(r.passed, "\(c): max abs \(r.maxAbsError) at \(r.worstIndex)")
        // Through .lstm: the same model, bit for bit.
        #expect(try CompactFormat.decode(CompactFormat.encode(model)) == model)
    }

    /// The CLI as a new user runs it: convert to .lstm, forward on Keras's inputs, compare; verify passes its
    /// gradient check on the masked embedding model; the wrong kind of input is a one-line error, exit 2.
    @Test(arguments: cases)
    func cliConvertsAndForwards(_ c: Case) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lstm = folder.appendingPathComponent("m.lstm").path, out = folder.appendingPathComponent("y.npy").path
        #expect(try CLI.run(["convert", c.url(c.model).path, lstm]).status == 0)
        #expect(try CLI.run(["forward", lstm, "--inputs", c.url(c.inputs).path, "--output", out]).status == 0)
        let y = try NumPy.readNPY(URL(fileURLWithPath: out)), expected = try NumPy.readNPY(c.url(c.outputs))
        #expect(ArrayComparison.compare(actual: y.float64Values(), expected: expected.float64Values(), shape: expected.shape, tolerance: Self.keras).passed)
        let verify = try CLI.run(["verify", lstm])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(try CLI.run(["compare", c.url(c.model).path, lstm]).status == 0)
        let other = FixturePaths.fixture("keras-masking/\(c.folder == "embedding" ? "masking-layer" : "embedding")/x.npy").path
        let wrong = try CLI.run(["forward", lstm, "--inputs", other, "--output", out + "2"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains(c.folder == "embedding" ? "integer token ids" : "float features"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "2"))
    }

    /// Exports back to `.keras` and legacy `.h5` load in real Keras (Keras 3; the `.h5` also in tf_keras) and
    /// predict Keras's outputs (one Python process for every file).
    @Test(.enabled(if: pythonEnabled))
    func exportsLoadInRealKeras() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = []
        for (k, c) in Self.cases.enumerated() {
            let model = try FormatRegistry.read(c.url(c.model)).model
            let k3 = folder.appendingPathComponent("m\(k).keras"), h5 = folder.appendingPathComponent("m\(k).h5")
            try FormatRegistry.write(model, to: k3, format: KerasFormat.self)
            try FormatRegistry.write(model, to: h5, format: KerasH5Format.self)
            #expect(try FormatRegistry.read(k3).model.architecture == model.architecture)
            #expect(try FormatRegistry.read(h5).model.architecture == model.architecture)
            for (file, loader) in [(k3, "keras3"), (h5, "keras3"), (h5, "tf_keras")] {
                jobs.append(["--file", file.path, "--loader", loader, "--inputs", c.url(c.inputs).path, "--expect", c.url(c.outputs).path])
            }
        }
        let codes = try KerasInteropTests.runChecks(jobs, folder: folder, loader: "masking")
        #expect(codes.count == jobs.count)
        for (job, code) in zip(jobs, codes) { #expect(code == 0, "\(job[1]) with \(job[3]): keras_check exit \(code)") }
    }
}
