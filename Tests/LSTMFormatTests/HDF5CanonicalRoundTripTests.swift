import Foundation
import Testing
@testable import LSTMFormat

/// Canonical HDF5 round trips (model → .h5 → model, bit-exact), determinism (H7), compression (H6), and
/// interoperability with h5ls and h5py-written files.
@Suite struct HDF5CanonicalRoundTripTests {
    static func temporaryURL(_ name: String) -> URL {
        FixturePaths.temporaryRoot.appendingPathComponent("hdf5-rt-\(UUID().uuidString)-\(name)")
    }

    static let architectures: [(String, ModelArchitecture)] = {
        func lstm(_ i: Int, _ h: Int, _ d: Direction = .forward, _ m: MergeMode? = nil,
                  gate: Activation = .sigmoid, cell: Activation = .tanh) -> LSTMLayerSpec {
            LSTMLayerSpec(inputSize: i, hiddenSize: h, direction: d, mergeMode: m, gateActivation: gate, cellActivation: cell)
        }
        var list: [(String, ModelArchitecture)] = [
            ("forward many-to-many, no dense", ModelArchitecture(layers: [lstm(3, 4)], returnSequences: true, dense: [])),
            ("backward many-to-one, 1 dense", ModelArchitecture(layers: [lstm(2, 3, .backward)], returnSequences: false,
                                                                dense: [DenseLayerSpec(inputSize: 3, outputSize: 2, activation: .softmax)])),
            ("stacked fwd/bidi concat/bwd, 2 dense", ModelArchitecture(
                layers: [lstm(3, 4), lstm(4, 2, .bidirectional, .concat), lstm(4, 3, .backward)], returnSequences: true,
                dense: [DenseLayerSpec(inputSize: 3, outputSize: 5, activation: .relu), DenseLayerSpec(inputSize: 5, outputSize: 1)])),
        ]
        for merge in MergeMode.allCases {
            let width = merge == .concat ? 6 : 3
            list.append(("bidirectional \(merge)", ModelArchitecture(layers: [lstm(2, 3, .bidirectional, merge)], returnSequences: false,
                                                                   dense: [DenseLayerSpec(inputSize: width, outputSize: 2, activation: .tanh)])))
        }
        let elementwise = Activation.allCases.filter(\.isElementwise)
        for (n, a) in elementwise.enumerated() {
            let other = elementwise[(n + 1) % elementwise.count]
            list.append(("activations \(a)", ModelArchitecture(layers: [lstm(1, 2, gate: a, cell: other)], returnSequences: true,
                                                              dense: [DenseLayerSpec(inputSize: 2, outputSize: 2, activation: a)])))
        }
        return list
    }()

    static let dtypeSets: [[DType]] = [[.float32], [.float64], [.float16], [.bfloat16], [.float32, .float64, .float16, .bfloat16]]
    static let metadata = ["source.tool": "test", "keras.layer_names": "lstm, dense_1", "note": "\u{fc}nicode \u{2713} \u{1F600}", "empty": ""]

