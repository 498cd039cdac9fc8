import Foundation

/// torch.save files (`Spec/pytorch-mapping.md`, P-Z and P-C rules): a zip with `<dir>/data.pkl` (the pickled
/// object, read by `RestrictedUnpickler`) and `<dir>/data/<key>` (one little-endian storage per key).
enum TorchArchive {
    /// The first bytes of a legacy (pre-1.6) torch.save stream: protocol 2, then the magic number as LONG1.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    /// Largest storage member read: the memory budget (`Spec/reliability.md`, M2).
    static var storageLimit: UInt64 { MemoryBudget.bytes }

    /// The members named `<dir>/data.pkl` (a torch.save archive has one).
    static func pickleMembers(_ names: [String]) -> [String] {
        names.filter { n in n.hasSuffix("/data.pkl") && n.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
    }

    /// The one `<dir>/` holding `data.pkl`, or nil.
    static func recordPrefix(_ names: [String]) -> String? {
        let pickles = pickleMembers(names)
        return pickles.count == 1 ? String(pickles[0].dropLast("data.pkl".count)) : nil
    }

    static func isTorchScript(_ names: [String], prefix: String) -> Bool {
        names.contains(prefix + "constants.pkl") || names.contains { $0.hasPrefix(prefix + "code/") }
    }

    /// The state dict of a torch.save file, in pickle order, and the metadata we stored in `_metadata`.
    static func read(_ url: URL, options: ReadOptions) throws -> (entries: [(name: String, tensor: Tensor)], stored: [String: String]) {
        try read(try ZipArchive(url: url), options: options)
    }

    /// The same from an opened archive (a file's mapping, or bytes in memory).
    static func read(_ archive: ZipArchive, options: ReadOptions) throws -> (entries: [(name: String, tensor: Tensor)], stored: [String: String]) {
        let names = archive.members.map(\.name)
        guard let prefix = recordPrefix(names) else {
            let pickles = pickleMembers(names)
            throw TorchArchiveError.layout(pickles.isEmpty ? "no <dir>/data.pkl member"
                : "\(pickles.count) data.pkl members (\(pickles.joined(separator: ", "))); a torch.save archive has exactly one")
        }
        if isTorchScript(names, prefix: prefix) { throw TorchArchiveError.torchScript }
        if let e = archive[prefix + "byteorder"] {
            let order = String(decoding: try archive.read(e, limit: 64), as: UTF8.self)
            guard order == "little" else { throw TorchArchiveError.layout("byteorder is '\(order)'; only little-endian archives are read") }
        }
        let pickleEntry = archive[prefix + "data.pkl"]!
        let root = try RestrictedUnpickler.load(try archive.read(pickleEntry, limit: UInt64(RestrictedUnpickler.sizeLimit)))
        let stateDict = try TorchCheckpoint.stateDict(root, key: options.torch.key)
        var storages: [String: Data] = [:]
        var entries: [(String, Tensor)] = []
        for (name, value) in stateDict.entries {
            guard case .string(let key) = name else { continue }
            guard case .tensor(let ref) = value else {
                throw TorchArchiveError.tensor(name: key, reason: "is a \(value.typeName), not a plain tensor")
            }
            if storages[ref.storage.key] == nil {
                guard let e = archive[prefix + "data/" + ref.storage.key] else {
                    throw TorchArchiveError.storage(key: ref.storage.key, reason: "the archive has no such member")
                }
                storages[ref.storage.key] = try archive.read(e, limit: storageLimit)
            }
            entries.append((key, try TorchTensorView.materialize(ref, name: key, storage: storages[ref.storage.key]!)))
        }
        return (entries, TorchCheckpoint.storedMetadata(stateDict))
    }
}

/// Finding the state dict in what torch.load returns (P-C1).
enum TorchCheckpoint {
    /// Keys searched, in this order, for a state dict inside a checkpoint dict.
    static let searchOrder = ["state_dict", "model_state_dict", "model", "module", "net", "network", "weights", "params", "ema", "params_ema"]

    static func isStateDict(_ d: PickleDict) -> Bool {
        !d.entries.isEmpty && d.entries.allSatisfy { e in
            guard case .string = e.key else { return false }
            if case .tensor = e.value { return true }
            return false
        }
    }

    /// The string pairs of `_metadata["lstm_format"]` (set by BUILD on the state dict): what our writer stored (P-W3).
    static func storedMetadata(_ stateDict: PickleDict) -> [String: String] {
        var stored: [String: String] = [:]
        if let meta = stateDict.attributes?["_metadata"], case .dict(let m) = meta, let ours = m["lstm_format"], case .dict(let o) = ours {
            for (k, v) in o.entries { if case .string(let ks) = k, case .string(let vs) = v { stored[ks] = vs } }
        }
        return stored
    }

    /// The dict itself when it maps names to tensors; else the entry named by `key`; else the first entry of
    /// `searchOrder` that is a state dict.
    static func stateDict(_ root: PickleValue, key: String?) throws -> PickleDict {
        guard case .dict(let top) = root else { throw PyTorchError.noStateDict(keys: ["(the file holds a \(root.typeName), not a dict)"]) }
        if let key {
            var current = top
            let path = top[key] != nil ? [key] : key.split(separator: "/").map(String.init)
            for (i, part) in path.enumerated() {
                guard let v = current[part] else {
                    let here = current.entries.compactMap { e -> String? in if case .string(let s) = e.key { return s }; return nil }
                    throw PyTorchError.badKey(key, reason: "does not exist (entries: \(here.prefix(20).joined(separator: ", ")))")
                }
                guard case .dict(let d) = v else { throw PyTorchError.badKey(key, reason: "is a \(v.typeName), not a dict of tensors") }
                current = d
                if i == path.count - 1, !isStateDict(d) { throw PyTorchError.badKey(key, reason: "is not a dict of tensors") }
            }
            return current
        }
        if isStateDict(top) { return top }
        for k in searchOrder {
            if let v = top[k], case .dict(let d) = v, isStateDict(d) { return d }
        }
        let keys = top.entries.compactMap { e -> String? in if case .string(let s) = e.key { return s }; return nil }
        throw PyTorchError.noStateDict(keys: Array(keys.prefix(20)))
    }
}
