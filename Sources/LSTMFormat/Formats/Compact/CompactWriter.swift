import Foundation

/// Lays out a model as a `.lstm` file (`Spec/lstm-format.md`): the preamble, the canonical header, zero padding
/// to 64, then every tensor in canonical order at its 64-aligned offset with zero padding between. The file is
/// written part by part, never concatenated in memory; a tensor whose bytes are a deferred move
/// (`Spec/layout.md` G8) is moved band by band into the output and never made whole.
enum CompactWriter {
    /// One tensor's place in the file: its offset from D and its CRC-32.
    typealias Entry = (name: String, tensor: Tensor, offset: Int, crc: UInt32)

    /// The preamble, header and padding up to D, and every tensor's entry. Computes each tensor's CRC-32 (a
    /// deferred move's band by band, G8).
    static func layout(_ model: LSTMModel) -> (head: Data, entries: [Entry]) {
        // G8: the deferred moves' CRC-32s, band by band, on every core when there is enough work for that.
        let moves = model.orderedTensors.compactMap { $0.tensor.verifiedCRC32 == nil ? $0.tensor.deferred : nil }
        if worthThreads(moves.map(\.rows)) { DispatchQueue.concurrentPerform(iterations: moves.count) { _ = moves[$0].crc32 } }
        var entries: [Entry] = []
        var offset = 0
        for (name, tensor) in model.orderedTensors {
            // In-memory tensors are far below 2^63 bytes: the layout cannot overflow here.
            offset = CompactLayout.aligned(offset) ?? offset
            entries.append((name, tensor, offset, tensor.crc32))
            offset += tensor.byteCount
        }
        let header = CompactHeader.encode(model, entries: entries)

        var head = Data(CompactLayout.magic)
        append(model.architecture.isMasked ? CompactLayout.maskedVersion : CompactLayout.version, to: &head)
        append(CRC32.checksum(Data(header)), to: &head)
        append(UInt64(header.count), to: &head)
        head.append(contentsOf: header)
        head.append(Data(count: padding(after: head.count)))
        return (head, entries)
    }

    /// The whole file in memory: `write(_:into:)`'s parts, collected.
    static func encode(_ model: LSTMModel) -> Data {
        let (head, entries) = layout(model)
        var data = Data(capacity: head.count + (entries.last.map { $0.offset + $0.tensor.byteCount } ?? 0))
        write(head: head, entries: entries) { part in
            if let base = part.baseAddress { data.append(base.assumingMemoryBound(to: UInt8.self), count: part.count) }
        }
        return data
    }

    /// Writes the file to `url` (replacing it), part by part.
    static func write(_ model: LSTMModel, to url: URL) throws {
        // open(2) and write(2), so a failure carries the OS's reason ("Read-only file system", "No space left on device").
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        try write(model, toDescriptor: fd)
    }

    /// Writes the file's bytes to an open descriptor, part by part (never the whole file in memory), starting
    /// the writeback as it goes (`Spec/reliability.md` W1a).
    static func write(_ model: LSTMModel, toDescriptor fd: Int32) throws {
        var out = StreamedWrite(descriptor: fd)
        try write(model) { try out.write($0) }
    }

    /// Hands the file's bytes to `sink` in order, in parts; a deferred move's bands are made on a second thread
    /// while `sink` takes the one before (small models: on this thread). A throwing `sink` ends the write.
    static func write(_ model: LSTMModel, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let (head, entries) = layout(model)
        try write(head: head, entries: entries, into: sink)
    }

    /// The file's parts in order, the one place that says it: the head, then each tensor and the padding after it.
    private static func write(head: Data, entries: [Entry], into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try head.withUnsafeBytes { try sink($0) }
        let moves = entries.compactMap { $0.tensor.deferred?.rows }
        let relay = worthThreads(moves) ? moving(moves) : nil
        defer {
            relay?.cancel()
            relay?.join()
        }
        for (k, e) in entries.enumerated() {
            if let move = e.tensor.deferred?.rows {
                if let relay {
                    var last = false
                    while !last {
                        guard try relay.drain({ band, lastOfMove in
                            try sink(band)
                            last = lastOfMove
                        }) else { preconditionFailure("the band mover stopped early") }
                    }
                } else {
                    try move.forEachBand(limit: TensorRows.bandLimit, sink)
                }
            } else {
                try e.tensor.bytes.withUnsafeBytes { try sink($0) }
            }
            let pad = padding(after: k, of: entries)
            if pad > 0 { try Data(count: pad).withUnsafeBytes { try sink($0) } }
        }
    }

    /// G8: moves the deferred moves' bands, in order, on a second thread into the relay's cache-sized buffers;
    /// each band's tag says whether it ends its move.
    private static func moving(_ moves: [TensorRows]) -> BufferRelay<Bool> {
        let relay = BufferRelay<Bool>(capacity: moves.reduce(0) { max($0, $1.bandCapacity(limit: TensorRows.bandLimit)) }, alignment: 64)
        relay.start("lstm-format band mover") {
            for move in moves {
                let bands = move.bands(limit: TensorRows.bandLimit)
                for (k, band) in bands.enumerated() {
                    guard relay.fill({ (move.fill(band, into: $0), k == bands.count - 1) }) else { return }
                }
            }
            relay.close()
        }
        return relay
    }

    /// Whether deferred moves are enough work to spread over threads (starting them costs more for a small model).
    private static func worthThreads(_ moves: [TensorRows]) -> Bool {
        moves.count > 1 && moves.reduce(0) { $0 + $1.byteCount } >= 4 << 20
    }

    /// The zero bytes after entry `k` up to the next tensor's offset (none after the last).
    private static func padding(after k: Int, of entries: [Entry]) -> Int {
        k + 1 < entries.count ? padding(after: entries[k].offset + entries[k].tensor.byteCount) : 0
    }

    private static func padding(after n: Int) -> Int {
        (CompactLayout.aligned(n) ?? n) - n
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
