import Foundation
import Testing

/// `Spec/reliability.md` P3: what the `lstm-format` executable loads at start-up. Never timed (the figures come
/// from scripts/bench_startup.sh); these check the linking and the lazy loading that the figures rest on.
@Suite(.serialized) struct StartupCLITests {
    /// The libraries the dynamic loader maps for the binary (`LD_TRACE_LOADED_OBJECTS=1`, what `ldd` prints;
    /// the program itself does not run).
    private func loadedAtStartup() throws -> String {
        let r = try CLI.run([], environment: ["LD_TRACE_LOADED_OBJECTS": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    /// P3: the Swift runtime and Foundation are linked in, libhdf5 comes from its static archive (so none of
    /// libcurl's TLS stack), and OpenBLAS is not linked at all.
    @Test func theToolLoadsNoSwiftRuntimeHDF5OrBLASLibraryAtStartup() throws {
        let libraries = try loadedAtStartup()
        #expect(libraries.contains("libc.so"), "the trace must list the libraries: \(libraries)")
        for name in ["libswiftCore", "libFoundation", "lib_FoundationICU", "libdispatch", "libhdf5", "libcurl", "libopenblas", "libgfortran"] {
            #expect(!libraries.contains(name), "\(name) is loaded at start-up:\n\(libraries)")
        }
    }

    /// P3: OpenBLAS is opened by the first BLAS call: `verify` opens it (and passes), while a conversion through
    /// the isolated read's child never maps it in either process. `LD_DEBUG=files` reports every library the
    /// loader maps, the child's too (it inherits the environment).
    @Test func openBLASIsOpenedOnlyByTheFirstBLASCall() throws {
        let dir = try FixturePaths.temporaryFolder()
        let lstm = dir.appendingPathComponent("m.lstm").path
        let convert = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, lstm], environment: ["LD_DEBUG": "files"])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stderr.contains("file=libz.so"), "LD_DEBUG must report the mapped libraries: \(convert.stderr.prefix(2000))")
        #expect(!convert.stderr.contains("libopenblas"), "convert loaded OpenBLAS")

        let verify = try CLI.run(["verify", lstm], environment: ["LD_DEBUG": "files"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr.suffix(2000))")
        #expect(verify.stderr.contains("file=libopenblas.so.0 [0];  dynamically loaded"), "verify did not open OpenBLAS through dlopen")
    }

    /// P3: the child parses its own command line without ArgumentParser; anything it does not know is a usage
    /// error (64) naming the argument, and a missing required option is one too.
    @Test func theChildRefusesAMalformedCommandLine() throws {
        let unknown = try CLI.run(["__read", "model.h5", "--time-limit", "5", "--parent", "1", "--bogus"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr == "lstm-format: __read: unexpected argument '--bogus'\n")
        let missing = try CLI.run(["__read", "model.h5", "--time-limit", "5"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("--parent are required"))
        let noValue = try CLI.run(["__read", "model.h5", "--time-limit", "5", "--parent", "1", "--config"])
        #expect(noValue.status == 64)
        #expect(noValue.stderr.contains("--config needs a value"))
    }

    /// The child takes INPUT from its first argument whatever it looks like: a `.keras` named `--m.keras`, given
    /// after `--` as a relative path, converts (it was refused as "__read: missing INPUT", exit 64).
    @Test func anInputNamedLikeAnOptionReachesTheChild() throws {
        let dir = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: FixturePaths.fixture("keras/k3_bidi_sum_seq/model.keras"), to: dir.appendingPathComponent("--m.keras"))
        let r = try CLI.run(["convert", "--", "--m.keras", "out.lstm"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.lstm").path))
    }
}
