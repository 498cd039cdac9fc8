import Foundation

/// A whole file mapped read-only (`MAP_PRIVATE`, `PROT_READ`) for readers that hand out tensors without copying
/// them (`Spec/reliability.md`, M4): views of it are `Data` that keep the mapping alive, and the pages a reader
/// has finished with can be dropped from the process (`dropResidentPages`) — they stay in the page cache and
/// fault back in if read again, so dropping never changes a byte, only the resident set.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int

    /// Maps `url`; throws `IOProblem` when it cannot be opened or mapped. `randomAccess` turns the kernel's
    /// read-ahead off (`MADV_RANDOM`), for a reader that touches a few small parts of a large file (M3).
    init(url: URL, randomAccess: Bool = false) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotOpen(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOProblem.cannotOpen(String(cString: strerror(errno))) }
        count = Int(st.st_size)
        guard count > 0 else { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw IOProblem.cannotOpen("mmap: \(String(cString: strerror(errno)))") }
        if randomAccess { _ = madvise(p, count, Int32(MADV_RANDOM)) }
        base = UnsafeRawPointer(p)
        MappedFile.register(self)
    }

    deinit {
        guard let base else { return }
        MappedFile.unregister(self)
        munmap(UnsafeMutableRawPointer(mutating: base), count)
    }

    /// The whole file as `Data` (indices from 0), without a copy.
    var data: Data { view(0..<count) }

    /// Bytes `range` of the file as `Data` with indices from 0, without a copy; the view keeps the mapping alive.
    func view(_ range: Range<Int>) -> Data {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "view \(range) outside a \(count)-byte mapping")
        guard let base, !range.isEmpty else { return Data() }
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base + range.lowerBound), count: range.count,
                    deallocator: .custom { [self] _, _ in withExtendedLifetime(self) {} })
    }

    /// Removes the whole pages inside `range` from the process's resident set (`MADV_DONTNEED` on a clean
    /// private file mapping: the next read faults them back in from the page cache, unchanged).
    func dropResidentPages(_ range: Range<Int>) {
        guard let base else { return }
        let a = Int(bitPattern: base)
        MappedFile.drop(a + max(0, range.lowerBound), a + min(count, range.upperBound))
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// madvise(MADV_DONTNEED) on the whole pages inside [a, b) of a mapping made here.
    private static func drop(_ a: Int, _ b: Int) {
        let start = (a + pageSize - 1) / pageSize * pageSize, end = b / pageSize * pageSize
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    // MARK: dropping pages by view

    private static let lock = NSLock()
    nonisolated(unsafe) private static var live: [ObjectIdentifier: Range<Int>] = [:]

    private static func register(_ file: MappedFile) {
        let start = Int(bitPattern: file.base)
        lock.withLock { live[ObjectIdentifier(file)] = start..<(start + file.count) }
    }

    private static func unregister(_ file: MappedFile) {
        _ = lock.withLock { live.removeValue(forKey: ObjectIdentifier(file)) }
    }

    /// Drops the resident pages of `bytes` when they are a view of a live mapping (a reader is done with a
    /// source tensor); does nothing for any other `Data`.
    static func dropResidentPages(of bytes: Data) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let p = raw.baseAddress else { return }
            let a = Int(bitPattern: p), b = a + raw.count
            lock.withLock {
                // The view keeps its mapping alive, so a mapping that holds it is still mapped here.
                if live.values.contains(where: { a >= $0.lowerBound && b <= $0.upperBound }) { drop(a, b) }
            }
        }
    }
}
