import Foundation
import Testing
@testable import LSTMFormat

/// The files of `Fixtures/hostile/` (the `hostile` case, `Fixtures/hostile/CASE.md`) and hand-built archives that
/// lie in one field each: every one is a one-line error naming the real cause, quickly, with bounded memory.
@Suite(.timeLimit(.minutes(5))) struct HostileZipTests {
    static func hostile(_ name: String) -> URL { FixturePaths.fixture("hostile/\(name)") }

    func zipError(_ body: () throws -> Void) -> ZipError? {
        do { try body() } catch let e as FileError {
            if let z = e.underlying as? ZipError { return z }
            Issue.record("expected a ZipError, got \(e)")
        } catch { Issue.record("expected a FileError, got \(error)") }
        return nil
    }

    /// The raw deflate bytes and fields of endless_deflate.npz's only member (a stored block promising 65,535
    /// bytes of which 144 exist).
    static func endlessMember(named name: String) throws -> ZipBuilder.Member {
        let bytes = [UInt8](try Data(contentsOf: Self.hostile("endless_deflate.npz")))
        let nameLength = Int(bytes[26]) | Int(bytes[27]) << 8, extraLength = Int(bytes[28]) | Int(bytes[29]) << 8
        let compressed = Int(bytes[18]) | Int(bytes[19]) << 8
        let crc = UInt32(bytes[14]) | UInt32(bytes[15]) << 8 | UInt32(bytes[16]) << 16 | UInt32(bytes[17]) << 24
        let start = 30 + nameLength + extraLength
        return .init(name: name, raw: Array(bytes[start..<(start + compressed)]), method: 8, crc32: crc, uncompressedSize: 144)
    }

    @Test func Z1_endlessDeflateInAnNPZIsADamagedMemberNotAHang() throws {
        let error = #expect(throws: FileError.self) { try NumPy.readNPZ(Self.hostile("endless_deflate.npz")) }
        guard case .damaged(let member, let why)? = error?.underlying as? ZipError else {
            Issue.record("expected a damaged member, got \(String(describing: error))"); return
        }
        #expect(member == "loss.npy")
        #expect(why.contains("ends early"))
        #expect(error?.description == "\(Self.hostile("endless_deflate.npz").path): damaged zip member 'loss.npy': \(why)")
    }

    @Test func Z1_theSameDamageInsideAKerasArchiveIsBlamedOnTheZipMember() throws {
        var zip = ZipBuilder()
        zip.members.append(try Self.endlessMember(named: "config.json"))
        zip.stored("model.weights.h5", [0x89, 0x48, 0x44, 0x46], crc32: CRC32.checksum(Data([0x89, 0x48, 0x44, 0x46])))
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("endless.keras")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try Data(zip.bytes()).write(to: url)
        #expect(try FormatRegistry.detect(url) == KerasFormat.self)
        let z = zipError { _ = try FormatRegistry.read(url) }
        guard case .damaged(let member, let why)? = z else { Issue.record("expected damaged, got \(String(describing: z))"); return }
        #expect(member == "config.json")
        #expect(why.contains("ends early"))
    }

    @Test func Z1_aMemberInflatingPastItsDeclaredSizeIsStoppedThere() throws {
        let z = zipError { _ = try FormatRegistry.read(Self.hostile("config_bomb_lying_200m.keras")) }
        #expect(z == .damaged("config.json", "it inflates to more than its declared 2799 bytes"))
    }

    @Test func Z3_aDeclaredSizeDeflateCannotProduceIsRefusedBeforeAllocation() throws {
        var zip = ZipBuilder()
        // An empty final stored block: 5 bytes that inflate to nothing, declaring 3 GiB.
        zip.members.append(.init(name: "x.npy", raw: [0x01, 0x00, 0x00, 0xFF, 0xFF], method: 8, crc32: 0, uncompressedSize: 3 << 30))
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("lie.npz")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try Data(zip.bytes()).write(to: url)
        let z = zipError { _ = try NumPy.readNPZ(url) }
        #expect(z == .damaged("x.npy", "declares \(3 << 30) bytes from 5 compressed bytes, more than deflate can produce"))
    }

    @Test func Z3_aMemberOverItsLimitIsRefusedByItsDeclaredSize() throws {
        let archive = try ZipArchive(url: Self.hostile("config_bomb_lying_200m.keras"))
        let member = try #require(archive["model.weights.h5"])
        #expect(throws: ZipError.memberTooLarge("model.weights.h5", size: 15120, limit: 15119)) { _ = try archive.read(member, limit: 15119) }
        let bytes = try archive.read(member, limit: 15120)
        #expect(bytes.count == 15120)
        // Indices from 0, not the member's offset in the file (a fuzz finding: slices broke callers indexing from 0).
        #expect(bytes.startIndex == 0)
        #expect(Array(bytes[0..<8]) == FileProbe.hdf5Signature)
    }

    @Test func Z4_duplicateMemberNamesAreRefused() throws {
        let z = zipError { _ = try FormatRegistry.read(Self.hostile("duplicate_config.keras")) }
        #expect(z == .duplicateMember("config.json"))
        var zip = ZipBuilder()
        let npy = [UInt8](try NumPy.encodeNPY(Tensor(shape: [1], float64: [1])))
        zip.stored("x.npy", npy, crc32: CRC32.checksum(Data(npy)))
        zip.stored("x.npy", npy, crc32: CRC32.checksum(Data(npy)))
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("dup.npz")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try Data(zip.bytes()).write(to: url)
        let error = #expect(throws: FileError.self) { _ = try NumPy.readNPZ(url) }
        #expect(error?.underlying as? NumPyError == .notAnArchive(ZipError.duplicateMember("x.npy").description))
    }

    @Test func Z5_unsupportedMethodsAndEncryptedMembersAreRefused() throws {
        var zip = ZipBuilder()
        zip.members.append(.init(name: "a.npy", raw: [1, 2, 3], method: 12, crc32: 0, uncompressedSize: 3))
        let archive = try ZipArchive(data: Data(zip.bytes()))
        #expect(throws: ZipError.unsupported("a.npy", "compression method 12 (only stored and deflate are)")) {
            _ = try archive.read(archive.members[0], limit: 100)
        }
    }

    @Test func Z1_storedAndDeflatedMembersRoundTrip() throws {
        // Python's zipfile writes both kinds; the writer under test here is ZIPFoundation (deflate with --compress).
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = RandomModels.make(architecture: RandomModels.architecture(), seed: 5)
        for compress in [false, true] {
            let url = folder.appendingPathComponent("m\(compress).keras")
            try FormatRegistry.write(model, to: url, options: WriteOptions(compress: compress))
            let back = try FormatRegistry.read(url).model
            #expect(back.tensors == model.tensors)
        }
    }
}

