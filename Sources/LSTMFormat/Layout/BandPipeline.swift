import Foundation

/// Moves the bands of deferred moves (`Spec/layout.md` G8) on a second thread while the caller writes them: the
/// mover fills `slotCount` buffers in turn, in band order, and waits while all are full; the caller takes them
/// in the same order. With two cores the transposes and the writes overlap.
final class BandPipeline: @unchecked Sendable {
    static let slotCount = 3

    private let moves: [DeferredMove]
    private let slots: [UnsafeMutableRawPointer]
    /// Per slot, set by the mover before it signals `filled`: the band's byte count, and whether it ends its move.
    private let counts = UnsafeMutablePointer<Int>.allocate(capacity: BandPipeline.slotCount)
    private let lastOfMove = UnsafeMutablePointer<Bool>.allocate(capacity: BandPipeline.slotCount)
    private let free = DispatchSemaphore(value: BandPipeline.slotCount)
    private let filled = DispatchSemaphore(value: 0)
    private let done = DispatchGroup()
    private let lock = NSLock()
    private var cancelled = false
    private var next = 0  // the slot the caller takes next

    /// Starts moving `moves`' bands, in order.
    init(_ moves: [DeferredMove]) {
        self.moves = moves
        let capacity = max(1, moves.reduce(0) { max($0, $1.bandCapacity) })
        slots = (0..<Self.slotCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64) }
        counts.initialize(repeating: 0, count: Self.slotCount)
        lastOfMove.initialize(repeating: false, count: Self.slotCount)
        DispatchQueue.global().async(group: done) { [self] in produce() }
    }

    deinit {
        finish()
        slots.forEach { $0.deallocate() }
        counts.deallocate()
        lastOfMove.deallocate()
    }

    private func produce() {
        var slot = 0
        for move in moves {
            let bands = move.bands
            for (k, band) in bands.enumerated() {
                free.wait()
                if lock.withLock({ cancelled }) { return }
                counts[slot] = move.move(band, into: slots[slot])
                lastOfMove[slot] = k == bands.count - 1
                filled.signal()
                slot = (slot + 1) % Self.slotCount
            }
        }
    }

    /// Hands the bands of the next move to `body`, in order. A throwing `body` stops the mover.
    func take(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            filled.wait()
            let slot = next
            next = (next + 1) % Self.slotCount
            do {
                try body(UnsafeRawBufferPointer(start: slots[slot], count: counts[slot]))
            } catch {
                finish()
                throw error
            }
            let last = lastOfMove[slot]
            free.signal()
            if last { return }
        }
    }

    /// Stops the mover (if it is still running) and waits for it.
    func finish() {
        lock.withLock { cancelled = true }
        for _ in 0..<Self.slotCount { free.signal() }
        done.wait()
    }
}
