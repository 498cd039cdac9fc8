import Foundation
import Testing
@testable import LSTMFormat

/// The child reader's hand-off (`Spec/reliability.md`, P1, P2) and the memory of HDF5-based reads (M4), through
/// the command line.
@Suite(.serialized, .timeLimit(.minutes(5))) struct HandoffCLITests {
    /// P2: converting Keras files to `.lstm` through the child gives exactly the in-process conversion's bytes,
    /// keeps an existing output's mode (W3) and leaves nothing else in the folder.
    @Test func P2_theChildsHandOffBecomesTheOutputByteForByte() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = ["keras/k3_lstm_last_dense/model.keras", "keras/k2_lstm_last_dense/model.h5", "keras/k3_bidi_concat_seq/model.keras"]
        for (k, input) in inputs.enumerated() {
            let a = folder.appendingPathComponent("a\(k).lstm"), b = folder.appendingPathComponent("b\(k).lstm")
            try Data([1]).write(to: a)
            chmod(a.path, 0o600)
            let child = try CLI.run(["convert", FixturePaths.fixture(input).path, a.path])
            let inProcess = try CLI.run(["convert", FixturePaths.fixture(input).path, b.path], environment: ["LSTMFORMAT_NO_ISOLATION": "1"])
            #expect(child.status == 0 && inProcess.status == 0, "\(child.stderr)\(inProcess.stderr)")
            #expect(child.stdout == inProcess.stdout.replacingOccurrences(of: "/b\(k).lstm", with: "/a\(k).lstm"))
            let same = try Data(contentsOf: a) == Data(contentsOf: b)  // a Bool: #expect would diff the bytes
            #expect(same, "\(input)")
            let mode = try FileManager.default.attributesOfItem(atPath: a.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == Set((0..<inputs.count).flatMap { ["a\($0).lstm", "b\($0).lstm"] }))
    }

    /// P1, P2: while the child reads, its hand-off is an unnamed file — in the output's folder for an unchanged
    /// `.lstm` output, a memfd otherwise — and a parent killed then (SIGKILL: no handler runs) leaves nothing.
    @Test(arguments: [(["x.lstm"], true), (["x.h5"], false), (["x.lstm", "--dtype", "float16"], false)])
    func P2_theHandOffIsUnnamedAndInTheOutputFolderOnlyForAnUnchangedLSTM(output: [String], inFolder: Bool) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["convert", FixturePaths.fixture("damaged/libhdf5-hang.h5").path, folder.appendingPathComponent(output[0]).path]
            + output.dropFirst()
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var child: Int32 = 0
        #expect(HostileSituationTests.waitUntil(seconds: 20) {
            child = HostileSituationTests.children(of: p.processIdentifier).first ?? 0
            return child != 0
        })
        usleep(200_000)
        let handoff = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/fd/1")) ?? ""
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(HostileSituationTests.waitUntil(seconds: 5) { !HostileSituationTests.isRunning(child) })
        if HostileSituationTests.isRunning(child) { kill(child, SIGKILL) }
        #expect(handoff.hasSuffix(" (deleted)"), "\(handoff)")
        #expect(handoff.hasPrefix(folder.resolvingSymlinksInPath().path + "/") == inFolder, "\(handoff)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [])
    }

    /// M4: converting a `.keras` of 32 MB to `.lstm` (through the child) needs less than 1.25 times the model in
    /// peak RSS above what a tiny conversion needs (whole process tree, GNU time). The model is issue 11's 500 MB
    /// benchmark shape (Input 1024 -> LSTM 3072 -> LSTM 3072 -> Dense 256) with every size divided by 4. Its gate
    /// blocks and Dense transpose are deferred moves written band by band (`Spec/layout.md` G8), so the peak is
    /// the mapped source once plus a few band buffers (about 1.0x); making the moved tensors instead (the source
    /// and the moved copies at once) gives about 2x and fails.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "GNU time (package time) is not installed"))
    func M4_aKerasConversionHoldsTheModelAboutOnce() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = RandomModels.make(architecture: ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 256, hiddenSize: 768), LSTMLayerSpec(inputSize: 768, hiddenSize: 768)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: 768, outputSize: 64)]), seed: 11)
        let big = folder.appendingPathComponent("big.keras"), tiny = folder.appendingPathComponent("tiny.keras")
        try FormatRegistry.write(model, to: big)
        try FormatRegistry.write(RandomModels.make(architecture: ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 2, hiddenSize: 3)], returnSequences: false, dense: []), seed: 1), to: tiny)
        func peakKB(_ input: URL) throws -> Int {
            let (r, kilobytes) = try CLI.runMeasuringPeakRSS(["convert", input.path, folder.appendingPathComponent("out.lstm").path])
            #expect(r.status == 0, "\(r.stderr)")
            return kilobytes
        }
        let modelKB = model.tensors.values.reduce(0) { $0 + $1.bytes.count } / 1024
        let extra = try peakKB(big) - peakKB(tiny)
        #expect(extra < modelKB * 5 / 4, "peak RSS \(extra) KB above a tiny conversion for a \(modelKB) KB model")
    }
}
