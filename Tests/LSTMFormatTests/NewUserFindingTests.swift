import Foundation
import Testing
@testable import LSTMFormat

/// What a new user ran into (issue 12, small findings): truncated archives, ambiguous torch.save archives,
/// TensorFlow checkpoints, repeated options, bad limit variables, negative tolerances and misnamed outputs
/// (`Spec/reliability.md` Z6, U1–U4; `Spec/pytorch-mapping.md` P-Z1).
@Suite(.serialized) struct NewUserFindingTests {
    let demo = FixturePaths.fixture("demo/model.h5").path

    func inFolder(_ body: (URL) throws -> Void) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    /// Z6: a .keras cut short (no central directory) is a truncated or damaged zip, in the library and the CLI.
    @Test func Z6_aTruncatedKerasArchiveIsCalledTruncated() throws {
        try inFolder { folder in
            let whole = try Data(contentsOf: FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras"))
            let url = folder.appendingPathComponent("cut.keras")
            try whole.prefix(whole.count / 2).write(to: url)
            let error = #expect(throws: FileError.self) { _ = try FormatRegistry.read(url) }
            #expect(error?.underlying as? FormatError == .unreadableZip("no end of central directory record"))
            let r = try CLI.run(["inspect", url.path])
            #expect(r.status == 2)
            #expect(r.stderr == "lstm-format: \(url.path): a zip archive (the container of .keras, .npz and torch.save files) whose central directory cannot be read: no end of central directory record; the file is truncated or damaged\n")
        }
    }

    /// P-Z1: a torch.save archive with two data.pkl members is refused naming both (and two members of one name
    /// as a duplicate), not as "not a model file".
    @Test func P_Z1_twoDataPklMembersAreNamed() throws {
        try inFolder { folder in
            let pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x2E]  // protocol 2, {}, STOP
            for (names, expected) in [(["a/data.pkl", "b/data.pkl"], "2 data.pkl members (a/data.pkl, b/data.pkl); a torch.save archive has exactly one"),
                                      (["archive/data.pkl", "archive/data.pkl"], nil)] {
                var zip = ZipBuilder()
                for n in names { zip.stored(n, pickle, crc32: CRC32.checksum(Data(pickle))) }
                let url = folder.appendingPathComponent("two.pt")
                try Data(zip.bytes()).write(to: url)
                let error = #expect(throws: FileError.self) { _ = try FormatRegistry.read(url) }
                if let expected {
                    #expect(error?.underlying as? TorchArchiveError == .layout(expected))
                } else {
                    #expect(error?.underlying as? ZipError == .duplicateMember("archive/data.pkl"))
                }
            }
        }
    }

    /// U1: an option given twice with different values is a usage mistake naming both; with the same value it is
    /// accepted. Nothing is written.
    @Test func U1_anOptionGivenTwiceWithDifferentValuesIsRefused() throws {
        try inFolder { folder in
            let out = folder.appendingPathComponent("m.lstm").path
            let r = try CLI.run(["convert", demo, out, "--dtype", "float16", "--dtype", "float32"])
            #expect(r.status == 64)
            #expect(r.stderr == "lstm-format: --dtype is given twice with different values ('float16' and 'float32'); give it once (see 'lstm-format help')\n")
            let eq = try CLI.run(["convert", demo, out, "--to=hdf5", "--to", "lstm"])
            #expect(eq.status == 64)
            #expect(eq.stderr == "lstm-format: --to is given twice with different values ('hdf5' and 'lstm'); give it once (see 'lstm-format help')\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [])
            let same = try CLI.run(["convert", demo, out, "--dtype", "float16", "--compress", "--dtype=float16"])
            #expect(same.status == 0, "\(same.stderr)")
            #expect(try FormatRegistry.read(URL(fileURLWithPath: out)).model.dtypes == [.float16])
        }
    }

    /// U2: invalid limit variables are usage mistakes naming the variable and the accepted form.
    @Test(arguments: [("LSTMFORMAT_MEMORY_BUDGET", "lots", "is not a byte count: give bytes with an optional K, M, G or T suffix (powers of 1024), e.g. 8G"),
                      ("LSTMFORMAT_MEMORY_BUDGET", "8GB", "is not a byte count: give bytes with an optional K, M, G or T suffix (powers of 1024), e.g. 8G"),
                      ("LSTMFORMAT_READ_TIMEOUT", "-5", "is not a time limit: give a positive number of seconds, e.g. 120"),
                      ("LSTMFORMAT_READ_TIMEOUT", "soon", "is not a time limit: give a positive number of seconds, e.g. 120")])
    func U2_anInvalidLimitVariableIsAUsageMistake(variable: String, value: String, reason: String) throws {
        let r = try CLI.run(["inspect", demo], environment: [variable: value])
        #expect(r.status == 64)
        #expect(r.stderr == "lstm-format: \(variable)='\(value)' \(reason) (see 'lstm-format help')\n")
        #expect(r.stdout.isEmpty)
        #expect(try CLI.run(["inspect", demo], environment: ["LSTMFORMAT_MEMORY_BUDGET": "8g", "LSTMFORMAT_READ_TIMEOUT": "2.5"]).status == 0)
    }

    /// U3: `--rtol -1` is refused as negative, not as a missing value.
    @Test func U3_aNegativeToleranceIsCalledNegative() throws {
        for (option, command) in [("--rtol", "verify"), ("--atol", "compare")] {
            let r = try CLI.run(command == "verify" ? [command, demo, option, "-1"] : [command, demo, demo, option, "-1"])
            #expect(r.status == 64)
            #expect(r.stderr == "lstm-format: \(option) must be a finite non-negative number, not -1.0 (see 'lstm-format help')\n")
        }
        #expect(try CLI.run(["verify", demo, "--rtol", "1e-3"]).status == 0)
    }

    /// U4: forward writing .npy bytes under a .npz name (and gradients the other way) is refused; nothing written.
    @Test func U4_anOutputNamedForTheOtherNumPyFormatIsRefused() throws {
        try inFolder { folder in
            let ref = FixturePaths.fixture("reference/seed_many_to_many")
            let model = ref.appendingPathComponent("model.h5").path, x = ref.appendingPathComponent("x.npy").path
            let y = folder.appendingPathComponent("y.npz").path, g = folder.appendingPathComponent("g.npy").path
            let f = try CLI.run(["forward", model, "--inputs", x, "--output", y])
            #expect(f.status == 64)
            #expect(f.stderr == "lstm-format: --output '\(y)' names a .npz file, but this command writes .npy; name it *.npy (see 'lstm-format help')\n")
            let t = ref.appendingPathComponent("t.npy").path
            let r = try CLI.run(["gradients", model, "--inputs", x, "--targets", t, "--output", g])
            #expect(r.status == 64)
            #expect(r.stderr == "lstm-format: --output '\(g)' names a .npy file, but this command writes .npz; name it *.npz (see 'lstm-format help')\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [])
        }
    }
}
