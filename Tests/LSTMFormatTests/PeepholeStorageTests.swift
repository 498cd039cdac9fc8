import Foundation
import Testing
@testable import LSTMFormat

/// Peepholes (M25) in `.lstm` (L27) and canonical HDF5 (H13), and refused by every writer that cannot express
/// them.
@Suite struct PeepholeStorageTests {
    static func models() -> [LSTMModel] {
        let a = NumericsPeepholeTests.architecture([(.bidirectional, .concat, true, nil), (.forward, nil, false, nil)],
                                                   returnSequences: false)
        var b = NumericsPeepholeTests.architecture([(.backward, nil, true, 2)])
        b.maskValue = 0
        return [a, b].enumerated().map { RandomModels.make(architecture: $0.element, seed: UInt64(20 + $0.offset)) }
    }

    /// L27: `.lstm` keeps the peepholes, version 1 (2 when masked), `"peepholes":true` in the layer object.
    @Test func lstmRoundTripKeepsPeepholes() throws {
        for m in Self.models() {
            let bytes = CompactFormat.encode(m)
            #expect(bytes[8] == (m.architecture.isMasked ? 2 : 1))
            #expect(String(decoding: bytes, as: UTF8.self).contains(#""peepholes":true"#))
            let back = try CompactFormat.decode(bytes)
            #expect(back == m)
            #expect(back.architecture.layers.map(\.peepholes) == m.architecture.layers.map(\.peepholes))
            #expect(CompactFormat.encode(back) == bytes)
        }
    }

    /// A one-unit forward layer with peepholes, built field by field (independently of the writer): the twelve
    /// gate tensors of `CompactFileBuilder.minimal()` and p_f, p_i, p_o = 20.5, 21.5, 22.5.
    static func handBuilt(declare: Bool, peepholeTensors: Bool = true) -> CompactFileBuilder {
        var b = CompactFileBuilder.minimal()
        if declare { b.architecture = b.architecture.replacingOccurrences(of: #""input_size":1}"#, with: #""input_size":1,"peepholes":true}"#) }
        if peepholeTensors {
            for (k, g) in ["f", "i", "o"].enumerated() {
                b.entries.append(.init(name: "lstm.0.fwd.p_\(g)", shape: "[1]", offset: 64 * (12 + k),
                                       data: CompactFileBuilder.littleEndian(Float(20 + k) + 0.5)))
            }
        }
        return b
    }

    /// L27: what a reader that does not know `peepholes` sees (the key ignored, L23) is a table with p_* tensors
    /// its architecture does not name: refused (L13), never read as a plain LSTM. A declared layer without them is
    /// refused too.
    @Test func readerWithoutPeepholesRefusesTheFile() throws {
        let good = try CompactFormat.decode(Self.handBuilt(declare: true).data())
        #expect(good.architecture.layers[0].peepholes)
        #expect(good.tensors["lstm.0.fwd.p_i"]?.float64Values() == [21.5])
        #expect(throws: CompactError.unexpectedTensor(position: 12, expected: nil, actual: "lstm.0.fwd.p_f")) {
            try CompactFormat.decode(Self.handBuilt(declare: false).data())
        }
        #expect(throws: CompactError.missingTensor("lstm.0.fwd.p_f")) {
            try CompactFormat.decode(Self.handBuilt(declare: true, peepholeTensors: false).data())
        }
        // M25: a non-finite peephole is refused naming it.
        var nan = Self.handBuilt(declare: true)
        nan.entries[13].data = CompactFileBuilder.littleEndian(.nan)
        #expect(throws: CompactError.self) { try CompactFormat.decode(nan.data()) }
        do { _ = try CompactFormat.decode(nan.data()) } catch { #expect("\(error)".contains("lstm.0.fwd.p_i[0]")) }
    }

    /// H13: canonical HDF5 keeps the peepholes.
    @Test func hdf5RoundTripKeepsPeepholes() throws {
        let dir = FixturePaths.temporaryRoot.appendingPathComponent("peephole-h5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (k, m) in Self.models().enumerated() {
            for compress in [false, true] {
                let url = dir.appendingPathComponent("m\(k)\(compress).h5")
                try FormatRegistry.write(m, to: url, format: CanonicalHDF5Format.self, options: WriteOptions(compress: compress))
                let (back, _) = try FormatRegistry.read(url)
                #expect(back.architecture == m.architecture)
                #expect(back.tensors == m.tensors)
            }
        }
    }

    /// H13 with files built object by object: `peepholes` = 1 and the three datasets read; datasets without the
    /// attribute (what a reader that predates H13 sees, or a damaged file), the attribute without the datasets, and
    /// `peepholes` = 2 are refused naming the path.
    @Test func hdf5PeepholeRules() throws {
        let dir = FixturePaths.temporaryRoot.appendingPathComponent("peephole-h5-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(attribute: Int?, datasets: Bool) -> HDF5CanonicalFileBuilder {
            var b = HDF5CanonicalFileBuilder.minimal()
            if let attribute { b.attributes["/lstm/0"]!["peepholes"] = .int(attribute) }
            if datasets {
                for (k, g) in ["f", "i", "o"].enumerated() { b.datasets["/lstm/0/fwd/p_\(g)"] = HDF5CanonicalFileBuilder.tensor(20 + k, [3]) }
            }
            return b
        }
        func read(_ b: HDF5CanonicalFileBuilder, _ name: String) throws -> LSTMModel {
            let url = dir.appendingPathComponent(name + ".h5")
            try b.write(to: url)
            return try CanonicalHDF5Format.read(from: url, options: ReadOptions())
        }
        let good = try read(file(attribute: 1, datasets: true), "good")
        #expect(good.architecture.layers[0].peepholes)
        #expect(good.tensors["lstm.0.fwd.p_o"]?.float64Values() == [22, 22.125, 22.25])
        for (name, b, expected) in [("no-attribute", file(attribute: nil, datasets: true), "/lstm/0/fwd"),
                                    ("no-datasets", file(attribute: 1, datasets: false), "/lstm/0/fwd/p_"),
                                    ("two", file(attribute: 2, datasets: true), "peepholes")] {
            do {
                let m = try read(b, name)
                Issue.record("\(name): read as \(m.architecture.layers[0])")
            } catch {
                #expect("\(error)".contains(expected), "\(name): \(error)")
            }
        }
    }

    /// M25: a writer that cannot express peepholes refuses the model naming them (and writes nothing).
    @Test(arguments: ["keras", "keras-h5", "keras-weights", "safetensors", "torch"])
    func writersWithoutPeepholesRefuse(format name: String) throws {
        let dir = FixturePaths.temporaryRoot.appendingPathComponent("peephole-refuse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = RandomModels.make(architecture: NumericsPeepholeTests.architecture([(.forward, nil, false, nil), (.bidirectional, .concat, true, nil)]),
                                  seed: 3)
        let format = try FormatRegistry.format(named: name)
        let url = dir.appendingPathComponent("m" + (["keras": ".keras", "keras-h5": ".h5", "keras-weights": ".weights.h5",
                                                     "safetensors": ".safetensors", "torch": ".pt"][name] ?? ""))
        do {
            try FormatRegistry.write(m, to: url, format: format)
            Issue.record("\(name): a model with peepholes was written")
        } catch {
            let text = "\(error)"
            #expect(text.contains("peephole weights P of layer 1"), "\(name): \(text)")
            #expect(text.contains(name.hasPrefix("keras") ? "cannot be expressed in Keras" : "cannot be expressed in PyTorch"), "\(name): \(text)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
