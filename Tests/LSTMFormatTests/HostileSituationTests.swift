import Foundation
import Testing
@testable import LSTMFormat

/// The situations of `Fixtures/hostile/CASE.md` (the `hostile` case) that need no root: an interrupted child
/// process, interrupted writes, outputs that are not regular files, modes, directories, deep JSON, budgets.
/// Disk-full, device-node and read-only-mount checks need root and a tmpfs: `scripts/hostile_root_checks.sh`.
@Suite(.serialized, .timeLimit(.minutes(5))) struct HostileSituationTests {
    /// A folder removed when `body` returns, used as TMPDIR and for outputs.
    func inFolder(_ body: (URL) throws -> Void) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    static func isRunning(_ pid: Int32) -> Bool {
        // A zombie has exited; only its parent's wait is missing.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !stat.contains(") Z ")
    }

    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(5_000) }
        return condition()
    }

    /// P1: the CLI killed (SIGKILL, SIGTERM, SIGINT) while its child loops in libhdf5: the child dies with it
    /// and leaves nothing in TMPDIR.
    @Test(arguments: [SIGKILL, SIGTERM, SIGINT])
    func P1_theChildReaderDiesWithItsParent(signal: Int32) throws {
        try inFolder { tmp in
            let p = Process()
            p.executableURL = CLI.binary
            p.arguments = ["inspect", FixturePaths.fixture("damaged/libhdf5-hang.h5").path]
            p.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": tmp.path]) { $1 }
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            var child: Int32 = 0
            #expect(Self.waitUntil(seconds: 20) { child = Self.children(of: p.processIdentifier).first ?? 0; return child != 0 })
            usleep(200_000)  // let the child reach libhdf5's loop
            let start = Date()
            // Ctrl-C goes to the whole foreground process group; the CLI leads its own group when Foundation starts it.
            if signal == SIGINT && getpgid(p.processIdentifier) == p.processIdentifier { kill(-p.processIdentifier, signal) } else { kill(p.processIdentifier, signal) }
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal)
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(Self.waitUntil(seconds: 5) { !Self.isRunning(child) }, "child \(child) outlived its parent")
            if Self.isRunning(child) { kill(child, SIGKILL) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == [])
        }
    }

    /// P1, W1: commands that succeed and commands that fail — through the child reader (HDF5, `.keras`) and in
    /// process — leave nothing in TMPDIR.
    @Test func P1_commandsLeaveNothingInTMPDIR() throws {
        try inFolder { tmp in
            let out = try FixturePaths.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: out) }
            let ref = FixturePaths.fixture("reference/seed_many_to_many")
            let keras = FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras").path
            let runs: [([String], Int32)] = [
                (["convert", keras, out.appendingPathComponent("m.lstm").path], 0),
                (["convert", keras, out.appendingPathComponent("m.h5").path], 0),
                (["inspect", FixturePaths.fixture("damaged/libhdf5-hang.h5").path], 2),
                (["convert", FixturePaths.fixture("hostile/duplicate_config.keras").path, out.appendingPathComponent("d.lstm").path], 2),
                (["gradients", ref.appendingPathComponent("model.h5").path, "--inputs", ref.appendingPathComponent("x.npy").path,
                  "--targets", ref.appendingPathComponent("t.npy").path, "--output", out.appendingPathComponent("g.npz").path], 0),
                (["verify", ref.appendingPathComponent("model.h5").path], 0),
            ]
            for (arguments, status) in runs {
                let r = try CLI.run(arguments, environment: ["TMPDIR": tmp.path, "LSTMFORMAT_READ_TIMEOUT": "1"])
                #expect(r.status == status, "\(arguments): \(r.stderr)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == [])
        }
    }

    /// P1: the child ends itself after its time limit, and the error blames libhdf5, in one line.
    @Test func P1_theChildEnforcesItsTimeLimit() throws {
        let file = FixturePaths.fixture("damaged/libhdf5-hang.h5").path
        let start = Date()
        let r = try CLI.run(["inspect", file], environment: ["LSTMFORMAT_READ_TIMEOUT": "1"])
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(file): reading did not finish within 1 s in libhdf5 (it loops on some damaged files): the file is damaged or not valid HDF5\n")
    }

    /// W2: a convert stopped by SIGTERM, SIGINT (Ctrl-C) or SIGHUP mid-write leaves no temporary file and no output.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func W2_aTerminatedWriteLeavesNothingBehind(signal: Int32) throws {
        try inFolder { folder in
            let big = folder.appendingPathComponent("big.lstm")
            try FormatRegistry.write(RandomModels.make(architecture: ModelArchitecture(
                layers: [LSTMLayerSpec(inputSize: 8, hiddenSize: 1200)], returnSequences: false, dense: []), seed: 3), to: big)
            let out = folder.appendingPathComponent("out.h5")
            let p = Process()
            p.executableURL = CLI.binary
            p.arguments = ["convert", big.path, out.path, "--compress"]
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let sawTemp = Self.waitUntil(seconds: 20) {
                ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).contains { $0.hasSuffix(".tmp") }
            }
            kill(p.processIdentifier, signal)
            p.waitUntilExit()
            #expect(sawTemp)
            #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["big.lstm"])
        }
    }

    /// W2: temporary files left by killed runs (their PID no longer runs) are recognised by name and removed by
    /// the next write into the same folder, whatever output they were for; a live process's and other files stay.
    @Test func W2_staleTemporaryFilesOfDeadRunsAreRemoved() throws {
        try inFolder { folder in
            let dead = Process()
            dead.executableURL = URL(fileURLWithPath: "/bin/true")
            try dead.run()
            dead.waitUntilExit()
            let pid = dead.processIdentifier
            let stale = [".y.npy.lstm-format-\(pid)-12345.tmp", ".model.keras.lstm-format-\(pid)-99.tmp",
                         ".a-b.lstm-format-1.h5.lstm-format-\(pid)-7.tmp"]
            let live = ".y.npy.lstm-format-1-12345.tmp"  // PID 1 always runs
            let others = [".y.npy.other.tmp", ".lstm-format-\(pid)-1.tmp", "m.lstm-format-\(pid)-1.tmp",
                          ".m.lstm-format-\(pid)-1x.tmp", ".m.lstm-format-\(pid)-1-2.tmp", ".m.lstm-format-+\(pid)-1.tmp"]
            for name in stale + [live] + others { try Data([1]).write(to: folder.appendingPathComponent(name)) }
            try NumPy.writeNPY(Tensor(shape: [1], float64: [2]), to: folder.appendingPathComponent("other.npy"))
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
            #expect(left == Set(["other.npy", live] + others))
            #expect(stale.map(AtomicFile.owner(ofTemporary:)) == [pid, pid, pid])
            #expect(others.compactMap(AtomicFile.owner(ofTemporary:)) == [])
        }
    }

    /// W2: a convert killed by SIGKILL (no handler runs) leaves its temporary file, named with its PID; the next
    /// write of any output into that folder removes it. A conversion may make more than one temporary file in turn
    /// (the first can be gone, renamed or removed, by the time the kill lands), so what is checked is what is left
    /// after the kill; a kill that lands between two temporary files leaves none, and the run is tried again.
    @Test func W2_aSIGKILLedWritesTemporaryFileIsRemovedByTheNextWriteIntoTheFolder() throws {
        try inFolder { folder in
            let big = folder.appendingPathComponent("big.lstm")
            try FormatRegistry.write(RandomModels.make(architecture: ModelArchitecture(
                layers: [LSTMLayerSpec(inputSize: 8, hiddenSize: 1200)], returnSequences: false, dense: []), seed: 3), to: big)
            func temporaries() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".tmp") }
            }
            var left: [String] = [], pid: Int32 = 0
            for _ in 0..<5 where left.isEmpty {
                let p = Process()
                p.executableURL = CLI.binary
                p.arguments = ["convert", big.path, folder.appendingPathComponent("out.h5").path, "--compress"]
                p.standardError = FileHandle.nullDevice
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                let sawTemp = Self.waitUntil(seconds: 20) { !temporaries().isEmpty }
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                try #require(sawTemp)
                #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
                pid = p.processIdentifier
                left = temporaries()
                try? FileManager.default.removeItem(at: folder.appendingPathComponent("out.h5"))
            }
            try #require(!left.isEmpty, "five SIGKILLed conversions left no temporary file")
            #expect(left.allSatisfy { AtomicFile.owner(ofTemporary: $0) == pid }, "\(left) named with \(pid)")
            try NumPy.writeNPY(Tensor(shape: [1], float64: [2]), to: folder.appendingPathComponent("y.npy"))
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == ["big.lstm", "y.npy"])
        }
    }

    /// W3: an existing 0600 output stays 0600.
    @Test func W3_anExistingOutputKeepsItsMode() throws {
        try inFolder { folder in
            let out = folder.appendingPathComponent("m.lstm")
            let model = RandomModels.make(architecture: RandomModels.architecture(), seed: 1)
            try FormatRegistry.write(model, to: out)
            chmod(out.path, 0o600)
            for url in [out] { try FormatRegistry.write(model, to: url) }
            #expect((try FileManager.default.attributesOfItem(atPath: out.path)[.posixPermissions] as? Int) == 0o600)
            let fresh = folder.appendingPathComponent("n.lstm")
            try FormatRegistry.write(model, to: fresh)
            let freshMode = try FileManager.default.attributesOfItem(atPath: fresh.path)[.posixPermissions] as? Int
            #expect(freshMode == 0o666 & ~Int(Self.umask()))
        }
    }

    static func umask() -> mode_t {
        let old = Glibc.umask(0o022)
        Glibc.umask(old)
        return old
    }

    /// W4: a FIFO, /dev/null, a symlink to a pipe and a directory are refused as outputs and stay what they are.
    @Test func W4_outputsThatAreNotRegularFilesAreRefused() throws {
        try inFolder { folder in
            let model = FixturePaths.fixture("demo/model.h5").path
            let fifo = folder.appendingPathComponent("fifo.lstm")
            #expect(mkfifo(fifo.path, 0o644) == 0)
            let link = folder.appendingPathComponent("stdout.lstm")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/proc/self/fd/1")
            let dir = folder.appendingPathComponent("dir.lstm")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
            // Never aim a broken build at the system's /dev/null as root (it would replace it): root gets its own
            // null device node in the test folder; other users cannot replace /dev/null in any case.
            let device = getuid() == 0 ? folder.appendingPathComponent("null.lstm").path : "/dev/null"
            if getuid() == 0 { #expect(mknod(device, S_IFCHR | 0o666, dev_t(0x103)  /* major 1, minor 3 */) == 0) }
            for (path, what) in [(fifo.path, "a FIFO"), (device, "a character device"), (link.path, "a FIFO"), (dir.path, "a directory")] {
                let r = try CLI.run(["convert", model, path, "--to", "lstm"])
                #expect(r.status == 2, "\(path)")
                #expect(r.stderr == "lstm-format: \(path): cannot write: the output is \(what), not a regular file; refusing to replace it\n")
            }
            var st = stat()
            #expect(lstat(fifo.path, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
            #expect(lstat(device, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR)
            #expect(lstat(link.path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == Set(["fifo.lstm", "stdout.lstm", "dir.lstm"] + (getuid() == 0 ? ["null.lstm"] : [])))
        }
    }

    /// E1: a folder the user may not write into gives the OS's reason (root may write anywhere: see
    /// scripts/hostile_root_checks.sh for a read-only mount).
    @Test(.enabled(if: getuid() != 0)) func E1_aReadOnlyFolderGivesTheOSReason() throws {
        try inFolder { folder in
            chmod(folder.path, 0o555)
            defer { chmod(folder.path, 0o755) }
            let out = folder.appendingPathComponent("m.lstm")
            let r = try CLI.run(["convert", FixturePaths.fixture("demo/model.h5").path, out.path])
            #expect(r.status == 2)
            #expect(r.stderr == "lstm-format: \(out.path): cannot write: cannot create a file in \(folder.path): Permission denied\n")
        }
    }

    /// E1: a Keras config nested 100,000 deep is "nested too deeply", not "not valid JSON".
    @Test func E1_aDeeplyNestedConfigSaysSo() throws {
        try inFolder { folder in
            let config = folder.appendingPathComponent("deep.json")
            try Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8).write(to: config)
            let weights = FixturePaths.fixture("keras/k3_lstm_last_dense/model.weights.h5")
            let r = try CLI.run(["inspect", weights.path, "--config", config.path])
            #expect(r.status == 2)
            #expect(r.stderr == "lstm-format: \(config.path): not a usable Keras model config: the config is \(JSONDepth.message)\n")
        }
    }

    /// M1: canonical HDF5 declaring [2147483647, 1] tensors (nothing stored) is refused by its declared bytes.
    @Test func M1_anHDF5FileDeclaringTerabytesIsRefusedBeforeReading() throws {
        let file = FixturePaths.fixture("hostile/h5_shape_2p31m1.h5").path
        let r = try CLI.run(["inspect", file], environment: ["LSTMFORMAT_MEMORY_BUDGET": "4G"])
        #expect(r.status == 2)
        #expect(r.stderr == "lstm-format: \(file): this model needs more than 2^64 bytes, more than the memory budget of 4.00 GiB (set LSTMFORMAT_MEMORY_BUDGET to change it)\n")
    }

    /// M1: a small budget and a small model are said in MiB or bytes, never "0.00 GiB" (`LSTMFORMAT_MEMORY_BUDGET=1K`
    /// used to print "needs 0.00 GiB, more than the memory budget of 0.00 GiB").
    @Test func M1_aSmallBudgetIsSaidInUnitsThatShowIt() throws {
        #expect(MemoryBudgetError.exceeded(what: "model", bytes: 5_000_000, budget: 1024).description
            == "this model needs 4.8 MiB, more than the memory budget of 1024 bytes (set LSTMFORMAT_MEMORY_BUDGET to change it)")
        #expect(MemoryBudgetError.exceeded(what: "model", bytes: 3 << 30, budget: 1 << 30).description.hasPrefix("this model needs 3.00 GiB, more than the memory budget of 1.00 GiB"))
    }

    /// M1: a sparse `.lstm` with hidden size 2^20 (8 TiB apparent, a few KB on disk, made by the case's own
    /// script) is refused by every command that reads its data in a second, not aborted with a backtrace;
    /// `inspect` reads only its header (M3) and shows it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LSTMFORMAT_SKIP_PYTHON"] != "1"))
    func M1_aSparseHugeLSTMFileIsRefusedByItsSize() throws {
        try inFolder { folder in
            let model = folder.appendingPathComponent("sparse.lstm")
            let python = ProcessInfo.processInfo.environment["LSTMFORMAT_PYTHON"] ?? "/usr/bin/python3"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [FixturePaths.fixture("hostile/gen_hidden_sparse.py").path, model.path]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            try #require(p.terminationStatus == 0)
            let x = FixturePaths.fixture("hostile/x_1x1x1.npy").path
            for args in [["forward", model.path, "--inputs", x, "--output", folder.appendingPathComponent("y.npy").path, "--no-verify-checksums"],
                         ["verify", model.path, "--no-verify-checksums"], ["convert", model.path, folder.appendingPathComponent("c.lstm").path]] {
                let r = try CLI.run(args, environment: ["LSTMFORMAT_MEMORY_BUDGET": "4G"])
                #expect(r.status == 2, "\(args)")
                #expect(r.stderr.hasPrefix("lstm-format: \(model.path): this model needs 8192 GiB, more than the memory budget of 4.00 GiB"), "\(args)")
            }
            // M3: inspect allocates no tensor data (it reads only the header), so it shows the model.
            let r = try CLI.run(["inspect", model.path], environment: ["LSTMFORMAT_MEMORY_BUDGET": "4G"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("1048576"), "\(r.stdout)")
        }
    }
}
