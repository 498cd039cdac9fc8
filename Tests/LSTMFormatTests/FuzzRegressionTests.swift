import Foundation
import Testing
@testable import LSTMFormat

/// Regression tests for the findings of scripts/fuzz_cli.py: each builds the damaged input by hand and expects
/// the specific error (never a crash), naming the file the user has to fix.
@Suite struct VerifierGoldenDataTests {
    /// LSTM(3 -> 4) many-to-many, dense 4 -> 2: outputs [batch, steps, 2].
    let model = RandomModels.make(architecture: RandomModels.architecture(), dtype: .float64, seed: 11)
    let x = RandomModels.inputs(batch: 2, steps: 3, features: 3, seed: 12)
    var t: Tensor { RandomModels.inputs(batch: 2, steps: 3, features: 2, seed: 13) }

    func expectedGradients(loss: Tensor) -> [String: Tensor] {
        var arrays = Dictionary(uniqueKeysWithValues: model.orderedTensors.map { ($0.name, Tensor(shape: $0.tensor.shape, float64: Array(repeating: 0, count: $0.tensor.elementCount))) })
        arrays["loss"] = loss
        return arrays
    }

    @Test func aLossOfSeveralValuesIsAShapeErrorNotACrash() throws {
        let golden = Verifier.Golden(inputs: x, targets: t, expectedGradients: expectedGradients(loss: Tensor(shape: [3], float64: [1, 2, 3])))
        #expect(throws: VerifyError.shapeMismatch(what: "loss", in: .expectedGradients, actual: [], expected: [3])) {
            try Verifier.verify(model, file: "m", golden: golden, precision: .float64, tolerance: nil)
        }
    }

    @Test func aLossOfOneValueInAnyShapeIsCompared() throws {
        let golden = Verifier.Golden(inputs: x, targets: t, expectedGradients: expectedGradients(loss: Tensor(shape: [1, 1], float64: [1e9])))
        let report = try Verifier.verify(model, file: "m", golden: golden, precision: .float64, tolerance: nil)
        let loss = try #require(report.checks.first { $0.name == "loss" })
        #expect(!loss.passed, "a loss of 1e9 cannot match")
    }

    @Test func aMissingGradientNamesTheTensorAndTheGradientFile() throws {
        var arrays = expectedGradients(loss: Tensor(shape: [], float64: [0]))
        arrays["lstm.0.fwd.U_c"] = nil
        let golden = Verifier.Golden(inputs: x, targets: t, expectedGradients: arrays)
        let error = #expect(throws: VerifyError.self) { try Verifier.verify(model, file: "m", golden: golden, precision: .float64, tolerance: nil) }
        #expect(error == .missingGradient("lstm.0.fwd.U_c"))
        #expect(error?.source == .expectedGradients)
    }

    @Test func inputsTheNumericsRefuseAreBlamedOnTheInputs() throws {
        let wrongFeatures = RandomModels.inputs(batch: 2, steps: 3, features: 5, seed: 14)
        let golden = Verifier.Golden(inputs: wrongFeatures, expectedOutputs: Tensor(shape: [2, 3, 2], float64: Array(repeating: 0, count: 12)))
        let error = #expect(throws: VerifyError.self) { try Verifier.verify(model, file: "m", golden: golden, precision: .float64, tolerance: nil) }
        #expect(error?.source == .inputs)
    }
}

@Suite(.serialized) struct CLIErrorNamesTheFileTests {
    let ref = FixturePaths.fixture("reference/seed_many_to_many")

    @Test func verifyWithExpectedOutputsOfTheWrongShapeNamesTheExpectFile() throws {
        let dir = try FixturePaths.temporaryFolder()
        let y = dir.appendingPathComponent("y-wrong.npy")
        try NumPy.writeNPY(Tensor(shape: [2, 6, 3], float64: Array(repeating: 0, count: 36)), to: y)
        let r = try CLI.run(["verify", ref.appendingPathComponent("model.h5").path, "--inputs", ref.appendingPathComponent("x.npy").path, "--expect", y.path])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(y.path): outputs: computed shape [2, 6, 2] but the expected array has shape [2, 6, 3]\n")
    }

