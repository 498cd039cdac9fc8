import Foundation
import Testing
@testable import LSTMFormat

/// Runs the built `lstm-format` binary as a user would.
enum CLI {
    static let binary: URL = {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("lstm-format"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("lstm-format"),
            FixturePaths.repoRoot.appendingPathComponent(".build/debug/lstm-format"),
        ].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], in folder: URL? = nil) throws -> Result {
        try launch(binary, arguments, environment: environment, in: folder)
    }

    /// `run` under GNU time (`/usr/bin/time`, which scripts/setup.sh installs): the command's result, with
    /// time's own line taken off stderr, and the whole process tree's peak RSS in kilobytes.
    static func runMeasuringPeakRSS(_ arguments: [String], environment: [String: String] = [:]) throws -> (result: Result, peakKB: Int) {
        var r = try launch(URL(fileURLWithPath: "/usr/bin/time"), ["-f", "maxrss=%M", binary.path] + arguments, environment: environment)
        var lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        while lines.last == "" { lines.removeLast() }
        let kilobytes = try #require(lines.last.flatMap { $0.hasPrefix("maxrss=") ? Int($0.dropFirst(7)) : nil }, "\(r.stderr)")
        r.stderr = lines.dropLast().map { $0 + "\n" }.joined()
        return (r, kilobytes)
    }

    private static func launch(_ executable: URL, _ arguments: [String], environment: [String: String], in folder: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = executable
        if let folder { p.currentDirectoryURL = folder }
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite(.serialized) struct CLITests {
    let demo = FixturePaths.fixture("demo/model.h5").path

    @Test func convertRoundTripIsByteIdentical() throws {
        let dir = try FixturePaths.temporaryFolder()
        let a = dir.appendingPathComponent("a.lstm").path, h = dir.appendingPathComponent("m.h5").path, b = dir.appendingPathComponent("b.lstm").path
        #expect(try CLI.run(["convert", demo, a]).status == 0)
        #expect(try CLI.run(["convert", a, h]).status == 0)
        #expect(try CLI.run(["convert", h, b]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
        // The content decides the input format, not the name.
        let disguised = dir.appendingPathComponent("model.bin").path
        try FileManager.default.copyItem(atPath: a, toPath: disguised)
        let r = try CLI.run(["inspect", disguised])
        #expect(r.status == 0 && r.stdout.contains("format  lstm"))
    }

    @Test(arguments: ["flip", "truncate"])
    func damagedCompactFileFailsWithoutOutput(damage: String) throws {
        let dir = try FixturePaths.temporaryFolder()
        let good = dir.appendingPathComponent("good.lstm")
        #expect(try CLI.run(["convert", demo, good.path]).status == 0)
        var bytes = try Data(contentsOf: good)
        if damage == "flip" { bytes[bytes.count - 3] ^= 0x10 } else { bytes = bytes.prefix(bytes.count - 100) }
        let bad = dir.appendingPathComponent("bad.lstm")
        try bytes.write(to: bad)
        let out = dir.appendingPathComponent("out.h5")
        let r = try CLI.run(["convert", bad.path, out.path])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("lstm-format: \(bad.path): "), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func failedConvertLeavesExistingOutputUntouched() throws {
        let dir = try FixturePaths.temporaryFolder()
        let out = dir.appendingPathComponent("keep.lstm")
        try Data("precious".utf8).write(to: out)
        let garbage = dir.appendingPathComponent("garbage.h5")
        try Data(repeating: 7, count: 300).write(to: garbage)
        let r = try CLI.run(["convert", garbage.path, out.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("not a model file"))
        #expect(try Data(contentsOf: out) == Data("precious".utf8))
    }

    /// The text report says how a model reads its input and treats masked steps (M17–M19), not only the JSON.
    @Test func inspectTextNamesEmbeddingMaskingAndMaskedOutputs() throws {
        let masking = try CLI.run(["inspect", FixturePaths.fixture("keras-masking/masking-layer/masking_k3.keras").path])
        #expect(masking.status == 0)
        #expect(masking.stdout.contains("masking: a step whose features all equal 0.0 is masked"))
        #expect(masking.stdout.contains("lstm.0 at a masked step: carries h and C over, outputs the carried h"))
        #expect(!masking.stdout.contains("embedding:"))
        let zeroed = try CLI.run(["inspect", FixturePaths.fixture("keras-masking/generated/keras3_zero_output_for_mask/model.keras").path])
        #expect(zeroed.status == 0)
        #expect(zeroed.stdout.contains("input token ids -> output 2"))
        #expect(zeroed.stdout.contains("embedding: token ids 0…5 -> rows of embedding.E [6, 3]; id 0 masks its step"))
        #expect(zeroed.stdout.contains("lstm.0 at a masked step: carries h and C over, outputs 0 (zero_output_for_mask)"))
        let plain = try CLI.run(["inspect", demo])
        #expect(plain.status == 0)
        #expect(!plain.stdout.contains("masked") && !plain.stdout.contains("embedding:"))
    }

    @Test func inspectJSONHasTheDocumentedKeys() throws {
        let r = try CLI.run(["inspect", demo, "--json"])
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["file", "format", "architecture", "parameter_count", "tensors", "metadata"])
        let arch = try #require(json["architecture"] as? [String: Any])
        #expect(Set(arch.keys) == ["layers", "return_sequences", "dense", "embedding", "mask_value"])
        #expect(arch["embedding"] is NSNull && arch["mask_value"] is NSNull, "no embedding, no mask: null")
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(Set(tensors[0].keys) == ["name", "dtype", "shape", "crc32", "crc32_verified"])
        #expect(tensors[0]["crc32"] is NSNull && tensors[0]["crc32_verified"] as? Bool == false, "M3: an HDF5 file's data is not read")
        #expect(tensors[0]["name"] as? String == "lstm.0.fwd.W_f")
        let layer = try #require((arch["layers"] as? [[String: Any]])?.first)
        #expect(Set(layer.keys) == ["input_size", "hidden_size", "direction", "merge_mode", "gate_activation", "cell_activation",
                                    "zero_output_for_mask"])
        #expect(layer["merge_mode"] is NSNull, "a forward layer has merge_mode null")
    }

    @Test func usageMistakesExit64WithOneLine() throws {
        let unknown = try CLI.run(["convert", demo, "/tmp/x.out", "--to", "nope"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.hasPrefix("lstm-format: unknown format 'nope'") && unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
        let missing = try CLI.run(["verify", demo, "--expect", "y.npy"])
        #expect(missing.status == 64)
        #expect(missing.stderr == "lstm-format: --expect needs --inputs (see 'lstm-format help')\n")
        // Help is still the full text, with exit 0.
        let help = try CLI.run(["convert", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: lstm-format convert"))
    }

    @Test func nonFiniteInputsAreRefused() throws {
        let dir = try FixturePaths.temporaryFolder()
        let x = dir.appendingPathComponent("x.npy")
        var values = [Double](repeating: 0.5, count: 2 * 3 * 3)
        values[4] = .nan  // [0, 1, 1]
        try NumPy.writeNPY(Tensor(shape: [2, 3, 3], float64: values), to: x)
        let out = dir.appendingPathComponent("y.npy")
        let r = try CLI.run(["forward", demo, "--inputs", x.path, "--output", out.path])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(x.path): the inputs hold a non-finite value at [0, 1, 1]\n")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func verifyExitsOneWhenAnExpectedValueIsWrong() throws {
        let ref = FixturePaths.fixture("reference/seed_many_to_many")
        let model = ref.appendingPathComponent("model.h5").path, x = ref.appendingPathComponent("x.npy").path
        let good = try CLI.run(["verify", model, "--inputs", x, "--expect", ref.appendingPathComponent("y.npy").path, "--precision", "float64"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("PASS"))
        let y = try NumPy.readNPY(ref.appendingPathComponent("y.npy"))
        var v = y.float64Values()
        v[0] += 0.01
        let dir = try FixturePaths.temporaryFolder()
        let wrong = dir.appendingPathComponent("wrong.npy")
        try NumPy.writeNPY(Tensor(shape: y.shape, float64: v), to: wrong)
        let bad = try CLI.run(["verify", model, "--inputs", x, "--expect", wrong.path, "--json"])
        #expect(bad.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        #expect(json["passed"] as? Bool == false)
        let checks = try #require(json["checks"] as? [[String: Any]])
        let outputs = try #require(checks.first { $0["name"] as? String == "outputs" })
        #expect(outputs["passed"] as? Bool == false)
        #expect(outputs["location"] as? String == "outputs[0, 0, 0]")
        #expect(Set(outputs.keys) == ["name", "passed", "max_abs_error", "max_rel_error", "location", "tolerance", "detail"])
    }

    @Test func compareExitsZeroForAConversionAndOneForAMovedWeight() throws {
        let dir = try FixturePaths.temporaryFolder()
        let keras = FixturePaths.fixture("keras/k3_bidi_concat_seq/model.keras").path
        let lstm = dir.appendingPathComponent("m.lstm").path
        #expect(try CLI.run(["convert", keras, lstm]).status == 0)
        let same = try CLI.run(["compare", keras, lstm])
        #expect(same.status == 0, "\(same.stdout)")
        #expect(same.stdout.contains("exact: bitwise-equal values"))
        // Move one weight by 1e-3 through the library and compare again.
        let m = try FormatRegistry.read(URL(fileURLWithPath: lstm)).model
        let w = m.tensors["dense.0.V"]!
        var v = w.float64Values()
        v[0] += 1e-3
        let moved = dir.appendingPathComponent("moved.lstm")
        try FormatRegistry.write(try m.replacing(["dense.0.V": Tensor(shape: w.shape, values: v, dtype: w.dtype)]), to: moved)
        let diff = try CLI.run(["compare", lstm, moved.path])
        #expect(diff.status == 1)
        #expect(diff.stdout.contains("FAIL"))
    }

    @Test func unsupportedKerasLayerIsRefusedWithNothingWritten() throws {
        let dir = try FixturePaths.temporaryFolder()
        let out = dir.appendingPathComponent("gru.lstm")
        let r = try CLI.run(["convert", FixturePaths.fixture("keras/r_gru/model.keras").path, out.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'gru'") && r.stderr.contains("GRU"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Fixtures/damaged/ holds two files found by scripts/fuzz_cli.py on which libhdf5 1.10 itself crashes
    /// (SIGSEGV in its global heap) or never returns. The command reads HDF5 in a child process, so both are a
    /// one-line error with exit 2.
    @Test func libhdf5CrashIsAOneLineError() throws {
        let file = FixturePaths.fixture("damaged/libhdf5-segfault.h5").path
        let r = try CLI.run(["convert", file, "/tmp/never-written-\(UUID().uuidString).lstm"])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(file): libhdf5 crashed while reading this file (signal 11): the file is damaged or not valid HDF5\n")
    }

    @Test func libhdf5HangIsCutOffByTheTimeLimit() throws {
        let file = FixturePaths.fixture("damaged/libhdf5-hang.h5").path
        let start = Date()
        let r = try CLI.run(["inspect", file], environment: ["LSTMFORMAT_READ_TIMEOUT": "2"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("lstm-format: \(file): reading did not finish within 2 s"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(start) < 30)
    }
}

/// The command line maps library hints to its flags and passes `--architecture` (`Spec/layout.md`, O2, O4).
@Suite(.serialized) struct CLIHintTests {
    @Test func architectureFlagCompletesAWeightsOnlyFile() throws {
        let (full, weights) = try FormatOptionsTests.weightsAndFull()
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try CLI.run(["inspect", full.path, "--json"])
        #expect(report.status == 0)
        let arch = folder.appendingPathComponent("arch.json")
        try Data(report.stdout.utf8).write(to: arch)
        let out = folder.appendingPathComponent("m.lstm")
        let r = try CLI.run(["convert", weights.path, out.path, "--architecture", arch.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("note"), "\(r.stderr)")
        let same = try CLI.run(["compare", full.path, out.path])
        #expect(same.status == 0, "\(same.stdout)")
        let bad = folder.appendingPathComponent("bad.json")
        try Data("{\"layers\": 3}".utf8).write(to: bad)
        let refused = try CLI.run(["inspect", weights.path, "--architecture", bad.path])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("lstm-format: \(bad.path): not a canonical architecture"), "\(refused.stderr)")
    }

    @Test func hintsBecomeFlags() throws {
        let (_, weights) = try FormatOptionsTests.weightsAndFull()
        let note = try CLI.run(["inspect", weights.path])
        #expect(note.stderr.contains("; pass the model's Keras JSON config with --config\n"), "\(note.stderr)")
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let suffix = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, folder.appendingPathComponent("m.out").path])
        #expect(suffix.status == 64)  // U5: a usage mistake, found before reading
        #expect(suffix.stderr.hasSuffix("/m.out': name it .lstm, .h5, .hdf5, .keras, .weights.h5, .safetensors, .pt, .pth, .onnx, or pass --to (see 'lstm-format help')\n"), "\(suffix.stderr)")
        let bf16 = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, folder.appendingPathComponent("m.h5").path, "--to", "keras-h5", "--dtype", "bfloat16"])
        #expect(bf16.status == 2)
        #expect(bf16.stderr.hasSuffix("Keras cannot load bfloat16 weights; convert with --dtype float32 (exact)\n"), "\(bf16.stderr)")
    }
}

/// A new user's PyTorch session (`Spec/pytorch-mapping.md`): convert torch.save files, forward, refusals.
@Suite(.serialized) struct CLIPyTorchTests {
    @Test func convertCheckpointThenForwardReproducesPyTorch() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (id, file, extra) in [("checkpoint", "model.pt", ["--key", "model_state_dict"]), ("bilstm2_shared_storage", "model.pt", []),
                                  ("lstm2_last_tanh", "model.safetensors", [])] {
            let dir = FixturePaths.fixture("pytorch/\(id)")
            let out = folder.appendingPathComponent("\(id).lstm"), y = folder.appendingPathComponent("\(id).y.npy")
            let c = try CLI.run(["convert", dir.appendingPathComponent(file).path, out.path, "--architecture", dir.appendingPathComponent("arch.json").path] + extra)
            #expect(c.status == 0, "\(id): \(c.stderr)")
            let f = try CLI.run(["forward", out.path, "--inputs", dir.appendingPathComponent("x.npy").path, "--output", y.path])
            #expect(f.status == 0, "\(id): \(f.stderr)")
            let got = try NumPy.readNPY(y).float64Values(), want = try NumPy.readNPY(dir.appendingPathComponent("y.npy")).float64Values()
            #expect(got.count == want.count && zip(got, want).allSatisfy { abs($0 - $1) <= 1e-5 * abs($1) + 1e-6 }, "\(id)")
        }
        let bad = try CLI.run(["inspect", FixturePaths.fixture("pytorch/checkpoint/model.pt").path, "--key", "optimizer_state_dict"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasSuffix("checkpoint entry 'optimizer_state_dict' is not a dict of tensors; pass --key\n"), "\(bad.stderr)")
        let evil = try CLI.run(["convert", FixturePaths.fixture("pytorch/refused/os_system.pt").path, folder.appendingPathComponent("x.lstm").path])
        #expect(evil.status == 2)
        #expect(evil.stderr.contains("posix.system"), "\(evil.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.lstm").path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/lstm-format-pwned"))
    }
}
