import CSystemShim
import Foundation

/// Writes large datasets' bytes straight into an HDF5 file libhdf5 is writing, at the addresses it allocated
/// for them (`Spec/hdf5-layout.md`, H16): each dataset is made a piece at a time (a band of at most
/// `pieceBytes`) into one of a `BufferRelay`'s reused, page-aligned buffers by the caller's thread, its CRC-32
/// summed while the bytes are still in cache, and the piece written by a second thread while the next one is
/// made. Pieces that start and end on a 4096-byte boundary of the file go out with `O_DIRECT` where the file
/// system takes it (no copy into the page cache, and W1's final `fsync` finds nothing left to write); the
/// rest, and every piece where `O_DIRECT` is refused, with `pwrite` and the start of its writeback (W1a).
final class RawDataWriter: @unchecked Sendable {
    /// A region of the file written here, with the CRC-32 of its bytes (`Spec/keras-mapping.md`, K-W9).
    struct Region: Equatable {
        let offset: Int
        let count: Int
        let crc: UInt32
    }

    /// Largest piece made and written at once.
    static let pieceBytes = 4 << 20
    /// File offsets and lengths of `O_DIRECT` writes are multiples of this (the page size, which covers the
    /// logical block size of common disks).
    static let alignment = 4096

    /// The regions written so far, in the order written.
    private(set) var regions: [Region] = []
    /// Whether any piece went out with `O_DIRECT` (for tests; read after `finish`).
    private(set) var wroteDirectly = false

    private let fd: Int32
    private let direct: Int32
    /// The pieces in flight, their tags the file offsets; started by the first write.
    private var relay: BufferRelay<Int>?
    private let lock = NSLock()
    private var failure: IOProblem?
    /// Set by the writing thread: `O_DIRECT` was refused, the buffered descriptor writes every later piece.
    private var directFailed = false
    private var finished = false

    /// Opens `path` (an existing file, created by libhdf5) for writing, with `O_DIRECT` unless `allowDirect`
    /// is false or the file system refuses it.
    init(path: String, allowDirect: Bool = true) throws {
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        direct = allowDirect ? lstm_open_direct(path) : -1
    }

    /// The writing thread holds the writer until `finish` stops it, so this runs after `finish`.
    deinit {
        if !finished {
            close(fd)
            if direct >= 0 { close(direct) }
        }
    }

    /// Writes `tensor`'s bytes at file offset `offset` (where libhdf5 allocated them) and records the region.
    /// Throws `IOProblem.cannotWrite` with the OS's reason when a write fails.
    func write(at offset: Int, _ tensor: TensorRows) throws {
        let total = tensor.byteCount
        guard total > 0 else { return }
        let relay = startedRelay()
        let bands = tensor.bands(limit: Self.pieceBytes)
        var crc: UInt32 = 0
        var carry = [UInt8]()
        var position = offset
        for (k, band) in bands.enumerated() {
            let passed = relay.fill { buffer in
                carry.withUnsafeBytes { if $0.count > 0 { memcpy(buffer, $0.baseAddress!, $0.count) } }
                let made = buffer + carry.count
                let count = tensor.fill(band, into: made)
                crc = CRC32.update(crc, UnsafeRawBufferPointer(start: made, count: count))
                let end = position + carry.count + count
                // Cut at the last aligned offset so the next piece starts aligned; the last piece takes everything.
                let cut = k == bands.count - 1 ? end : max(position, end - end % Self.alignment)
                carry = Array(UnsafeRawBufferPointer(start: buffer + (cut - position), count: end - cut))
                defer { position = cut }
                return (cut - position, position)
            }
            if !passed { break }
        }
        if let failure = lock.withLock({ self.failure }) { throw failure }
        // The relay stops early only after a failure the writing thread records (above); should it ever stop
        // without one, this is still an error, never a file with a hole in it.
        guard position == offset + total else { throw IOProblem.cannotWrite("the writing thread stopped before the tensor was written") }
        regions.append(Region(offset: offset, count: total, crc: crc))
    }

    /// Waits for every piece to be written, stops the writing thread and closes the descriptors; throws the
    /// first write error. Calling it again does nothing.
    func finish() throws {
        guard !finished else { return }
        finished = true
        relay?.close()
        relay?.join()
        close(fd)
        if direct >= 0 { close(direct) }
        if let failure = lock.withLock({ self.failure }) { throw failure }
    }

    /// The relay, with its writing thread, started on first use (a file with no large dataset starts none):
    /// buffers hold a piece and the unaligned tail of the piece before.
    private func startedRelay() -> BufferRelay<Int> {
        if let relay { return relay }
        let relay = BufferRelay<Int>(capacity: Self.pieceBytes + Self.alignment, alignment: Self.alignment)
        relay.start("lstm-format raw writer") { [self] in
            // Takes pieces in order and writes them; after a failure, stops the caller's side too.
            while relay.drain({ piece, offset in
                let error = writePiece(piece, offset: offset)
                guard error != 0 else { return }
                lock.withLock { failure = .cannotWrite(String(cString: strerror(error))) }
                relay.cancel()
            }) {}
        }
        self.relay = relay
        return relay
    }

    /// Writes one piece; 0 or the errno of the failure.
    private func writePiece(_ piece: UnsafeRawBufferPointer, offset: Int) -> Int32 {
        guard piece.count > 0 else { return 0 }
        if direct >= 0, !directFailed, offset % Self.alignment == 0, piece.count % Self.alignment == 0 {
            let error = AtomicFile.writeAllReturningErrno(piece, toDescriptor: direct, at: offset)
            if error == 0 {
                wroteDirectly = true
                return 0
            }
            // No O_DIRECT for this file after all (EINVAL: alignment or file system): the buffered descriptor
            // writes this piece and every later one.
            guard error == EINVAL else { return error }
            directFailed = true
        }
        let error = AtomicFile.writeAllReturningErrno(piece, toDescriptor: fd, at: offset)
        if error == 0 { _ = lstm_start_writeback_range(fd, Int64(offset), Int64(piece.count)) }  // W1a
        return error
    }
}
