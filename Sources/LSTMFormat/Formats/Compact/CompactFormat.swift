import Foundation

/// The project's own `.lstm` format (`Spec/lstm-format.md`): a checksummed JSON header and 64-byte-aligned
/// tensor data that covers the file exactly, readable in place from a memory mapping.
public enum CompactFormat: ModelFileFormat {
    public static let name = "lstm"
    public static let fileSuffixes = [".lstm"]

    public static func matches(_ probe: FileProbe) -> Bool {
        probe.starts(with: CompactLayout.magic)
    }

    /// The file's bytes. Deterministic: the same model always gives the same bytes (L22).
    public static func encode(_ model: LSTMModel) -> Data {
        CompactWriter.encode(model)
    }

    /// Writes the file's bytes (`encode`'s, L22) to an open descriptor without holding them all in memory.
    /// Throws `IOProblem.cannotWrite` with the OS's reason.
    public static func write(_ model: LSTMModel, toDescriptor fd: Int32) throws {
        try CompactWriter.write(model, toDescriptor: fd)
    }

    /// Validates `data` completely (L1–L18, and L19 when `verifyChecksums`) and returns the model. The tensors'
    /// bytes are slices of `data`, not copies.
    public static func decode(_ data: Data, verifyChecksums: Bool = true) throws(CompactError) -> LSTMModel {
        try CompactReader(data: data).read(verifyChecksums: verifyChecksums)
    }

    /// Memory-maps the file and decodes it in place (L21).
    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        // Through MappedFile, so a writer done with a tensor can drop its pages (M4, K-W9).
        let data = try MappedFile(url: url).data
        // M1: the tensor data covers the file exactly (L17), so its size is what the model declares.
        try MemoryBudget.check(UInt64(data.count), for: "model")
        return try decode(data, verifyChecksums: options.verifyChecksums)
    }

    /// The outline without reading tensor data (`Spec/reliability.md`, M3): L1–L18 checked exactly as `read`
    /// checks them, the CRC-32s the stored ones (not verified). The file is mapped with `MADV_RANDOM`, so no
    /// read-ahead pulls tensor pages in: only the preamble, the header and the padding between tensors are
    /// touched. Nothing is allocated for tensors, so the memory budget (M1) does not apply.
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try CompactReader(data: try MappedFile(url: url, randomAccess: true).data).outline()
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        try CompactWriter.write(model, to: url)
    }
}
