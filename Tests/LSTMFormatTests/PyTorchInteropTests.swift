import Foundation
import Testing
@testable import LSTMFormat

/// Files we write load in real PyTorch (through `scripts/lstm_format_torch.py`, `load_state_dict(strict=True)`)
/// and predict what our forward pass predicts (`Spec/pytorch-mapping.md`, P-T4).
@Suite struct PyTorchInteropTests {
    static let python = ProcessInfo.processInfo.environment["LSTMFORMAT_PYTHON"] ?? "/root/.cache/lstm-format/venv/bin/python"
    static let pythonEnabled = ProcessInfo.processInfo.environment["LSTMFORMAT_SKIP_PYTHON"] != "1"

    /// Runs the helper once on every (model, inputs, expected outputs); returns its exit status and output.
    static func check(_ jobs: [[String]], folder: URL) throws -> (Int32, String) {
        let batch = folder.appendingPathComponent("checks.json")
        try JSONSerialization.data(withJSONObject: jobs).write(to: batch)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [FixturePaths.repoRoot.appendingPathComponent("scripts/lstm_format_torch.py").path, "--batch", batch.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    /// Keras models and PyTorch fixtures, written by us, predict the same in PyTorch as in our forward pass.
    @Test(.enabled(if: pythonEnabled, "LSTMFORMAT_SKIP_PYTHON=1")) func realPyTorchLoadsWrittenFiles() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var sources: [(String, LSTMModel, Tensor)] = []
        for id in ["k3_bidi_concat_seq", "k3_bidi_concat_last", "k3_lstm_last_dense", "k3_two_dense_head", "k2_cudnn_bidi"] {
            guard let f = KerasFixture.accepted.first(where: { $0.id == id }) else { continue }
            sources.append((id, try KerasInteropTests.source(f), try NumPy.readNPY(#require(f.file(f.inputs)))))
        }
        for f in PyTorchFixture.readable where f.id != "dtypes" {
            let (_, url) = try #require(f.modelFiles.first)
            sources.append((f.id, try FormatRegistry.read(url, options: ReadOptions(architecture: try f.architecture())).model, try NumPy.readNPY(f.file("x.npy"))))
        }
        #expect(sources.count >= 8)
        var jobs: [[String]] = []
        for (id, model, x) in sources {
            let xURL = folder.appendingPathComponent("\(id).x.npy"), yURL = folder.appendingPathComponent("\(id).y.npy")
            try NumPy.writeNPY(x, to: xURL)
            try NumPy.writeNPY(try LSTMNumerics.forward(model, inputs: x, precision: .float64).converted(to: .float32), to: yURL)
            for suffix in ["safetensors", "pt"] {
                let url = folder.appendingPathComponent("\(id).\(suffix)")
                try FormatRegistry.write(model, to: url)
                jobs.append([url.path, xURL.path, yURL.path])
            }
        }
        let (status, output) = try Self.check(jobs, folder: folder)
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: "predictions match").count - 1 == jobs.count, "\(output)")
    }
}