    static func roundTrip(_ model: LSTMModel, compress: Bool) throws -> LSTMModel {
        let url = temporaryURL("model.h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try FormatRegistry.write(model, to: url, options: WriteOptions(compress: compress))
        let (read, format) = try FormatRegistry.read(url)
        #expect(format.name == CanonicalHDF5Format.name)
        return read
    }

    @Test(arguments: 0..<architectures.count, [false, true])
    func roundTripIsLosslessForEveryDtype(index: Int, compress: Bool) throws {
        let (label, architecture) = Self.architectures[index]
        for (n, dtypes) in Self.dtypeSets.enumerated() {
            let seed = UInt64(1000 * index + n)
            let model = try RandomModels.model(architecture, dtypes: dtypes, metadata: Self.metadata, seed: seed)
            let back = try Self.roundTrip(model, compress: compress)
            #expect(back == model, "\(label), dtypes \(dtypes), compress \(compress), seed \(seed)")
        }
    }

    @Test func sameModelGivesSameBytes() throws {
        let model = try RandomModels.model(Self.architectures[2].1, dtypes: [.float32, .bfloat16], metadata: Self.metadata, seed: 7)
        for compress in [false, true] {
            let (a, b) = (Self.temporaryURL("a.h5"), Self.temporaryURL("b.h5"))
            defer { for u in [a, b] { try? FileManager.default.removeItem(at: u) } }
            try CanonicalHDF5Format.write(model, to: a, options: WriteOptions(compress: compress))
            Thread.sleep(forTimeInterval: 1.1)  // stored times would now differ
            try CanonicalHDF5Format.write(model, to: b, options: WriteOptions(compress: compress))
            #expect(try Data(contentsOf: a) == Data(contentsOf: b), "compress \(compress)")
        }
    }

    @Test func compressionShrinksRedundantTensors() throws {
        // Zero weights compress well: the compressed file must be clearly smaller (H6).
        let architecture = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 128, hiddenSize: 128)], returnSequences: true, dense: [])
        let zeros = Dictionary(uniqueKeysWithValues: architecture.expectedTensors.map { ($0.name, Tensor.zeros(shape: $0.shape)) })
        let model = try LSTMModel(architecture: architecture, tensors: zeros)
        var sizes: [Bool: Int] = [:]
        for compress in [false, true] {
            let url = Self.temporaryURL("z.h5")
            defer { try? FileManager.default.removeItem(at: url) }
            try CanonicalHDF5Format.write(model, to: url, options: WriteOptions(compress: compress))
            sizes[compress] = try Data(contentsOf: url).count
        }
        let plain = try #require(sizes[false]), packed = try #require(sizes[true])
        #expect(plain > 8 * 128 * 128 * 4)  // the eight float32 matrices are stored whole
        #expect(packed * 4 < plain)
    }

    @Test func unstorableMetadataIsRejected() throws {
        let model = try RandomModels.model(Self.architectures[0].1, dtypes: [.float32], metadata: ["": "x"], seed: 1)
        let url = Self.temporaryURL("bad.h5")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: CanonicalHDF5Error.unstorableMetadata(key: "", reason: "HDF5 attribute names cannot be empty")) {
            try CanonicalHDF5Format.write(model, to: url, options: WriteOptions())
        }
    }

    @Test func h5lsListsAWrittenFile() throws {
        let h5ls = URL(fileURLWithPath: "/usr/bin/h5ls")
        try #require(FileManager.default.isExecutableFile(atPath: h5ls.path), "h5ls (hdf5-tools) is not installed")
        let model = try RandomModels.model(Self.architectures[2].1, dtypes: [.float16, .bfloat16], metadata: Self.metadata, seed: 3)
        let url = Self.temporaryURL("ls.h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try CanonicalHDF5Format.write(model, to: url, options: WriteOptions(compress: true))
        let process = Process()
        process.executableURL = h5ls
        process.arguments = ["-r", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = Set(output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") })
        #expect(lines.contains("/lstm/1/bwd/W_f Dataset {2, 4}"))
        #expect(lines.contains("/dense/1/c Dataset {1}"))
        #expect(lines.contains("/metadata Group"))
    }

    @Test func detectsOnlyCanonicalFiles() throws {
        #expect(CanonicalHDF5Format.matches(try FileProbe(url: HDF5LayerTests.h5pyFixture)) == false)
        #expect(CanonicalHDF5Format.matches(try FileProbe(url: FixturePaths.fixture("hdf5/h5py-canonical.h5"))))
    }

    /// Fixtures/hdf5/h5py-canonical.h5 (scripts/make_hdf5_layer_fixture.py): tensor n of canonical order holds
    /// element i = ((7n + i) mod 16) / 4 - 2.
    @Test func readsAnH5pyWrittenCanonicalFile() throws {
        let url = FixturePaths.fixture("hdf5/h5py-canonical.h5")
        let model = try CanonicalHDF5Format.read(from: url, options: ReadOptions())
        let expected = ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 2, hiddenSize: 3, direction: .bidirectional, mergeMode: .sum, gateActivation: .hardSigmoidKeras3),
                     LSTMLayerSpec(inputSize: 3, hiddenSize: 2, direction: .backward, cellActivation: .relu)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: 2, outputSize: 2, activation: .softmax)])
        #expect(model.architecture == expected)
        #expect(model.metadata == ["source.tool": "make_hdf5_layer_fixture.py", "note": "\u{fc}nicode \u{2713}"])
        let dtypes: [DType] = Array(repeating: .float32, count: 24) + Array(repeating: .float64, count: 12) + [.bfloat16, .float16]
        for (n, entry) in model.orderedTensors.enumerated() {
            #expect(entry.tensor.dtype == dtypes[n], "\(entry.name)")
            let values = (0..<entry.tensor.elementCount).map { Double((7 * n + $0) % 16) / 4 - 2 }
            #expect(entry.tensor.float64Values() == values, "\(entry.name)")
        }
    }
}
