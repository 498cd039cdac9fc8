import Foundation
import Testing
@testable import LSTMFormat

/// `--to onnx` (`Spec/onnx-mapping.md`, O-W1 – O-W5): files we write read back to the same model, pass
/// onnx.checker and run in onnxruntime with our forward pass's outputs. Python: env LSTMFORMAT_PYTHON (default the
/// project venv); LSTMFORMAT_SKIP_PYTHON=1 skips the onnxruntime test.
@Suite struct ONNXWriterTests {
    static let skipPython = !TestPython.enabled

    /// O-W4: what ONNX (as written here) cannot express.
    static func expressible(_ a: ModelArchitecture) -> Bool {
        a.layers.allSatisfy { $0.direction != .bidirectional || $0.mergeMode == .concat } && a.embedding == nil && !a.isMasked && a.layers.allSatisfy { $0.projectionSize == nil }
    }

    /// O-W1 – O-W3: write then read gives the same architecture and the same tensor bytes.
    @Test(arguments: RandomModels.variants)
    func roundTrips(_ variant: RandomModels.Variant) throws {
        let model = RandomModels.make(architecture: variant.architecture, seed: 0x0A11)
        guard Self.expressible(variant.architecture) else {
            let error = #expect(throws: ONNXError.self) { try ONNXFormat.encode(model) }
            #expect(["merges its directions by", "embedding", "masks", "projection"].contains { String(describing: error).contains($0) }, "\(variant)")
            return
        }
        let back = try ONNXFormat.decode(try ONNXFormat.encode(model))
        #expect(back.architecture == model.architecture, "\(variant)")
        for (name, t) in model.tensors { #expect(back.tensors[name] == t, "\(variant): \(name)") }
    }

    /// O-W4: mixed dtypes and bfloat16 are refused naming what; nothing is written.
    @Test func refusesWhatONNXCannotExpress() throws {
        let a = RandomModels.architecture()
        let mixed = try RandomModels.model(a, dtypes: [.float32, .float16], seed: 7)
        #expect(throws: ONNXError.self) { try ONNXFormat.encode(mixed) }
        let bf = RandomModels.make(architecture: a, dtype: .bfloat16, seed: 7)
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.onnx")
        let error = #expect(throws: FileError.self) { try FormatRegistry.write(bf, to: url) }
        #expect(String(describing: error).contains("bfloat16"))
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    /// O-W1: names from metadata, every metadata key carried through (M16).
    @Test func namesAndMetadataComeThrough() throws {
        var model = RandomModels.make(architecture: RandomModels.architecture(), seed: 3)
        model.metadata = ["onnx.input": "sequence", "onnx.output": "scores", "keras.layer.0": "lstm"]
        let data = try ONNXFormat.encode(model)
        let proto = try Onnx_ModelProto(serializedBytes: data)
        #expect(proto.graph.input.map(\.name) == ["sequence"] && proto.graph.output.map(\.name) == ["scores"])
        #expect(proto.opsetImport.first?.version == 17)
        let back = try ONNXFormat.decode(data)
        #expect(back.metadata["keras.layer.0"] == "lstm")
    }

    /// O-W5: onnx.checker accepts every file we write and onnxruntime predicts our forward pass within 1e-5.
    @Test(.enabled(if: !skipPython, "LSTMFORMAT_SKIP_PYTHON=1"))
    func onnxruntimeRunsWhatWeWrite() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = [], names: [String] = []
        for (k, variant) in RandomModels.variants.enumerated() where Self.expressible(variant.architecture) {
            let model = RandomModels.make(architecture: variant.architecture, seed: 0xC0FFEE + UInt64(k))
            let x = RandomModels.inputs(batch: 3, steps: 6, features: variant.architecture.inputSize, seed: UInt64(k)).converted(to: .float32)
            let y = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
            let base = folder.appendingPathComponent(variant.name)
            try FormatRegistry.write(model, to: base.appendingPathExtension("onnx"))
            try NumPy.writeNPY(x, to: base.appendingPathExtension("x.npy"))
            try NumPy.writeNPY(y.converted(to: .float32), to: base.appendingPathExtension("y.npy"))
            jobs.append([base.appendingPathExtension("onnx").path, base.appendingPathExtension("x.npy").path, base.appendingPathExtension("y.npy").path])
            names.append(variant.name)
        }
        let codes = try Self.runChecks(jobs, folder: folder)
        #expect(codes.count == jobs.count)
        for (name, code) in zip(names, codes) { #expect(code == 0, "\(name): onnx_check exit \(code)") }
    }

    /// Keras → ONNX (ours) → onnxruntime gives Keras's predictions; → `.lstm` → Keras gives Keras's parameters.
    @Test(.enabled(if: !skipPython, "LSTMFORMAT_SKIP_PYTHON=1"))
    func kerasThroughONNXAndBack() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var jobs: [[String]] = []
        let ids = ["tf2onnx_plain", "tf2onnx_many_to_one", "tf2onnx_stacked", "tf2onnx_bidirectional",
                   "tf2onnx_bidirectional_last", "tf2onnx_go_backwards", "tf2onnx_embedding"]
        for id in ids {
            let dir = ONNXFixtureTests.dir(id)
            let keras = try FormatRegistry.read(dir.appendingPathComponent("model.keras")).model
            let onnx = folder.appendingPathComponent("\(id).onnx"), lstm = folder.appendingPathComponent("\(id).lstm")
            let back = folder.appendingPathComponent("\(id).keras")
            try FormatRegistry.write(keras, to: onnx)
            try FormatRegistry.write(try FormatRegistry.read(onnx).model, to: lstm)
            try FormatRegistry.write(try FormatRegistry.read(lstm).model, to: back)
            let again = try FormatRegistry.read(back).model
            #expect(again.architecture == keras.architecture, "\(id)")
            for (name, t) in keras.tensors { #expect(again.tensors[name] == t, "\(id): \(name)") }
            jobs.append([onnx.path, dir.appendingPathComponent("x.npy").path, dir.appendingPathComponent("y_keras.npy").path])
        }
        let codes = try Self.runChecks(jobs, folder: folder)
        #expect(codes == Array(repeating: 0, count: ids.count), "\(codes)")
    }

    static func runChecks(_ jobs: [[String]], folder: URL) throws -> [Int] {
        let jobsURL = folder.appendingPathComponent("jobs.json")
        try JSONSerialization.data(withJSONObject: jobs).write(to: jobsURL)
        let (codes, text) = try TestPython.runCodes([FixturePaths.repoRoot.appendingPathComponent("scripts/onnx_check.py").path, "--jobs", jobsURL.path],
                                                    label: "onnx_check.py")
        for l in text.split(separator: "\n") where !l.hasPrefix("OK ") && !l.hasPrefix("CODES ") { Issue.record("\(l)") }
        return codes
    }
}
