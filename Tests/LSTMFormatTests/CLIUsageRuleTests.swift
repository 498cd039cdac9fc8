import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` U5 (a format named on the command line that no format is: usage, 64, before reading) and
/// U6 (integer inputs for a model without an embedding: said as such, 2), found by the fresh-clone reviewer.
@Suite struct CLIUsageRuleTests {
    let model = FixturePaths.fixture("verify-tolerance/units64/model.keras").path

    /// A .npy of int32 values (numpy's '<i4'), C order.
    static func int32NPY(shape: [Int], to url: URL) throws {
        let count = shape.reduce(1, *)
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(dims)), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for k in 0..<count { withUnsafeBytes(of: Int32(k % 3).littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url)
    }

    @Test func U5_convertToAnUnknownSuffixIsAUsageMistake() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out.npz").path
        let r = try CLI.run(["convert", model, out])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("lstm-format: cannot tell the output format from the name '\(out)': name it .lstm"), "\(r.stderr)")
        #expect(r.stderr.hasSuffix(", or pass --to (see 'lstm-format help')\n"), "\(r.stderr)")
        let named = try CLI.run(["convert", model, out, "--to", "nope"])
        #expect(named.status == 64 && named.stderr.contains("unknown format 'nope'"), "\(named.stderr)")
        // A missing input is still an input problem: usage is checked first only for what the command line names.
        #expect(try CLI.run(["convert", folder.appendingPathComponent("missing.keras").path, out]).status == 64)
        #expect(try CLI.run(["convert", folder.appendingPathComponent("missing.keras").path, folder.appendingPathComponent("o.lstm").path]).status == 2)
        // --to wins over the name, as before.
        #expect(try CLI.run(["convert", model, out, "--to", "lstm"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.npz"])
    }

    /// Integer inputs, of rank 3 (the shape float features would have) and rank 2 (the shape of token ids), for a
    /// model without an embedding: one message about what this model takes, from every command that reads inputs.
    @Test func U6_integerInputsForAModelWithoutAnEmbeddingSaySo() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for shape in [[2, 30, 8], [2, 30]] {
            let x = folder.appendingPathComponent("x\(shape.count).npy")
            try Self.int32NPY(shape: shape, to: x)
            let expected = "lstm-format: \(x.path): the inputs are integers, but the model has no embedding: it takes float features [batch, steps, 8] (float16, float32 or float64)\n"
            let y = folder.appendingPathComponent("y.npy").path, g = folder.appendingPathComponent("g.npz").path
            for args in [["forward", model, "--inputs", x.path, "--output", y], ["verify", model, "--inputs", x.path],
                         ["compare", model, model, "--inputs", x.path],
                         ["gradients", model, "--inputs", x.path, "--targets", x.path, "--output", g]] {
                let r = try CLI.run(args)
                #expect(r.status == 2 && r.stderr == expected, "\(args[0]) \(shape): \(r.stderr)")
                #expect(!r.stderr.contains("token"), "\(args[0]) \(shape)")
            }
        }
    }
}
