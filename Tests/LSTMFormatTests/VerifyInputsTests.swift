import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B16a: `verify --inputs` uses the inputs — the gradient check runs on them, without `--expect`
/// their outputs must be finite — and refuses what `forward` refuses, with the same one-line error naming the file.
@Suite(.serialized) struct VerifyInputsTests {
    /// A Keras 3 model (input 3 → LSTM 4 → Dense 2) with Keras's own inputs (2, 5, 3).
    let model = FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras").path
    let inputs = FixturePaths.fixture("keras/k3_lstm_last_dense/x.npy").path

    /// A `.npy` (format 1.0, header padded to 64 bytes) with dtype `descr`, `shape` and raw little-endian `bytes`.
    static func npy(descr: String, shape: [Int], bytes: [UInt8]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: bytes)
        return d
    }

    static func float32NPY(shape: [Int], value: Float = 0.25) -> Data {
        let n = shape.reduce(1, *)
        return npy(descr: "<f4", shape: shape, bytes: (0..<n).flatMap { _ in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
    }

    /// The checks of a `--json` report, by name: (passed, detail).
    static func checks(_ json: String) throws -> [String: (passed: Bool, detail: String)] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let list = try #require(object["checks"] as? [[String: Any]])
        var out: [String: (passed: Bool, detail: String)] = [:]
        for c in list { out[c["name"] as? String ?? ""] = (c["passed"] as? Bool ?? false, c["detail"] as? String ?? "") }
        return out
    }

    @Test func B16a_givenInputsRunTheGradientCheckAndMustGiveFiniteOutputs() throws {
        let r = try CLI.run(["verify", model, "--inputs", inputs, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try Self.checks(r.stdout)
        let check = try #require(report["gradient_check"])
        #expect(check.passed && check.detail.contains("on the given inputs [2, 5, 3]"), "\(check.detail)")
        let finite = try #require(report["finite_outputs"])
        #expect(finite.passed && finite.detail.contains("4 outputs [2, 2]"), "\(finite.detail)")
        // Without inputs: the probe, and no outputs check.
        let probe = try CLI.run(["verify", model, "--json"])
        #expect(probe.status == 0)
        let probeReport = try Self.checks(probe.stdout)
        #expect(probeReport["gradient_check"]?.detail.contains("on the probe [2, 5, 3]") == true)
        #expect(probeReport["finite_outputs"] == nil)
    }

    /// A relu cell (Keras `k3_nobias_relu`) fed 3e38 overflows float32: the probe passes, these inputs must not.
    @Test func B16a_inputsWhoseOutputsOverflowFailWithExitOne() throws {
        let relu = FixturePaths.fixture("keras/k3_nobias_relu/model.keras").path
        let folder = try FixturePaths.temporaryFolder()
        let huge = folder.appendingPathComponent("huge.npy")
        let width = try FormatRegistry.read(URL(fileURLWithPath: relu)).model.architecture.inputSize
        try Self.float32NPY(shape: [1, 3, width], value: 3e38).write(to: huge)
        #expect(try CLI.run(["verify", relu]).status == 0)
        let r = try CLI.run(["verify", relu, "--inputs", huge.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("finite_outputs: outputs["), "\(r.stdout)")
    }

    /// Each refused file: `verify` exits 2 with exactly `forward`'s one-line error, naming the file, and prints no report.
    @Test(arguments: ["wide", "rank2", "rank4", "emptyBatch", "emptySteps", "tokenIDs", "bool", "complex"])
    func B16a_inputsForwardRefusesAreRefusedTheSameWay(kind: String) throws {
        let folder = try FixturePaths.temporaryFolder()
        let file = folder.appendingPathComponent("\(kind).npy")
        let data: Data = switch kind {
        case "wide": Self.float32NPY(shape: [2, 5, 7])
        case "rank2": Self.float32NPY(shape: [2, 5])
        case "rank4": Self.float32NPY(shape: [1, 2, 5, 3])
        case "emptyBatch": Self.float32NPY(shape: [0, 5, 3])
        case "emptySteps": Self.float32NPY(shape: [2, 0, 3])
        case "tokenIDs": ONNXEmbeddingTests.int64NPY(shape: [2, 5], (0..<10).map(Int64.init))
        case "bool": Self.npy(descr: "|b1", shape: [2, 5, 3], bytes: [UInt8](repeating: 1, count: 30))
        default: Self.npy(descr: "<c8", shape: [2, 5, 3], bytes: [UInt8](repeating: 0, count: 240))
        }
        try data.write(to: file)
        let forward = try CLI.run(["forward", model, "--inputs", file.path, "--output", folder.appendingPathComponent("y.npy").path])
        #expect(forward.status == 2)
        for extra in [[], ["--expect", FixturePaths.fixture("keras/k3_lstm_last_dense/y.npy").path]] {
            let r = try CLI.run(["verify", model, "--inputs", file.path] + extra)
            #expect(r.status == 2, "\(kind) \(extra): \(r.stdout)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr == forward.stderr, "\(kind): \(r.stderr) vs forward's \(forward.stderr)")
            #expect(r.stderr.hasPrefix("lstm-format: \(file.path): ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }

    /// The library: the gradient check refuses inputs of the wrong rank with the numerics' error, not a crash.
    @Test func B16a_gradientCheckRefusesInputsOfTheWrongRank() throws {
        let m = try FormatRegistry.read(URL(fileURLWithPath: model)).model
        let x = Tensor(shape: [5, 3], float64: [Double](repeating: 0, count: 15))
        #expect(throws: NumericsError.inputRank(actual: [5, 3])) { try GradientCheck.run(m, inputs: .features(x)) }
    }
}