@Suite struct MemoryBudgetTests {
    @Test func M1_budgetTextParses() {
        #expect(MemoryBudget.parse("4G") == 4 << 30)
        #expect(MemoryBudget.parse("512m") == 512 << 20)
        #expect(MemoryBudget.parse("1000") == 1000)
        #expect(MemoryBudget.parse("x") == nil)
        #expect(MemoryBudget.parse("99999999999T") == nil)
    }

    @Test func M1_aHiddenSizeOf2To20IsRefusedBeforeTheVerifierAllocates() throws {
        let arch = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 1, hiddenSize: 1 << 20, direction: .forward, mergeMode: nil,
                                                            gateActivation: .sigmoid, cellActivation: .tanh)], returnSequences: false, dense: [])
        // Parameters alone: 4·H·(1 + H + 1) float64 values, four copies.
        let bytes = try #require(LSTMNumerics.workspaceBytes(arch, batch: 2, steps: 5))
        #expect(bytes >= 4 * 8 * 4 * (1 << 20) * ((1 << 20) + 2))
        let error = #expect(throws: MemoryBudgetError.self) { try LSTMNumerics.checkMemory(arch, batch: 2, steps: 5) }
        #expect(error?.description.hasPrefix("this model's forward pass and BPTT needs ") == true)
    }

    @Test func M1_aSmallModelFitsTheBudget() throws {
        try LSTMNumerics.checkMemory(RandomModels.architecture(), batch: 2, steps: 5)
    }

    /// M1a: `gradients` of a model with hidden size 1 and one feature over 200 000 steps — the shape where the
    /// float32 kernels' 64-column panels (B48, B49) weigh most, 64 floats of packed operand per step beside 4 of
    /// z — peaks, above the same command's peak over 2 steps (the process, the model), at most `workspaceBytes`.
    /// The bound before M1a (float64 parameters and activations only) was 30.5 MiB here: float32 peaked 64 MiB above
    /// the fixed cost and failed it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "GNU time (package time) is not installed"),
          arguments: ["float32", "float64"])
    func M1a_theWorkspaceBoundHoldsAGradientsRun(precision: String) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let arch = RandomModels.architecture(input: 1, hidden: 1, dense: [])
        let model = folder.appendingPathComponent("m.lstm")
        try FormatRegistry.write(RandomModels.make(architecture: arch, seed: 1), to: model)
        func peak(steps: Int) throws -> Int {
            let x = folder.appendingPathComponent("x\(steps).npy"), y = folder.appendingPathComponent("y\(steps).npy")
            try NumPy.writeNPY(RandomModels.inputs(batch: 1, steps: steps, features: 1, seed: 2).converted(to: .float32), to: x)
            try NumPy.writeNPY(RandomModels.inputs(batch: 1, steps: steps, features: 1, seed: 3).converted(to: .float32), to: y)
            let (r, kilobytes) = try CLI.runMeasuringPeakRSS(["gradients", model.path, "--inputs", x.path, "--targets", y.path,
                                                              "--output", folder.appendingPathComponent("g.npz").path,
                                                              "--precision", precision, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            return kilobytes * 1024
        }
        let steps = 200_000
        let measured = try peak(steps: steps) - peak(steps: 2)
        let bound = try #require(LSTMNumerics.workspaceBytes(arch, batch: 1, steps: steps))
        #expect(UInt64(Swift.max(measured, 0)) <= bound, "\(precision): peak RSS \(measured >> 20) MiB above the fixed cost, bound \(bound >> 20) MiB")
    }
}