    @Test func verifyWithANonScalarLossNamesTheGradientFile() throws {
        let dir = try FixturePaths.temporaryFolder()
        let expected = try NumPy.readNPZ(ref.appendingPathComponent("expected.npz"))
        let npz = dir.appendingPathComponent("g.npz")
        let arrays = expected.keys.sorted().map { name in
            (name: name, tensor: name == "loss" ? Tensor(shape: [3], float64: [1, 2, 3]) : expected[name]!)
        }
        try NumPy.writeNPZ(arrays, to: npz)
        let r = try CLI.run(["verify", ref.appendingPathComponent("model.h5").path, "--inputs", ref.appendingPathComponent("x.npy").path,
                             "--targets", ref.appendingPathComponent("t.npy").path, "--expect-gradients", npz.path])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(npz.path): loss: computed shape [] but the expected array has shape [3]\n")
    }
}

@Suite struct KerasConfigErrorNamesTheConfigTests {
    /// A Keras 3 `.weights.h5` written by our exporter from a small LSTM(3 -> 4), dense 4 -> 2 model.
    func weightsFile() throws -> URL {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("model.weights.h5")
        try FormatRegistry.write(RandomModels.make(architecture: RandomModels.architecture(returnSequences: false), seed: 21), to: url)
        return url
    }

    @Test func aConfigThatIsNotJSONIsBlamedOnTheConfigFile() throws {
        let weights = try weightsFile()
        let options = ReadOptions(formatOptions: FormatOptions(KerasReadOptions(config: Data("{\"class_name\": ".utf8), configPath: "/data/config.json")))
        let error = #expect(throws: FileError.self) { try FormatRegistry.read(weights, options: options) }
        #expect(error?.path == "/data/config.json")
        #expect(error?.underlying as? KerasError == .invalidConfig("the config is not valid JSON"))
    }

    @Test func theCLINamesTheConfigFileForANegativeUnitsCount() throws {
        let weights = try weightsFile()
        let config = weights.deletingLastPathComponent().appendingPathComponent("config.json")
        let json = #"{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 5, 3]}}, {"class_name": "LSTM", "config": {"name": "lstm", "units": -4}}]}}"#
        try Data(json.utf8).write(to: config)
        let out = weights.deletingLastPathComponent().appendingPathComponent("out.lstm")
        let r = try CLI.run(["convert", weights.path, out.path, "--config", config.path])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(config.path): not a usable Keras model config: layer 'lstm': units missing or not positive\n")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

@Suite struct ZipMemberChecksumTests {
    /// Flips one bit of the first occurrence of `needle` in the file (members are stored, not deflated).
    func flip(_ needle: [UInt8], in url: URL) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let at = try #require((0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) })
        bytes[at + 1] ^= 0x08
        try Data(bytes).write(to: url)
    }

    @Test func aDamagedConfigInsideAKerasArchiveIsAnErrorNotAnotherModel() throws {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("m.keras")
        try FormatRegistry.write(RandomModels.make(architecture: RandomModels.architecture(), seed: 31), to: url)
        try flip(Array(#""activation""#.utf8), in: url)  // "activation" -> "ahtivation": valid JSON, key gone
        let error = #expect(throws: FileError.self) { try FormatRegistry.read(url) }
        guard case .checksumMismatch(let member, let recorded, let actual)? = error?.underlying as? ZipError else {
            Issue.record("expected a CRC-32 mismatch, got \(String(describing: error))")
            return
        }
        #expect(member == "config.json")
        #expect(recorded != actual)
    }

    @Test func aDamagedArrayInsideAnNPZIsAnError() throws {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("g.npz")
        try NumPy.writeNPZ([(name: "x", tensor: Tensor(shape: [2], float64: [1.5, -2.25]))], to: url)
        try flip(withUnsafeBytes(of: (-2.25).bitPattern.littleEndian, Array.init), in: url)
        let error = #expect(throws: FileError.self) { try NumPy.readNPZ(url) }
        #expect(error?.path == url.path)
        guard case .checksumMismatch(let member, _, _)? = error?.underlying as? ZipError else {
            Issue.record("expected a CRC-32 mismatch, got \(String(describing: error))")
            return
        }
        #expect(member == "x.npy")
    }
}

@Suite struct OutputFolderTests {
    @Test func writingIntoAMissingFolderSaysSoInOneLine() throws {
        let folder = try FixturePaths.temporaryFolder().appendingPathComponent("no-such-folder")
        let out = folder.appendingPathComponent("y.npy")
        let error = #expect(throws: FileError.self) { try NumPy.writeNPY(Tensor(shape: [1], float64: [1]), to: out) }
        #expect(error?.path == out.path)
        #expect(error?.underlying as? IOProblem == .cannotWrite("the folder \(folder.path) does not exist"))
    }

    @Test func theCLIReportsAMissingOutputFolderWithoutAnNSErrorDump() throws {
        let folder = try FixturePaths.temporaryFolder().appendingPathComponent("absent")
        let out = folder.appendingPathComponent("m.lstm").path
        let r = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, out])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(out): cannot write: the folder \(folder.path) does not exist\n")
    }
}

@Suite struct KerasConfigBooleanOptionTests {
    func config(lstmOptions: String) -> Data {
        let head = #"{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 5, 3]}}, {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "#
        return Data((head + lstmOptions + "}}]}}").utf8)
    }

