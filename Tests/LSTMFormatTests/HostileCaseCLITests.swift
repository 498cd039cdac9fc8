import Foundation
import Testing
@testable import LSTMFormat

/// The files of `Fixtures/hostile/CASE.md` (the `hostile` case) run through the command line the way the report
/// ran them: a one-line error naming the file and the real cause, exit 2, within seconds, nothing written
/// (`Spec/reliability.md` Z1, Z4). The library-level checks are `HostileZipTests`.
@Suite(.serialized, .timeLimit(.minutes(5))) struct HostileCaseCLITests {
    static let reference = FixturePaths.fixture("reference/seed_many_to_many")
    static func hostile(_ name: String) -> String { FixturePaths.fixture("hostile/\(name)").path }

    /// Runs the CLI and returns the result and the seconds it took.
    static func timed(_ arguments: [String], environment: [String: String] = [:]) throws -> (CLI.Result, Double) {
        let start = Date()
        let r = try CLI.run(arguments, environment: environment)
        return (r, Date().timeIntervalSince(start))
    }

    /// Z1: `verify … --expect-gradients endless_deflate.npz` used to spin forever in the zip library's inflate loop.
    @Test func Z1_verifyWithTheEndlessDeflateNPZReturnsAtOnce() throws {
        let npz = Self.hostile("endless_deflate.npz")
        let (r, seconds) = try Self.timed(["verify", Self.reference.appendingPathComponent("model.h5").path,
                                           "--inputs", Self.reference.appendingPathComponent("x.npy").path,
                                           "--targets", Self.reference.appendingPathComponent("t.npy").path, "--expect-gradients", npz])
        #expect(r.status == 2)
        #expect(seconds < 15)
        #expect(r.stderr.hasPrefix("lstm-format: \(npz): damaged zip member 'loss.npy': "), "\(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
    }

    /// Z1: the same damage inside a `.keras` (read by the child process) is blamed on the zip member at once, not
    /// on libhdf5 after the 60 s time limit.
    @Test func Z1_theEndlessDeflateInsideAKerasIsBlamedOnTheMemberAtOnce() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var zip = ZipBuilder()
        zip.members.append(try HostileZipTests.endlessMember(named: "config.json"))
        let weights = try Data(contentsOf: FixturePaths.fixture("keras/k3_lstm_last_dense/model.weights.h5"))
        zip.stored("model.weights.h5", [UInt8](weights), crc32: CRC32.checksum(weights))
        let keras = folder.appendingPathComponent("endless.keras"), out = folder.appendingPathComponent("m.lstm")
        try Data(zip.bytes()).write(to: keras)
        let (r, seconds) = try Self.timed(["convert", keras.path, out.path])
        #expect(r.status == 2)
        #expect(seconds < 15)
        #expect(r.stderr.hasPrefix("lstm-format: \(keras.path): damaged zip member 'config.json': "), "\(r.stderr)")
        #expect(!r.stderr.contains("libhdf5"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Z4: `duplicate_config.keras` (Keras reads the second config.json, go_backwards=True) is refused.
    @Test func Z4_theDuplicateConfigKerasIsRefused() throws {
        let file = Self.hostile("duplicate_config.keras")
        let r = try CLI.run(["inspect", file])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(file): the archive has two members named 'config.json'; refusing it (readers disagree on which one counts)\n")
        #expect(r.stdout.isEmpty)
    }

    /// Z1: `config_bomb_lying_200m.keras` (config.json declares 2,799 bytes, inflates to 200 MB) is stopped at its
    /// declared size: the error at once, and (read in-process, where /usr/bin/time sees it) far less than 200 MB.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "GNU time (package time) is not installed"))
    func Z1_theLyingConfigBombIsStoppedAtItsDeclaredSize() throws {
        let file = Self.hostile("config_bomb_lying_200m.keras")
        let (r, seconds) = try Self.timed(["inspect", file])
        #expect(r.status == 2)
        #expect(seconds < 15)
        #expect(r.stderr == "lstm-format: \(file): damaged zip member 'config.json': it inflates to more than its declared 2799 bytes\n")
        let (measured, rss) = try CLI.runMeasuringPeakRSS(["inspect", file], environment: ["LSTMFORMAT_NO_ISOLATION": "1"])
        #expect(measured.stderr.contains("damaged zip member 'config.json'"), "\(measured.stderr)")
        #expect(rss < 120_000, "peak RSS \(rss) KB while reading a member that inflates to 200 MB")
    }

    /// Z1 in `.npz`: the bomb's deflate stream as an array member is stopped at the size it declares too.
    @Test func Z1_theSameBombInAnNPZIsStoppedAtItsDeclaredSize() throws {
        let archive = try ZipArchive(url: URL(fileURLWithPath: Self.hostile("config_bomb_lying_200m.keras")))
        let m = try #require(archive["config.json"])
        let bytes = [UInt8](archive.data)
        let o = Int(m.localHeaderOffset)
        let start = o + 30 + (Int(bytes[o + 26]) | Int(bytes[o + 27]) << 8) + (Int(bytes[o + 28]) | Int(bytes[o + 29]) << 8)
        var zip = ZipBuilder()
        zip.members.append(.init(name: "y.npy", raw: Array(bytes[start..<(start + Int(m.compressedSize))]), method: 8, crc32: m.crc32,
                                 uncompressedSize: UInt32(m.uncompressedSize)))
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let npz = folder.appendingPathComponent("bomb.npz")
        try Data(zip.bytes()).write(to: npz)
        let error = #expect(throws: FileError.self) { _ = try NumPy.readNPZ(npz) }
        #expect(error?.underlying as? ZipError == .damaged("y.npy", "it inflates to more than its declared 2799 bytes"))
    }
}
