import Foundation
import Testing
@testable import LSTMFormat

/// The restricted unpickler and torch.save archives (`Spec/pytorch-mapping.md`, P-P, P-Z, P-C rules): one
/// hand-built pickle per rule, checkpoints, and thousands of damaged pickles and archives.
@Suite struct TorchPickleRuleTests {
    static func pickle(_ parts: [Any]) -> Data {
        var out: [UInt8] = [0x80, 0x02]
        for p in parts {
            if let s = p as? String { out += Array(s.utf8) } else if let b = p as? [UInt8] { out += b } else if let b = p as? UInt8 { out.append(b) }
        }
        return Data(out)
    }

    @Test func ruleP1OpcodesOutsideTheWeightsOnlySetAreRefused() {
        // STACK_GLOBAL (protocol 4) and INST are what a code-running pickle would use.
        #expect(throws: PickleError.opcode(0x93, name: "STACK_GLOBAL", offset: 2)) { try RestrictedUnpickler.load(Self.pickle([UInt8(0x93), "."])) }
        #expect(throws: PickleError.opcode(0x69, name: "INST", offset: 2)) { try RestrictedUnpickler.load(Self.pickle(["ios\nsystem\n."])) }
        #expect(throws: PickleError.opcode(0x8C, name: "SHORT_BINUNICODE", offset: 2)) { try RestrictedUnpickler.load(Self.pickle([UInt8(0x8C), UInt8(1), "a."])) }
    }

    @Test func ruleP2GlobalsOutsideTheAllowListAreRefusedByName() {
        #expect(throws: PickleError.blockedGlobal("posix.system")) { try RestrictedUnpickler.load(Self.pickle(["cposix\nsystem\n."])) }
        #expect(throws: PickleError.blockedGlobal("os.system")) { try RestrictedUnpickler.load(Self.pickle(["cos\nsystem\n."])) }
        #expect(throws: PickleError.forbiddenGlobal("builtins.eval")) { try RestrictedUnpickler.load(Self.pickle(["cbuiltins\neval\n."])) }
        #expect(throws: PickleError.forbiddenGlobal("subprocess.Popen")) { try RestrictedUnpickler.load(Self.pickle(["csubprocess\nPopen\n."])) }
        #expect(throws: PickleError.forbiddenGlobal("torch.load.x")) { try RestrictedUnpickler.load(Self.pickle(["ctorch.load\nx\n."])) }
    }

