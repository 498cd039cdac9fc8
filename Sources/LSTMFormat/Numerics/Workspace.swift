import CStepKernels
/// Every buffer one forward pass (and, on demand, one BPTT) needs for a given batch size and sequence length.
/// All activations are stored *time-major*: row t·B + b holds step t of sequence b, so one step of the whole
/// batch is a contiguous [B, width] block that a GEMM reads or writes directly.
final class Workspace<T: BLASScalar> {
    /// One cell's stored forward state, indexed by *input* time t (the step x(t) was consumed).
    final class CellState {
        /// [T·B, 4H]: pre-activations, then gate outputs f, i, C̃, o; BPTT overwrites them with dL/d(pre-activation).
        let z: Buffer<T>
        /// [(T+1)·B, S]: h at `slot(t)` (S = P projected, M24, else H); the one extra slot is h(-1) = 0 and is
        /// never written.
        let h: Buffer<T>
        /// [T·B, H]: m(t) = o(t) ⊙ act(C(t)) of a projected cell (M24), whose h(t) = m(t) W_hrᵀ; nil otherwise.
        let m: Buffer<T>?
        /// [(T+1)·B, H]: C, same slots as `h`.
        let c: Buffer<T>
        /// [T·B, H]: act(C(t)) at row block t.
        let actC: Buffer<T>
        /// Reads x(T-1) … x(0) when true.
        let reverse: Bool
        let steps: Int

        init(batch: Int, steps: Int, hidden: Int, projection: Int? = nil, reverse: Bool) {
            z = Buffer(count: steps * batch * 4 * hidden)
            h = Buffer(count: (steps + 1) * batch * (projection ?? hidden))
            m = projection == nil ? nil : Buffer(count: steps * batch * hidden)
            c = Buffer(count: (steps + 1) * batch * hidden)
            actC = Buffer(count: steps * batch * hidden)
            self.reverse = reverse
            self.steps = steps
        }

        /// Slot of the state computed at input time t: forward cells keep slot 0 for h(-1), backward cells slot T.
        @inline(__always) func slot(_ t: Int) -> Int { reverse ? t : t + 1 }
        /// Slot of the state the step at input time t starts from.
        @inline(__always) func previousSlot(_ t: Int) -> Int { reverse ? t + 1 : t }
    }

    let batch: Int
    let steps: Int
    /// [T·B, I0]: the inputs, time-major.
    let inputs: Buffer<T>
    /// cells[k][c], as in `Weights.cells`.
    let cells: [[CellState]]
    /// [T·B, out_k] merged output of layer k; nil for a `forward` layer, whose output is its cell's `h` slots 1…T.
    let layerOutputs: [Buffer<T>?]
    /// [B, out] input of the head for many-to-one (each cell's last computed state, merged); nil otherwise.
    let lastStep: Buffer<T>?
    /// [N, out_j] output of dense layer j, N = T·B (many-to-many) or B (many-to-one).
    let dense: [Buffer<T>]
    /// Rows fed to the head: T·B or B.
    let headRows: Int
    /// [T·B] time-major: 1 where step t of sequence b is computed, 0 where it is masked (M18); nil for a model
    /// without a mask.
    let mask: UnsafeMutablePointer<UInt8>?
    /// The token ids of the current inputs, batch-major (models with an embedding), for dE.
    var tokenIDs: [Int64] = []
    /// Threads the current call may use (`RowParallel`).
    var parts = 1
    /// Lazily allocated on the first gradient call.
    var gradients: GradientWorkspace<T>?

