import Foundation

/// Lays out a model as a `.lstm` file (`Spec/lstm-format.md`): the preamble, the canonical header, zero padding
/// to 64, then every tensor in canonical order at its 64-aligned offset with zero padding between. The result is
/// a list of byte chunks so that a file can be written without first concatenating the tensors in memory.
enum CompactWriter {
    static func chunks(_ model: LSTMModel) -> [Data] {
        var entries: [(name: String, tensor: Tensor, offset: Int, crc: UInt32)] = []
        var offset = 0
        for (name, tensor) in model.orderedTensors {
            // In-memory tensors are far below 2^63 bytes: the layout cannot overflow here.
            offset = CompactLayout.aligned(offset) ?? offset
            entries.append((name, tensor, offset, tensor.crc32))
            offset += tensor.bytes.count
        }
        let header = CompactHeader.encode(model, entries: entries)

        var head = Data(CompactLayout.magic)
        append(model.architecture.isMasked ? CompactLayout.maskedVersion : CompactLayout.version, to: &head)
        append(CRC32.checksum(Data(header)), to: &head)
        append(UInt64(header.count), to: &head)
        head.append(contentsOf: header)
        head.append(Data(count: padding(after: head.count)))

        var out = [head]
        for (k, e) in entries.enumerated() {
            out.append(e.tensor.bytes)
            if k + 1 < entries.count {
                let pad = padding(after: e.offset + e.tensor.bytes.count)
                if pad > 0 { out.append(Data(count: pad)) }
            }
        }
        return out
    }

    /// The whole file in memory.
    static func encode(_ model: LSTMModel) -> Data {
        let parts = chunks(model)
        var data = Data(capacity: parts.reduce(0) { $0 + $1.count })
        for p in parts { data.append(p) }
        return data
    }

    /// Writes the file to `url` (replacing it), chunk by chunk.
    static func write(_ model: LSTMModel, to url: URL) throws {
        // open(2) and write(2), so a failure carries the OS's reason ("Read-only file system", "No space left on device").
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        try write(model, toDescriptor: fd)
    }

    /// Writes the file's bytes to an open descriptor, chunk by chunk (never the whole file in memory).
    static func write(_ model: LSTMModel, toDescriptor fd: Int32) throws {
        for part in chunks(model) { try AtomicFile.writeAll(part, toDescriptor: fd) }
    }

    private static func padding(after n: Int) -> Int {
        (CompactLayout.aligned(n) ?? n) - n
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