    @Test func ruleP3MalformedPicklesAreErrors() {
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle([")"])) }  // no STOP
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle(["."])) }  // empty stack
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle(["h", UInt8(3), "."])) }  // unset memo
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle(["X", [UInt8(0xff), 0xff, 0xff, 0x7f], "."])) }  // length past end
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle(["e."])) }  // APPENDS without MARK
        #expect(throws: PickleError.forbiddenCall("calls a int")) { try RestrictedUnpickler.load(Self.pickle(["K", UInt8(1), ")R."])) }
        #expect(throws: PickleError.forbiddenCall("appends to a dict")) { try RestrictedUnpickler.load(Self.pickle(["}N", "a."])) }
        // 600 nested tuples: refused before the value could be released recursively.
        #expect(throws: PickleError.self) { try RestrictedUnpickler.load(Self.pickle([")", [UInt8](repeating: 0x85, count: 600), "."])) }
        // A list changed after it was put inside another container.
        #expect(throws: PickleError.forbiddenCall("changes a container that is already inside another one")) {
            try RestrictedUnpickler.load(Self.pickle(["]q", UInt8(0), "]h", UInt8(0), "ah", UInt8(0), "Na."]))
        }
    }

    @Test func ruleP3ValidPicklesReadAsData() throws {
        // OrderedDict({'a': 1.5, 'b': [True, None]}) with a memo reference.
        let v = try RestrictedUnpickler.load(Self.pickle(["ccollections\nOrderedDict\nq", UInt8(0), ")R(X", [UInt8(1), 0, 0, 0], "aG",
                                                          [UInt8(0x3f), 0xf8, 0, 0, 0, 0, 0, 0], "X", [UInt8(1), 0, 0, 0], "b](", UInt8(0x88), "Neu."]))
        guard case .dict(let d) = v, case .float(let a)? = d["a"], case .list(let b)? = d["b"] else { Issue.record("\(v)"); return }
        #expect(a == 1.5)
        #expect(b.items.count == 2)
    }

    /// P-C1: the state dict is found in checkpoint dicts by the documented order, or by the given key.
    @Test func ruleC1CheckpointsAndKeys() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "checkpoint" })
        let arch = try fixture.architecture()
        let plain = try FormatRegistry.read(fixture.file("model.pt"), options: ReadOptions(architecture: arch)).model
        var options = ReadOptions(architecture: arch)
        options.torch.key = "model_state_dict"
        #expect(try FormatRegistry.read(fixture.file("model.pt"), options: options).model.tensors == plain.tensors)
        options.torch.key = "optimizer_state_dict"
        let e = #expect(throws: FileError.self) { try FormatRegistry.read(fixture.file("model.pt"), options: options) }
        #expect(e?.underlying as? PyTorchError == .badKey("optimizer_state_dict", reason: "is not a dict of tensors"))
        options.torch.key = "nope"
        let missing = #expect(throws: FileError.self) { try FormatRegistry.read(fixture.file("model.pt"), options: options) }
        // A missing key lists the entries that do exist, so the user can pick one.
        guard case .badKey("nope", let reason)? = missing?.underlying as? PyTorchError else { Issue.record("expected badKey, got \(String(describing: missing))"); return }
        #expect(reason.hasPrefix("does not exist (entries: "))
        #expect(reason.contains("model_state_dict") && reason.contains("optimizer_state_dict"))
        let lightning = try FormatRegistry.read(fixture.file("lightning.ckpt"), options: ReadOptions(architecture: arch)).model
        #expect(lightning.tensors == plain.tensors)
    }

    /// P-W4: the .pt writer's bytes are deterministic and read back exactly, with the original keys.
    @Test func ruleW4TorchFilesRoundTrip() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "bilstm2_shared_storage" })
        let model = try FormatRegistry.read(fixture.file("model.pt"), options: ReadOptions(architecture: try fixture.architecture())).model
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.pt"), b = folder.appendingPathComponent("b.pt")
        try FormatRegistry.write(model, to: a)
        try FormatRegistry.write(model, to: b)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        let back = try FormatRegistry.read(a).model
        #expect(back.architecture == model.architecture && back.tensors == model.tensors)
        #expect(back.metadata[PyTorchStateDict.Key.sourceModules] == model.metadata[PyTorchStateDict.Key.sourceModules])
    }

    /// P-T2: thousands of damaged pickles and archives are errors or models, never a crash or a hang.
    @Test func damagedPicklesAndArchivesNeverCrash() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "checkpoint" })
        let original = try Data(contentsOf: fixture.file("model.pt"))
        let archive = try #require(try? TorchArchiveMembers.pickle(of: fixture.file("model.pt")))
        var rng = SeededRandom(seed: 0x91c_1e5)
        var errors = 0
        for trial in 0..<4000 {
            var bytes = [UInt8](archive)
            switch trial % 3 {
            case 0: for _ in 0..<(1 + Int(rng.next() % 3)) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(rng.next() % 256) }
            case 1: bytes.removeLast(1 + Int(rng.next() % UInt64(bytes.count - 1)))
            default:
                let at = 2 + Int(rng.next() % UInt64(bytes.count - 2))
                bytes.insert(UInt8(rng.next() % 256), at: at)
            }
            do {
                let v = try RestrictedUnpickler.load(Data(bytes))
                _ = try TorchCheckpoint.stateDict(v, key: nil)
            } catch {
                errors += 1
            }
        }
        #expect(errors > 2000)
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("damaged.pt")
        var archiveErrors = 0
        for _ in 0..<300 {
            var bytes = [UInt8](original)
            for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8)) }
            try Data(bytes).write(to: url)
            do { _ = try FormatRegistry.read(url, options: ReadOptions(architecture: try fixture.architecture())) } catch { archiveErrors += 1 }
        }
        print("pickle mutations: 4000, \(errors) refused; archive mutations: 300, \(archiveErrors) refused (seed 0x91c1e5)")
        #expect(archiveErrors > 100)
    }
}

enum TorchArchiveMembers {
    /// The data.pkl member of a torch.save file.
    static func pickle(of url: URL) throws -> Data {
        let archive = try ZipArchive(url: url)
        let member = try #require(archive.members.first { $0.name.hasSuffix("/data.pkl") })
        return try archive.read(member, limit: 1 << 30)
    }
}
