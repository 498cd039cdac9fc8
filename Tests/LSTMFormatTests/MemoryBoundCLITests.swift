import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/bptt.md` B31: `verify` and `compare` hold the model and a streamed float64 copy (its largest LSTM layer
/// and its dense layers; or, in `compare`, the two models without a copy), measured as whole processes by GNU
/// time's peak RSS on a generated 22 MB model, above the same command's peak on a tiny model (the process's fixed
/// cost: runtime, OpenBLAS buffers). Before B31 `verify` peaked near 7× and `compare` of two files near 4.3×; with
/// a whole float64 copy near 3.1×; streamed 2.35× and 2.37×.
@Suite(.serialized, .timeLimit(.minutes(5)),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "GNU time (package time) is not installed"))
struct MemoryBoundCLITests {
    /// 5.6 M parameters: Input(·, 256) → LSTM(640) → LSTM(640) → Dense(8).
    static let architecture = RandomModels.architecture(input: 256, hidden: 640, layers: [(.forward, nil), (.forward, nil)],
                                                        dense: [(8, .linear)])

    /// Peak RSS in bytes of one whole `lstm-format` process, which must exit 0.
    static func peakRSS(_ arguments: [String]) throws -> Int {
        let (r, kilobytes) = try CLI.runMeasuringPeakRSS(arguments + ["--quiet"])
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return kilobytes * 1024
    }

    static func write(_ model: LSTMModel, _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try FormatRegistry.write(model, to: url)
        return url.path
    }

    @Test func B31_verifyAndCompareHoldAtMostThreeModelSizes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lstm-format-B31-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = RandomModels.make(architecture: Self.architecture, seed: 31, scale: 0.05)
        let tiny = RandomModels.make(architecture: RandomModels.architecture(input: 256, hidden: 8, dense: [(8, .linear)]), seed: 31)
        let a = try Self.write(big, "a.lstm", in: folder), b = try Self.write(big, "b.lstm", in: folder)
        let t = try Self.write(tiny, "t.lstm", in: folder), u = try Self.write(tiny, "u.lstm", in: folder)
        let modelBytes = Double(big.parameterCount * 4)

        let verify = Double(try Self.peakRSS(["verify", a]) - Self.peakRSS(["verify", t])) / modelBytes
        let compare = Double(try Self.peakRSS(["compare", a, b]) - Self.peakRSS(["compare", t, u])) / modelBytes
        // The model (1×) and the float64 of its larger LSTM layer (1.18×: 3.3 M of its 5.6 M parameters), plus
        // the dense layer, the probe's work buffers and allocator slack.
        #expect(verify <= 2.6, "verify: peak RSS \(verify)× the model above the fixed cost")
        #expect(compare <= 2.6, "compare: peak RSS \(compare)× the model above the fixed cost")
    }
}
