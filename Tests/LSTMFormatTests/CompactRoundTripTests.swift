import Foundation
import Testing
@testable import LSTMFormat

/// One architecture variant of the round-trip matrix.
struct ArchitectureCase: Sendable, CustomTestStringConvertible {
    let name: String
    let architecture: ModelArchitecture
    var testDescription: String { name }

    static let all: [ArchitectureCase] = {
        let lstm = { (i: Int, h: Int, d: Direction, m: MergeMode?) in LSTMLayerSpec(inputSize: i, hiddenSize: h, direction: d, mergeMode: m) }
        var cases = [
            ArchitectureCase(name: "forward many-to-many, no dense",
                             architecture: .init(layers: [lstm(3, 4, .forward, nil)], returnSequences: true, dense: [])),
            ArchitectureCase(name: "backward many-to-one, 1 dense",
                             architecture: .init(layers: [lstm(2, 5, .backward, nil)], returnSequences: false,
                                                 dense: [.init(inputSize: 5, outputSize: 3, activation: .softmax)])),
            ArchitectureCase(name: "stacked forward/backward/bidirectional, 2 dense",
                             architecture: .init(layers: [lstm(3, 4, .forward, nil), lstm(4, 3, .backward, nil), lstm(3, 2, .bidirectional, .concat)],
                                                 returnSequences: true,
                                                 dense: [.init(inputSize: 4, outputSize: 6, activation: .relu), .init(inputSize: 6, outputSize: 2)])),
        ]
        for mode in MergeMode.allCases {
            let h = 3
            let out = mode == .concat ? 2 * h : h
            cases.append(ArchitectureCase(name: "bidirectional \(mode.rawValue), many-to-one, 1 dense",
                                          architecture: .init(layers: [lstm(2, h, .bidirectional, mode)], returnSequences: false,
                                                              dense: [.init(inputSize: out, outputSize: 2, activation: .sigmoid)])))
        }
        // Every activation: each elementwise one as gate and as cell activation, each one as a dense activation.
        let elementwise = Activation.allCases.filter(\.isElementwise)
        for (k, a) in elementwise.enumerated() {
            let cell = elementwise[(k + 1) % elementwise.count]
            cases.append(ArchitectureCase(
                name: "gate \(a.rawValue), cell \(cell.rawValue), dense \(a.rawValue)",
                architecture: .init(layers: [LSTMLayerSpec(inputSize: 2, hiddenSize: 3, gateActivation: a, cellActivation: cell)],
                                    returnSequences: k % 2 == 0, dense: [.init(inputSize: 3, outputSize: 2, activation: a)])))
        }
        return cases
    }()
}

/// Round trips model → `.lstm` → model (`Spec/lstm-format.md`, L22 determinism; L1–L19 accepted).
@Suite struct CompactRoundTripTests {
    static let dtypeSets: [[DType]] = [[.float32], [.float64], [.float16], [.bfloat16], [.float32, .float16, .float64, .bfloat16]]

    static let unicodeMetadata = [
        "source.format": "keras",
        "keras.layer.0": "lstm_ü_层_🙂",
        "note": "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7}",
        "e\u{301}": "decomposed é",  // NFD key: bytes must survive
        "": "empty key",
    ]

    @Test(arguments: ArchitectureCase.all, dtypeSets)
    func roundTripIsLosslessAndDeterministic(_ c: ArchitectureCase, dtypes: [DType]) throws {
        let seed: UInt64 = 0x1571_2024
        let model = try RandomModels.model(c.architecture, dtypes: dtypes, metadata: Self.unicodeMetadata, seed: seed)
        let first = CompactFormat.encode(model)
        let second = CompactFormat.encode(model)
        #expect(first == second, "writer is not deterministic (seed \(seed))")  // L22
        let back = try CompactFormat.decode(first)
        #expect(back == model, "round trip changed the model (seed \(seed))")
        for (name, t) in model.tensors {
            #expect(back.tensors[name]?.bytes == t.bytes, "\(name): bytes differ")
            #expect(back.tensors[name]?.dtype == t.dtype, "\(name): dtype differs")
        }
        #expect(back.metadata.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
            == model.metadata.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(CompactFormat.encode(back) == first, "re-encoding a decoded model changed the bytes")
    }

    /// Through the registry and a real file: memory-mapped read, atomic write, same bytes as `encode`.
    @Test func fileRoundTripThroughRegistry() throws {
        let model = try RandomModels.model(ArchitectureCase.all[2].architecture, dtypes: [.float32, .bfloat16],
                                           metadata: Self.unicodeMetadata, seed: 7)
        let dir = FixturePaths.temporaryRoot.appendingPathComponent("compact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.lstm")
        try FormatRegistry.write(model, to: url)
        #expect(try Data(contentsOf: url) == CompactFormat.encode(model))
        let (back, format) = try FormatRegistry.read(url)
        #expect(format is CompactFormat.Type)
        #expect(back == model)
        #expect(try FormatRegistry.format(named: "lstm") is CompactFormat.Type)
        #expect(try FormatRegistry.format(forOutput: url) is CompactFormat.Type)
    }

    /// L14, L21: tensors read from a file are views of the mapping, so each starts 64-byte aligned in memory.
    @Test func mappedTensorsAre64ByteAligned() throws {
        let model = try RandomModels.model(ArchitectureCase.all[0].architecture, dtypes: [.float16], seed: 11)
        let url = FixturePaths.temporaryRoot.appendingPathComponent("compact-\(UUID().uuidString).lstm")
        defer { try? FileManager.default.removeItem(at: url) }
        try CompactFormat.encode(model).write(to: url)
        let back = try CompactFormat.read(from: url, options: ReadOptions(verifyChecksums: false))
        for (name, t) in back.orderedTensors {
            let address = t.bytes.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
            #expect(address % 64 == 0, "\(name) at address \(address) is not 64-byte aligned")
        }
        #expect(back == model)
    }
}
