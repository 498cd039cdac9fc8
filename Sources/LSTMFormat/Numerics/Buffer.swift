/// A zero-initialized, fixed-size block of scalars owned by the verifier. Work buffers are allocated once per
/// (batch, steps) shape and reused, so the time loop never allocates.
final class Buffer<T: BLASScalar> {
    let p: UnsafeMutablePointer<T>
    let count: Int
    /// The buffer whose memory this one views (`init(viewing:offset:count:)`), kept alive by it; nil when owned.
    private let owner: Buffer<T>?

    init(count: Int) {
        self.count = count
        owner = nil
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    /// Elements `offset ..< offset + count` of `owner`, without a copy (the streamed layers of `Weights`).
    init(viewing owner: Buffer<T>, offset: Int, count: Int) {
        precondition(offset >= 0 && offset + count <= owner.count, "view outside its buffer")
        self.owner = owner
        self.count = count
        p = owner.p + offset
    }

    init(_ values: [T]) {
        count = values.count
        owner = nil
        p = .allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { p.update(from: base, count: count) } }
    }

    deinit { if owner == nil { p.deallocate() } }

    func zero() { p.update(repeating: 0, count: count) }

    func tensor(shape: [Int], offset: Int = 0, count n: Int? = nil) -> Tensor {
        T.tensor(shape: shape, values: UnsafeBufferPointer(start: p + offset, count: n ?? count))
    }
}
