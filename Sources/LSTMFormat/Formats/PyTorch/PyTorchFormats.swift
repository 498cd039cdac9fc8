import Foundation

/// safetensors files holding a PyTorch state dict (`Spec/pytorch-mapping.md`, P-S and P-M rules): read any
/// nn.LSTM / nn.Linear state dict, write one in nn.LSTM naming with the canonical architecture in `__metadata__`.
public enum SafetensorsFormat: ModelFileFormat {
    public static let name = "safetensors"
    public static let fileSuffixes = [".safetensors"]

    /// An 8-byte header length followed by a JSON object: `{` right after the length, which lies within the cap.
    public static func matches(_ probe: FileProbe) -> Bool {
        guard probe.head.count >= 9 else { return false }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(probe.head[probe.head.startIndex + k]) << (8 * UInt64(k)) }
        return n >= 2 && n <= SafetensorsFile.headerLimit && probe.head[probe.head.startIndex + 8] == UInt8(ascii: "{")
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var file = try SafetensorsFile.decode(data)
        if options.declaredTensorsOnly {
            file.tensors = try file.tensors.map { ($0.name, try Tensor.declaredOnly(dtype: $0.tensor.dtype, shape: $0.tensor.shape)) }
        }
        return try PyTorchStateDict.model(file.tensors, orderKnown: false, stored: file.metadata, options: options, format: name)
    }

    /// M3: the header's dtypes and shapes (the file is mapped, its tensor bytes are never touched); the state
    /// dict mapping runs on zero pages.
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try outlineWithoutTensorData(url, options)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        let (entries, metadata) = try PyTorchStateDict.stateDict(model)
        var meta = metadata
        meta["format"] = "pt"  // what safetensors.torch.save_file writes; transformers checks it
        try SafetensorsFile(tensors: entries, metadata: meta).encode().write(to: url)
    }
}

/// torch.save files (`.pt`, `.pth`, `.bin`, `.ckpt`; `Spec/pytorch-mapping.md`, P-Z, P-P, P-C rules): read with
/// our restricted unpickler (nothing is ever executed), state dicts found inside checkpoint dicts; written as a
/// state dict that `torch.load(weights_only=True)` loads, with the canonical architecture in `_metadata`.
public enum TorchFormat: ModelFileFormat {
    public static let name = "torch"
    public static let fileSuffixes = [".pt", ".pth"]

    /// A zip with one `<dir>/data.pkl`, or the legacy torch.save magic (recognised in order to refuse it).
    public static func matches(_ probe: FileProbe) -> Bool {
        if probe.starts(with: TorchArchive.legacyMagic) { return true }
        guard let names = probe.zipEntryNames else { return false }
        // Any <dir>/data.pkl claims the file, so that two of them are refused by name (P-Z1), not "not a model".
        return !TorchArchive.pickleMembers(names).isEmpty
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        let probe = try FileProbe(url: url)
        if probe.starts(with: TorchArchive.legacyMagic) { throw TorchArchiveError.legacyFormat }
        let (entries, stored) = try TorchArchive.read(url, options: options)
        return try PyTorchStateDict.model(entries, orderKnown: true, stored: stored, options: options, format: name)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        let (entries, metadata) = try PyTorchStateDict.stateDict(model)
        try TorchArchiveWriter.write(entries, metadata: metadata, to: url)
    }
}
