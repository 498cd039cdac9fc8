import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/keras-mapping.md` K-W8: `.keras` (and `.npz`, `.pt`) members stored by our writer with `CRC32`'s CRC-32.
@Suite struct StoredZipWriterTests {
    /// Our bounded reader checks each member's CRC-32 against the directory (Z2) and gives back the bytes.
    @Test func K_W8_membersReadBackWithTheirCRC() throws {
        let dir = try FixturePaths.temporaryFolder()
        let url = dir.appendingPathComponent("a.zip")
        let first = Data("{\"keras_version\": \"3.15.1\"}".utf8)
        var second = Data(count: 70_001)
        for i in second.indices { second[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        try first.withUnsafeBytes { a in
            try second.withUnsafeBytes { b in
                try StoredZipWriter.write([.init(name: "metadata.json", bytes: a), .init(name: "model.weights.h5", bytes: b),
                                           .init(name: "empty", bytes: UnsafeRawBufferPointer(start: nil, count: 0))], to: url)
            }
        }
        let archive = try ZipArchive(url: url)
        #expect(archive.members.map(\.name) == ["metadata.json", "model.weights.h5", "empty"])
        #expect(archive.members.allSatisfy { $0.method == 0 })
        #expect(archive.members.map(\.crc32) == [CRC32.checksum(first), CRC32.checksum(second), 0])
        #expect(try archive.read(archive["metadata.json"]!, limit: 1 << 20) == first)
        #expect(try archive.read(archive["model.weights.h5"]!, limit: 1 << 20) == second)
    }

    /// Python's `zipfile` (which Keras reads `.keras` files with) checks every CRC and sees stored members
    /// dated 1980-01-01, as Keras writes them (K-W4).
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1"))
    func K_W8_pythonZipfileAcceptsAWrittenKerasArchive() throws {
        let dir = try FixturePaths.temporaryFolder()
        let out = dir.appendingPathComponent("m.keras").path
        let converted = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, out])
        #expect(converted.status == 0, "\(converted.stderr)")
        let script = """
            import json, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            bad = z.testzip()
            info = [[i.filename, i.compress_type, list(i.date_time)] for i in z.infolist()]
            print("CODES " + json.dumps([0 if bad is None else 1] + [0 if i[1] == 0 and i[2][:3] == [1980, 1, 1] else 1 for i in info]))
            print(info, file=sys.stderr)
            """
        let r = try TestPython.runCodes(["-c", script, out], label: "zipfile")
        #expect(r.codes == [0, 0, 0, 0], "\(r.output)")
    }

    /// A `.npz` we write (the `gradients` output) goes through the same writer: numpy's `zipfile` checks every
    /// member's CRC-32 and `numpy.load` gives back the arrays bit for bit.
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1"))
    func K_W8_numpyLoadsAWrittenNPZWithItsCRCs() throws {
        let dir = try FixturePaths.temporaryFolder()
        let url = dir.appendingPathComponent("g.npz")
        var big = [Float](repeating: 0, count: 30_000)
        for i in big.indices { big[i] = Float(i % 977) * 0.125 - 7 }
        try NumPy.writeNPZ([("lstm.0.fwd.W_f", Tensor(shape: [100, 300], float32: big)),
                            ("loss", Tensor(shape: [], float64: [0.125]))], to: url)
        let script = """
            import json, sys, zipfile
            import numpy as np
            bad = zipfile.ZipFile(sys.argv[1]).testzip()
            z = np.load(sys.argv[1])
            w = z["lstm.0.fwd.W_f"]
            want = (np.arange(30000) % 977).astype(np.float32) * np.float32(0.125) - np.float32(7)
            print("CODES " + json.dumps([0 if bad is None else 1, 0 if sorted(z.files) == ["loss", "lstm.0.fwd.W_f"] else 1,
                                         0 if w.dtype == np.float32 and w.shape == (100, 300) and (w.ravel() == want).all() else 1,
                                         0 if z["loss"].dtype == np.float64 and float(z["loss"]) == 0.125 else 1]))
            """
        let r = try TestPython.runCodes(["-c", script, url.path], label: "numpy")
        #expect(r.codes == [0, 0, 0, 0], "\(r.output)")
    }
}
