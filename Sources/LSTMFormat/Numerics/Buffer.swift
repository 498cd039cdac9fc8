/// A zero-initialized, fixed-size block of scalars owned by the verifier. Work buffers are allocated once per
/// (batch, steps) shape and reused, so the time loop never allocates.
final class Buffer<T: BLASScalar> {
    let p: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int) {
        self.count = count
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    init(_ values: [T]) {
        count = values.count
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { p.update(from: base, count: count) } }
    }

    deinit { p.deallocate() }

    func zero() { p.update(repeating: 0, count: count) }

    func tensor(shape: [Int], offset: Int = 0, count n: Int? = nil) -> Tensor {
        T.tensor(shape: shape, values: UnsafeBufferPointer(start: p + offset, count: n ?? count))
    }
}
