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

    /// P3a: besides the C library and the loader, only libm, libgcc_s and zlib are mapped; libstdc++ (the Swift
    /// runtime's), libdeflate and libsz/libaec come from their static archives.
    @Test func ruleP3aTheToolMapsOnlyTheCLibrariesAtStartup() throws {
        let allowed = ["linux-vdso.so", "ld-linux-x86-64.so", "libc.so", "libm.so", "libgcc_s.so", "libz.so"]
        let mapped = try loadedAtStartup().split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map { String($0.split(separator: "/").last ?? $0) }
        }
        #expect(mapped.contains { $0.hasPrefix("libc.so") }, "the trace must list the libraries: \(mapped)")
        let others = mapped.filter { name in !allowed.contains { name.hasPrefix($0) } }
        #expect(others.isEmpty, "mapped at start-up besides the C libraries: \(others)")
    }

    /// P3a: the executable's relative relocations are packed (a `DT_RELR` entry in its dynamic section), and it
    /// is still position-independent (an ELF `ET_DYN` with `DF_1_PIE`).
    @Test func ruleP3aRelativeRelocationsArePackedAndTheToolIsStillPIE() throws {
        let tags = try ELFDynamicSection.entries(of: CLI.binary)
        #expect(tags[36] != nil, "no DT_RELR entry: \(tags.keys.sorted())")  // DT_RELR
        #expect(tags[0x6fff_fffb].map { $0 & 0x0800_0000 != 0 } == true, "DT_FLAGS_1 lacks DF_1_PIE")
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

/// The dynamic section of a 64-bit little-endian ELF file: tag → value (the first entry of each tag).
enum ELFDynamicSection {
    static func entries(of url: URL) throws -> [UInt64: UInt64] {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[at + $1]) << (8 * UInt64($1)) } }
        try #require(data.count > 64 && data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]) && data[4] == 2 && data[5] == 1, "not a 64-bit little-endian ELF file")
        #expect(u16(16) == 3, "not ET_DYN: the executable is not position-independent")
        let (phoff, phentsize, phnum) = (Int(u64(32)), u16(54), u16(56))
        var result: [UInt64: UInt64] = [:]
        for i in 0..<phnum where u64(phoff + i * phentsize) & 0xffff_ffff == 2 {  // PT_DYNAMIC
            let header = phoff + i * phentsize
            let (offset, size) = (Int(u64(header + 8)), Int(u64(header + 32)))
            for entry in stride(from: offset, to: offset + size, by: 16) {
                let tag = u64(entry)
                if tag == 0 { break }
                if result[tag] == nil { result[tag] = u64(entry + 8) }
            }
        }
        return result
    }
}
