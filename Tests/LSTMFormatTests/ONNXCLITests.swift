import Foundation
import Testing
@testable import LSTMFormat

/// The "done when", tried as a new user would with the built binary (`Spec/onnx-mapping.md`).
@Suite(.serialized) struct ONNXCLITests {
    /// `convert model.onnx model.lstm` on exporter files reproduces onnxruntime (verify --expect, exit 0).
    @Test(arguments: ["torch_bidi_stacked_seq", "tf2onnx_stacked", "tf2onnx_go_backwards"])
    func convertThenVerifyAgainstOnnxruntime(_ id: String) throws {
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = ONNXFixtureTests.dir(id)
        let lstm = dir.appendingPathComponent("model.lstm").path
        let c = try CLI.run(["convert", source.appendingPathComponent("model.onnx").path, lstm])
        #expect(c.status == 0, "\(c.stderr)")
        let v = try CLI.run(["verify", lstm, "--inputs", source.appendingPathComponent("x.npy").path,
                             "--expect", source.appendingPathComponent("y.npy").path])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
    }

    /// `convert model.keras model.onnx`, then `compare model.keras model.onnx` passes (exit 0).
    @Test func kerasToONNXComparesEqual() throws {
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keras = ONNXFixtureTests.dir("tf2onnx_bidirectional").appendingPathComponent("model.keras").path
        let onnx = dir.appendingPathComponent("model.onnx").path
        #expect(try CLI.run(["convert", keras, onnx]).status == 0)
        let r = try CLI.run(["compare", keras, onnx])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    /// A refused file: exit 2, one line naming the file, the node and the reason, no output file.
    @Test func refusalIsOneLineExitTwoNoOutput() throws {
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = ONNXFixtureTests.dir("hand_clip").appendingPathComponent("model.onnx").path
        let out = dir.appendingPathComponent("model.lstm")
        let r = try CLI.run(["convert", input, out.path])
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("hand_clip/model.onnx") && lines[0].contains("(LSTM): clip"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