    init(architecture arch: ModelArchitecture, batch: Int, steps: Int) {
        self.batch = batch
        self.steps = steps
        let rows = batch * steps
        inputs = Buffer(count: rows * arch.inputSize)
        cells = arch.layers.map { layer in
            layer.cells.map {
                CellState(batch: batch, steps: steps, hidden: layer.hiddenSize, projection: layer.projectionSize,
                          reverse: $0 == .bwd)
            }
        }
        // A forward layer's output is its h slots, unless masked steps output zeros (M19).
        layerOutputs = arch.layers.map {
            $0.direction == .forward && !$0.zeroOutputForMask ? nil : Buffer(count: rows * $0.outputSize)
        }
        if arch.isMasked {
            mask = .allocate(capacity: Swift.max(rows, 1))
            mask!.initialize(repeating: 1, count: Swift.max(rows, 1))
        } else {
            mask = nil
        }
        let last = arch.layers[arch.layers.count - 1]
        lastStep = arch.returnSequences ? nil : Buffer(count: batch * last.outputSize)
        headRows = arch.returnSequences ? rows : batch
        dense = arch.dense.map { Buffer(count: (arch.returnSequences ? rows : batch) * $0.outputSize) }
    }

    deinit { mask?.deallocate() }

    /// True when step t of sequence b is masked (M18).
    @inline(__always) func isMasked(_ t: Int, _ b: Int) -> Bool { mask.map { $0[t * batch + b] == 0 } ?? false }

    /// Checks that every buffer size for this shape is representable, before anything is allocated.
    static func check(architecture arch: ModelArchitecture, batch: Int, steps: Int, shape: [Int]) throws(NumericsError) {
        var widest = arch.inputSize
        for l in arch.layers { widest = Swift.max(widest, 4 * l.hiddenSize, l.outputSize) }
        for d in arch.dense { widest = Swift.max(widest, d.outputSize, d.inputSize) }
        let (slots, o1) = (steps + 1).multipliedReportingOverflow(by: batch)
        let (elements, o2) = slots.multipliedReportingOverflow(by: widest)
        let (bytes, o3) = elements.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        // BLAS takes 32-bit dimensions: T·B rows must fit.
        guard !o1, !o2, !o3, bytes > 0, slots < Int(Int32.max) else { throw .tooLarge(shape: shape) }
    }
}

/// Buffers that only BPTT needs: gradients w.r.t. layer outputs and every weight, and per-step scratch.
final class GradientWorkspace<T: BLASScalar> {
    /// [T·B, S] per cell: dL/dh(t) arriving from above (the next layer or the head), by input time.
    let fromAbove: [[Buffer<T>]]
    /// [T·B, out_k]: dL/d(output of layer k), for k < last (the last layer's comes from the head).
    let layerOutputs: [Buffer<T>]
    /// [N, width]: dL/d(input of the head), or dL/d(output of the last layer) for many-to-one.
    let headInput: Buffer<T>
    /// [N, out_j]: dL/d(output of dense j), turned in place into dL/d(pre-activation).
    let dense: [Buffer<T>]
    /// [T·B, P] per projected cell (M24): the full dL/dh(t) of each computed step (0 at a masked one), for
    /// dW_hr = Σ_t dh(t)ᵀ m(t); nil for a cell without projection.
    let projected: [[Buffer<T>?]]
    /// Gradients in the fused layout of `Weights`: b and W_hr; W and U are empty (`GradientState` forms them).
    let cells: [[Weights<T>.Cell]]
    let denseV: [Buffer<T>]
    let denseC: [Buffer<T>]
    /// [T·B, I0] dL/d(inputs of layer 0) and dE [V, I0], for a model with an embedding (nil otherwise).
    let inputGradient: Buffer<T>?
    let embedding: Buffer<T>?
    /// Per-step scratch: dh for the step [B, H], the recurrent part of dh [B, H], the cell-state carry
    /// dC(t+1) ⊙ f(t+1) [B, H], and per-row temporaries [B, H] and [B, 4H] (rows run on several threads).
    let dh: Buffer<T>, recurrent: Buffer<T>, carry: Buffer<T>, row: Buffer<T>, gates: Buffer<T>
    /// B49: dZᵀ [4H, T·B] per cell whose U the float32 kernels pack (made by its first BPTT; nil otherwise), the
    /// operand of the cell's dW and dU products.
    private var transposed: [[LargeFloats<T>?]]
    /// B49: the products' other operand packed in 64-column panels, and B45's [4H, width] product buffer; grown on
    /// demand and kept from call to call (no fresh pages per product).
    private var panels: Buffer<T>?, product: Buffer<T>?

