import Foundation
import Testing
@testable import LSTMFormat

/// Files we write load in real Keras and predict what the source model predicts (`Spec/keras-mapping.md`,
/// K-T5, K-T6). Python: env LSTMFORMAT_PYTHON (default the project venv); LSTMFORMAT_SKIP_PYTHON=1 skips.
@Suite struct KerasInteropTests {
    static let skipPython = !TestPython.enabled

    static func source(_ f: KerasFixture) throws -> LSTMModel {
        let (_, url, options) = try #require(try f.readings().first)
        return try FormatRegistry.read(url, options: options).model
    }

    static func uses(_ model: LSTMModel, _ a: Activation) -> Bool {
        model.architecture.layers.contains { $0.gateActivation == a || $0.cellActivation == a } || model.architecture.dense.contains { $0.activation == a }
    }

    /// K-T5: every writer round-trips the canonical model exactly (architecture, tensor bytes, layer names).
    @Test(arguments: KerasFixture.accepted)
    func roundTrips(_ fixture: KerasFixture) throws {
        let model = try Self.source(fixture)
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (format, file) in [(KerasFormat.self as any ModelFileFormat.Type, "m.keras"), (KerasH5Format.self, "m.h5"), (KerasWeightsFormat.self, "m.weights.h5")] {
            let url = folder.appendingPathComponent(file)
            let refused = (format == KerasH5Format.self && Self.uses(model, .hardSigmoidKeras3))
                || (format != KerasH5Format.self && Self.uses(model, .hardSigmoidKeras2))
            if refused {
                let error = #expect(throws: FileError.self) { try FormatRegistry.write(model, to: url, format: format) }
                #expect(error?.underlying is KerasError, "\(fixture.id) \(file): \(String(describing: error))")
                #expect(String(describing: error).contains("hard_sigmoid"))
                #expect(!FileManager.default.fileExists(atPath: url.path), "nothing written on refusal")
                continue
            }
            try FormatRegistry.write(model, to: url, format: format)
            var options = ReadOptions()
            if format == KerasWeightsFormat.self {
                let plan = try KerasConfigWriter.plan(model, target: .keras3)
                options.keras.config = try KerasConfigWriter.json(plan, model: model, target: .keras3)
            }
            let (back, detected) = try FormatRegistry.read(url, options: options)
            #expect(detected.name == format.name, "\(fixture.id) \(file)")
            #expect(back.architecture == model.architecture, "\(fixture.id) \(file)")
            for (name, t) in model.tensors { #expect(back.tensors[name] == t, "\(fixture.id) \(file) \(name)") }
            for (key, value) in model.metadata where key.hasPrefix("keras.lstm.") && key.hasSuffix(".name") {
                #expect(back.metadata[key] == value, "\(fixture.id) \(file) \(key)")
            }
        }
    }

    /// K-T6: `.keras` loads in Keras 3 and legacy `.h5` in Keras 3 and tf_keras, predicting the fixture's outputs.
    /// Skipped (not passed) with LSTMFORMAT_SKIP_PYTHON=1.
    @Test(.enabled(if: !skipPython, "LSTMFORMAT_SKIP_PYTHON=1")) func realKerasLoadsWrittenFiles() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [String: [[String]]] = ["keras3": [], "tf_keras": []]
        for fixture in KerasFixture.accepted {
            let model = try Self.source(fixture)
            let x = try #require(fixture.file(fixture.inputs)).path, y = try #require(fixture.file(fixture.outputs)).path
            if !Self.uses(model, .hardSigmoidKeras2) {
                let url = folder.appendingPathComponent("\(fixture.id).keras")
                try FormatRegistry.write(model, to: url, format: KerasFormat.self)
                jobs["keras3"]?.append(["--file", url.path, "--loader", "keras3", "--inputs", x, "--expect", y])
            }
            if !Self.uses(model, .hardSigmoidKeras3) {
                let url = folder.appendingPathComponent("\(fixture.id).h5")
                try FormatRegistry.write(model, to: url, format: KerasH5Format.self)
                jobs["tf_keras"]?.append(["--file", url.path, "--loader", "tf_keras", "--inputs", x, "--expect", y])
                // Keras 3 reads hard_sigmoid in a Keras 2 file as its own clip(x/6 + 0.5): only check it without one.
                if !Self.uses(model, .hardSigmoidKeras2) {
                    jobs["keras3"]?.append(["--file", url.path, "--loader", "keras3", "--inputs", x, "--expect", y])
                }
            }
        }
        try Self.expectEveryCheckPasses(jobs, folder: folder)
    }

    /// Runs each loader's `keras_check` jobs (`runChecks`, one Python process per loader) and expects one exit code
    /// per job, each 0; a failure names the loader and `describe(job)` (default: the checked file, `job[1]`).
    static func expectEveryCheckPasses(_ jobs: [String: [[String]]], folder: URL,
                                       describe: ([String]) -> String = { $0[1] }) throws {
        for (loader, list) in jobs.sorted(by: { $0.key < $1.key }) {
            let results = try runChecks(list, folder: folder, loader: loader)
            #expect(results.count == list.count, "\(loader): \(results.count) results for \(list.count) files")
            for (job, code) in zip(list, results) {
                #expect(code == 0, "\(loader) \(describe(job)): keras_check exit \(code)")
            }
        }
    }

    /// Runs scripts/keras_check.py's `main` for each argument list in one Python process; returns exit codes.
    static func runChecks(_ jobs: [[String]], folder: URL, loader: String) throws -> [Int] {
        let jobsURL = folder.appendingPathComponent("jobs-\(loader).json")
        try JSONSerialization.data(withJSONObject: jobs).write(to: jobsURL)
        let script = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import keras_check
        codes = [keras_check.main(args) for args in json.load(open(sys.argv[2]))]
        print("CODES " + json.dumps(codes))
        """
        return try TestPython.runCodes(["-c", script, FixturePaths.repoRoot.appendingPathComponent("scripts").path, jobsURL.path],
                                       label: "\(loader): keras_check").codes
    }
}