    @Test(arguments: [(#""go_backwards": "true""#, "go_backwards", "a string"),
                      (#""return_sequences": [true]"#, "return_sequences", "a list"),
                      (#""use_bias": {"value": false}"#, "use_bias", "an object"),
                      (#""stateful": "yes""#, "stateful", "a string")])
    func aWronglyTypedFlagIsAnErrorNotItsDefault(option: String, key: String, kind: String) throws {
        #expect(throws: KerasError.invalidConfig("layer 'lstm': \(key) must be true or false, not \(kind)")) {
            try KerasConfig.parse(config(lstmOptions: option), generation: .keras3)
        }
    }

    @Test func aNullFlagTakesTheKerasDefault() throws {
        let plan = try KerasConfig.parse(config(lstmOptions: #""go_backwards": null, "use_bias": false"#), generation: .keras3)
        let lstm = plan.layers.compactMap { if case .lstm(let c) = $0.kind { c } else { nil } }
        #expect(lstm.map(\.goBackwards) == [false])
        #expect(lstm.map(\.useBias) == [false])
    }
}

@Suite struct InputPathTests {
    @Test(.timeLimit(.minutes(5))) func aDirectoryGivenAsNPZIsRefusedNotScannedForever() throws {
        let folder = try FixturePaths.temporaryFolder()
        let error = #expect(throws: FileError.self) { try NumPy.readNPZ(folder) }
        #expect(error?.path == folder.path)
        #expect(error?.underlying as? IOProblem == .cannotOpen("is a directory"))
    }

    @Test func aMissingNPYSaysNoSuchFile() throws {
        let missing = try FixturePaths.temporaryFolder().appendingPathComponent("x.npy")
        let error = #expect(throws: FileError.self) { try NumPy.readNPY(missing) }
        #expect(error?.underlying as? IOProblem == .cannotOpen("No such file or directory"))
    }

    @Test func theCLINamesAMissingConfigFileInOneLine() throws {
        let missing = try FixturePaths.temporaryFolder().appendingPathComponent("config.json").path
        let r = try CLI.run(["inspect", FixturePaths.fixture("keras/k3_lstm_last_dense/model.weights.h5").path, "--config", missing])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(missing): cannot open: No such file or directory\n")
    }
}

/// Findings of the libFuzzer targets (`scripts/fuzz.sh`, Fuzz/Sources/lstm-fuzz): each crashing input is committed
/// under Fixtures/fuzz/ and replayed here against the property that failed.
@Suite struct LibFuzzerFindingTests {
    /// pickle target: a state dict with a [32, 486539272] tensor (15,569,256,704 elements) was written back with
    /// its element count cut to 4 bytes, so our own pickle no longer loaded (P-W5).
    @Test func ruleW5APickleWithMoreThan2To31ElementsIsWrittenWithItsTrueSize() throws {
        let original = try TorchCheckpoint.stateDict(RestrictedUnpickler.load(Data(contentsOf: FixturePaths.fixture("fuzz/pickle-numel-over-int32.pkl"))), key: nil)
        let entries = original.entries.map { e -> (name: String, dtype: DType, shape: [Int]) in
            guard case .string(let name) = e.key, case .tensor(let ref) = e.value else { return ("", .float32, []) }
            return (name, .float32, ref.size)
        }
        let written = TorchPickleWriter.stateDict(entries, metadata: [:])
        // pickle.dumps(15569256704, protocol=2) in Python 3: LONG1, 5 bytes.
        #expect(written.range(of: Data([0x8A, 0x05, 0x00, 0x01, 0x00, 0xA0, 0x03])) != nil)
        let back = try TorchCheckpoint.stateDict(RestrictedUnpickler.load(written), key: nil)
        guard case .tensor(let ref)? = back["lstm_1.weight_ih_l0"] else { Issue.record("lstm_1.weight_ih_l0 is missing"); return }
        #expect(ref.size == [32, 486_539_272])
        #expect(ref.storage.numel == 15_569_256_704)
        #expect(ref.stride == [486_539_272, 1])
    }

    /// pickle target: a [32, 671088648, 4, 16] view loaded, but the contiguous stride our writer gave it
    /// (42,949,673,472 elements) was over a bound the reader put on every size and stride, so our own file did
    /// not load. Any non-negative stride is read now; the view walk stays overflow-safe (P-Z3, P-W5).
    @Test func ruleZ3AWrittenContiguousStrideBeyond2To35ReadsBack() throws {
        let original = try TorchCheckpoint.stateDict(RestrictedUnpickler.load(Data(contentsOf: FixturePaths.fixture("fuzz/pickle-contiguous-stride-over-limit.pkl"))), key: nil)
        let entries = original.entries.map { e -> (name: String, dtype: DType, shape: [Int]) in
            guard case .string(let name) = e.key, case .tensor(let ref) = e.value else { return ("", .float32, []) }
            return (name, .float32, ref.size)
        }
        let back = try TorchCheckpoint.stateDict(RestrictedUnpickler.load(TorchPickleWriter.stateDict(entries, metadata: [:])), key: nil)
        guard case .tensor(let ref)? = back["lstm_1.weight_ih_l0_reverse"] else { Issue.record("lstm_1.weight_ih_l0_reverse is missing"); return }
        #expect(ref.size == [32, 671_088_648, 4, 16])
        #expect(ref.stride == [42_949_673_472, 64, 16, 1])
    }

    /// A size-1 dimension may have any stride (torch gives them arbitrary ones): the view walk steps past it
    /// and back without overflowing.
    @Test func ruleZ3ASizeOneDimensionWithAHugeStrideMaterializes() throws {
        let storage = TorchStorageRef(className: "torch.FloatStorage", key: "0", numel: 4)
        let ref = TorchTensorRef(storage: storage, offset: 1, size: [1, 2], stride: [Int.max, 2])
        let bytes = Data([Float(10), 11, 12, 13].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        let t = try TorchTensorView.materialize(ref, name: "w", storage: bytes)
        #expect(t == Tensor(shape: [1, 2], float32: [11, 13]))
    }

    /// pickle target (LeakSanitizer): a dict put inside itself through the memo was a reference cycle, leaked
    /// on every load. Refused now (P-P3), as are Python's own self-containing list and dict.
    @Test func ruleP3AContainerInsideItselfIsRefused() throws {
        // pickle.dumps(l, protocol=2) with l.append(l), and d['a'] = d, in Python 3.
        let list: [UInt8] = [128, 2, 93, 113, 0, 104, 0, 97, 46]
        let dict: [UInt8] = [128, 2, 125, 113, 0, 88, 1, 0, 0, 0, 97, 113, 1, 104, 0, 115, 46]
        #expect(throws: PickleError.forbiddenCall("puts a list inside itself")) { try RestrictedUnpickler.load(Data(list)) }
        #expect(throws: PickleError.forbiddenCall("puts a dict inside itself")) { try RestrictedUnpickler.load(Data(dict)) }
        #expect(throws: PickleError.forbiddenCall("puts a dict inside itself")) { try RestrictedUnpickler.load(Data(contentsOf: FixturePaths.fixture("fuzz/pickle-dict-inside-itself.pkl"))) }
    }

    /// The same input first crashed the unpickler itself: LONG1 read its sign byte at an index of the whole pickle
    /// rather than of the argument slice. Bytes: Python 3 `pickle.dumps((2**31, -2**33, 2**63), protocol=2)`.
    @Test func ruleP3Long1IntegersDecodeToPythonsValues() throws {
        let bytes: [UInt8] = [128, 2, 138, 5, 0, 0, 0, 128, 0, 138, 5, 0, 0, 0, 0, 254, 138, 9, 0, 0, 0, 0, 0, 0, 0, 128, 0, 135, 113, 0, 46]
        guard case .tuple(let items, _) = try RestrictedUnpickler.load(Data(bytes)), items.count == 3 else { Issue.record("not a 3-tuple"); return }
        guard case .int(let a) = items[0], case .int(let b) = items[1], case .bigInt = items[2] else { Issue.record("\(items)"); return }
        #expect(a == 2_147_483_648)
        #expect(b == -8_589_934_592)
    }
}
