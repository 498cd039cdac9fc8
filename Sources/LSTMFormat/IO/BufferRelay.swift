import Foundation

/// A few reused buffers handed between two threads in order, so that making bytes and writing them overlap on
/// two cores (`Spec/layout.md` G8, `Spec/hdf5-layout.md` H16): the filling side takes a free buffer, fills it
/// and passes it on with a `Tag` (what the draining side needs to know of it); the draining side takes the
/// filled buffers in the same order and gives each back when done. With three buffers one is filled while one
/// is drained and one waits. One side runs on the caller's thread, the other on the thread `start` begins.
/// The filling side `close`s after its last buffer; either side may `cancel` (a failure), which wakes the other.
final class BufferRelay<Tag>: @unchecked Sendable {
    static var bufferCount: Int { 3 }

    private let buffers: [UnsafeMutableRawPointer]
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawPointer]
    private var filled: [(buffer: UnsafeMutableRawPointer, count: Int, tag: Tag)] = []
    private var closed = false
    private var cancelled = false
    private var running = false

    /// `bufferCount` buffers of `capacity` bytes at `alignment`.
    init(capacity: Int, alignment: Int) {
        buffers = (0..<Self.bufferCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: max(1, capacity), alignment: alignment) }
        free = buffers
    }

    /// `join` first: no thread may still hold a buffer.
    deinit {
        buffers.forEach { $0.deallocate() }
    }

    /// Runs `body` (one side of the relay) on a new thread named `name`.
    func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        condition.withLock { running = true }
        let thread = Thread { [self] in
            body()
            condition.withLock {
                running = false
                condition.broadcast()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the thread `start` began to end.
    func join() {
        condition.withLock { while running { condition.wait() } }
    }

    /// Filling side: waits for a free buffer and hands it to `body`, which fills it and returns the byte count
    /// and tag; then passes it on. Returns false, without calling `body`, once the relay is cancelled.
    func fill(_ body: (UnsafeMutableRawPointer) throws -> (count: Int, tag: Tag)) rethrows -> Bool {
        let taken: UnsafeMutableRawPointer? = condition.withLock {
            while free.isEmpty && !cancelled { condition.wait() }
            return cancelled ? nil : free.removeFirst()
        }
        guard let buffer = taken else { return false }
        let piece: (count: Int, tag: Tag)
        do {
            piece = try body(buffer)
        } catch {
            hand(back: buffer)
            throw error
        }
        condition.withLock {
            filled.append((buffer, piece.count, piece.tag))
            condition.broadcast()
        }
        return true
    }

    /// Filling side: no more buffers will come.
    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    /// Draining side: waits for the next filled buffer and hands its bytes and tag to `body`, then frees it.
    /// Returns false once the relay is cancelled, or closed with every buffer drained.
    func drain(_ body: (UnsafeRawBufferPointer, Tag) throws -> Void) rethrows -> Bool {
        let next: (buffer: UnsafeMutableRawPointer, count: Int, tag: Tag)? = condition.withLock {
            while filled.isEmpty && !closed && !cancelled { condition.wait() }
            return cancelled || filled.isEmpty ? nil : filled.removeFirst()
        }
        guard let next else { return false }
        defer { hand(back: next.buffer) }
        try body(UnsafeRawBufferPointer(start: next.buffer, count: next.count), next.tag)
        return true
    }

    /// Either side: stops both (a failure); whoever waits returns false.
    func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }

    private func hand(back buffer: UnsafeMutableRawPointer) {
        condition.withLock {
            free.append(buffer)
            condition.broadcast()
        }
    }
}