    func transposedDZ(layer k: Int, cell c: Int, count: Int) -> LargeFloats<T> {
        if let b = transposed[k][c], b.count == count { return b }
        let b = LargeFloats<T>(count: count)
        transposed[k][c] = b
        return b
    }

    func transposedDZ(layer k: Int, cell c: Int) -> LargeFloats<T>? { transposed[k][c] }

    func panelBuffer(count: Int) -> UnsafeMutablePointer<T> { Self.grown(&panels, count) }

    func productBuffer(count: Int) -> UnsafeMutablePointer<T> { Self.grown(&product, count) }

    /// `buffer`'s storage, replaced by a new one first when it holds fewer than `count` elements.
    private static func grown(_ buffer: inout Buffer<T>?, _ count: Int) -> UnsafeMutablePointer<T> {
        if let b = buffer, b.count >= count { return b.p }
        let b = Buffer<T>(count: count)
        buffer = b
        return b.p
    }

    init(architecture arch: ModelArchitecture, batch: Int, steps: Int) {
        let rows = batch * steps
        fromAbove = arch.layers.map { l in l.cells.map { _ in Buffer(count: rows * l.stateSize) } }
        projected = arch.layers.map { l in l.cells.map { _ in l.projectionSize.map { Buffer(count: rows * $0) } } }
        layerOutputs = arch.layers.map { Buffer(count: rows * $0.outputSize) }
        let width = arch.layers[arch.layers.count - 1].outputSize
        let headRows = arch.returnSequences ? rows : batch
        headInput = Buffer(count: headRows * width)
        dense = arch.dense.map { Buffer(count: headRows * $0.outputSize) }
        cells = arch.layers.map { l in
            l.cells.map { _ in
                // dW and dU are formed per tensor from dZ when asked for (`GradientState`, B30): no buffers here.
                Weights<T>.Cell(W: Buffer(count: 0), U: Buffer(count: 0), b: Buffer(count: 4 * l.hiddenSize),
                                R: l.projectionSize.map { Buffer(count: $0 * l.hiddenSize) },
                                P: l.peepholes ? Buffer(count: 3 * l.hiddenSize) : nil)
            }
        }
        denseV = arch.dense.map { Buffer(count: $0.outputSize * $0.inputSize) }
        denseC = arch.dense.map { Buffer(count: $0.outputSize) }
        inputGradient = arch.embedding == nil ? nil : Buffer(count: rows * arch.inputSize)
        embedding = arch.embedding.map { Buffer(count: $0.vocabularySize * arch.inputSize) }
        let maxH = arch.layers.map(\.hiddenSize).max() ?? 1
        dh = Buffer(count: batch * maxH)
        recurrent = Buffer(count: batch * maxH)
        carry = Buffer(count: batch * maxH)
        row = Buffer(count: batch * maxH)
        gates = Buffer(count: batch * 4 * maxH)
        transposed = arch.layers.map { $0.cells.map { _ in nil } }
    }
}

/// B49's dZᵀ: zeroed float32 memory on 2 MiB huge pages where the kernel gives them (`lstmk_alloc_large`; its tiles
/// are written down 4H lines T·B floats apart, a page each with 4 KiB pages). Float32 engines only.
final class LargeFloats<T: BLASScalar> {
    let p: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int) {
        precondition(T.self == Float.self, "dZᵀ is float32 only")
        // Not a thrown error: M1a counts dZᵀ in the workspace that is checked against the memory budget before
        // anything is allocated, and the forward pass has already allocated z [T·B, 4H], the same size, through
        // Swift's allocator (which stops the process too when malloc fails). Linux's default overcommit refuses
        // only a single request larger than memory and swap, so this one is refused only where any other buffer of
        // the verifier could be as well: a budget set above the machine (LSTMFORMAT_MEMORY_BUDGET) or strict
        // overcommit with the memory taken meanwhile. A thrown error here alone would not keep that promise.
        guard let raw = lstmk_alloc_large(count) else { fatalError("out of memory for dZᵀ (\(count) floats)") }
        p = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: T.self)
        self.count = count
    }

    deinit { lstmk_free_large(UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)) }
}
