import CSystemShim
import Foundation

/// Writes large datasets' bytes straight into an HDF5 file libhdf5 is writing, at the addresses it allocated
/// for them (`Spec/hdf5-layout.md`, H16): each dataset is made a piece at a time (at most `pieceBytes`, whole
/// rows) into one of a few reused, page-aligned buffers by the caller's thread, its CRC-32 summed while the
/// bytes are still in cache, and the piece written by a second thread while the next one is made. Pieces
/// that start and end on a 4096-byte boundary of the file go out with `O_DIRECT` where the file system takes
/// it (no copy into the page cache, and W1's final `fsync` finds nothing left to write); the rest, and every
/// piece where `O_DIRECT` is refused, with `pwrite` and the start of its writeback (W1a).
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
    /// Buffers in flight: one being made, one being written, one spare.
    static let bufferCount = 3

    /// The regions written so far, in the order written.
    private(set) var regions: [Region] = []
    /// Whether any piece went out with `O_DIRECT` (for tests).
    private(set) var wroteDirectly = false

    private let path: String
    private let fd: Int32
    private var direct: Int32
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawPointer] = []
    private var capacity = 0
    private var allocated: [UnsafeMutableRawPointer] = []
    private var jobs: [(buffer: UnsafeMutableRawPointer, count: Int, offset: Int)] = []
    private var failure: IOProblem?
    private var directFailed = false
    private var stopping = false
    private var worker: Thread?
    private var finished = false

    /// Opens `path` (an existing file, created by libhdf5) for writing, with `O_DIRECT` unless `allowDirect`
    /// is false or the file system refuses it.
    init(path: String, allowDirect: Bool = true) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        direct = allowDirect ? lstm_open_direct(path) : -1
    }

    /// The writing thread holds the writer until `finish` stops it, so this runs after `finish`.
    deinit {
        for b in allocated { b.deallocate() }
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
        let rowBytes = tensor.rowBytes
        let rowsPerPiece = max(1, Self.pieceBytes / rowBytes)
        try reserve(rowsPerPiece * rowBytes + Self.alignment)
        var crc: UInt32 = 0
        var carry = [UInt8]()
        var position = offset
        var row = 0
        while row < tensor.rowCount {
            let rows = row..<min(tensor.rowCount, row + rowsPerPiece)
            let buffer = try acquire()
            carry.withUnsafeBytes { if $0.count > 0 { memcpy(buffer, $0.baseAddress!, $0.count) } }
            let made = buffer + carry.count
            tensor.fill(rows, made)
            let count = rows.count * rowBytes
            crc = CRC32.update(crc, UnsafeRawBufferPointer(start: made, count: count))
            let end = position + carry.count + count
            // Cut at the last aligned offset so the next piece starts aligned; the last piece takes everything.
            let cut = rows.upperBound == tensor.rowCount ? end : max(position, end - end % Self.alignment)
            carry = Array(UnsafeRawBufferPointer(start: buffer + (cut - position), count: end - cut))
            submit(buffer, count: cut - position, offset: position)
            position = cut
            row = rows.upperBound
        }
        precondition(position == offset + total, "RawDataWriter: pieces do not add up to the tensor")
        regions.append(Region(offset: offset, count: total, crc: crc))
        if let failure = condition.withLock({ self.failure }) { throw failure }
    }

    /// Waits for every piece to be written, stops the writing thread and closes the descriptors; throws the
    /// first write error. Calling it again does nothing.
    func finish() throws {
        guard !finished else { return }
        finished = true
        condition.withLock {
            stopping = true
            condition.broadcast()
            while worker != nil { condition.wait() }
        }
        close(fd)
        if direct >= 0 { close(direct) }
        if let failure { throw failure }
    }

    // MARK: the pipeline

    /// Makes sure every buffer holds at least `bytes` (waiting for pieces in flight before growing them).
    private func reserve(_ bytes: Int) throws {
        guard bytes > capacity else { return }
        condition.withLock { while free.count < allocated.count { condition.wait() } }
        for b in allocated { b.deallocate() }
        capacity = max(bytes, Self.pieceBytes + Self.alignment)
        allocated = (0..<Self.bufferCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment) }
        condition.withLock { free = allocated }
        if worker == nil {
            let thread = Thread { self.run() }
            thread.name = "lstm-format raw writer"
            worker = thread
            thread.start()
        }
    }

    private func acquire() throws -> UnsafeMutableRawPointer {
        try condition.withLock {
            while free.isEmpty && failure == nil { condition.wait() }
            if let failure { throw failure }
            return free.removeLast()
        }
    }

    private func submit(_ buffer: UnsafeMutableRawPointer, count: Int, offset: Int) {
        condition.withLock {
            jobs.append((buffer, count, offset))
            condition.broadcast()
        }
    }

    /// The writing thread: takes pieces in order, writes them (nothing more after a failure), gives the
    /// buffers back.
    private func run() {
        while true {
            let next: (job: (buffer: UnsafeMutableRawPointer, count: Int, offset: Int), failed: Bool)? = condition.withLock {
                while jobs.isEmpty && !stopping { condition.wait() }
                return jobs.isEmpty ? nil : (jobs.removeFirst(), failure != nil)
            }
            guard let next else { break }
            let error = next.failed ? 0 : writePiece(next.job.buffer, count: next.job.count, offset: next.job.offset)
            condition.withLock {
                if error != 0, failure == nil { failure = .cannotWrite(String(cString: strerror(error))) }
                free.append(next.job.buffer)
                condition.broadcast()
            }
        }
        condition.withLock {
            worker = nil
            condition.broadcast()
        }
    }

    /// Writes one piece; 0 or the errno of the failure.
    private func writePiece(_ buffer: UnsafeMutableRawPointer, count: Int, offset: Int) -> Int32 {
        guard count > 0 else { return 0 }
        if direct >= 0, !directFailed, offset % Self.alignment == 0, count % Self.alignment == 0 {
            let error = AtomicFile.writeAllReturningErrno(UnsafeRawBufferPointer(start: buffer, count: count), toDescriptor: direct, at: offset)
            if error == 0 {
                wroteDirectly = true
                return 0
            }
            // No O_DIRECT for this file after all (EINVAL: alignment or file system): the buffered descriptor
            // writes this piece and every later one.
            guard error == EINVAL else { return error }
            directFailed = true
        }
        let error = AtomicFile.writeAllReturningErrno(UnsafeRawBufferPointer(start: buffer, count: count), toDescriptor: fd, at: offset)
        if error == 0 { _ = lstm_start_writeback_range(fd, Int64(offset), Int64(count)) }  // W1a
        return error
    }
}
