extension LSTMNumerics {
    /// An upper bound of the bytes one forward pass and BPTT of the verifier allocate for one model and inputs
    /// [batch, steps, features], in either precision (`Spec/reliability.md`, M1, M1a): the larger of the float64
    /// and the float32 (AVX-512 kernels: packed panels, dZᵀ) sums of its buffers, plus a quarter for transients and
    /// the allocator. The caller's model, inputs and targets are not counted. nil when the count overflows.
    public static func workspaceBytes(_ architecture: ModelArchitecture, batch: Int, steps: Int) -> UInt64? {
        guard let float64 = buffersBytes(architecture, batch: batch, steps: steps, elementSize: 8, packed: false),
              let float32 = buffersBytes(architecture, batch: batch, steps: steps, elementSize: 4, packed: true)
        else { return nil }
        let peak = Swift.max(float64, float32)
        let (total, o) = peak.addingReportingOverflow(peak / 4)
        return o ? nil : total
    }

    /// The sum of the verifier's buffers (M1a) at `elementSize` bytes per value; `packed`: with the float32
    /// kernels' panels (B36, B48), dZᵀ and the packed operand (B49). nil on overflow.
    private static func buffersBytes(_ arch: ModelArchitecture, batch b: Int, steps t: Int, elementSize e: Int,
                                     packed: Bool) -> UInt64? {
        var sum = ByteSum(elementSize: e)
        /// n columns rounded up to whole 64-column panels, as [panels, 64].
        func panels(_ n: Int) -> [Int] { [n / 64 + (n % 64 == 0 ? 0 : 1), 64] }
        /// 4H gate columns in 64-column panels (16 units of each gate per panel), as [panels, 64].
        func gatePanels(_ h: Int) -> [Int] { [h / 16 + (h % 16 == 0 ? 0 : 1), 64] }
        let headRows = arch.returnSequences ? [t, b] : [b]
        // Parameters: the fused weights and the gradient tensors returned.
        for (_, shape) in arch.expectedTensors { sum.add(shape); sum.add(shape) }
        // The stored small gradients: dense layers and embedding.
        for d in arch.dense { sum.add([d.outputSize, d.inputSize]); sum.add([d.outputSize]) }
        if let emb = arch.embedding { sum.add([emb.vocabularySize, arch.inputSize]) }
        var maxH = 0, widest = 0
        for layer in arch.layers {
            let h = layer.hiddenSize, s = layer.stateSize, i = layer.inputSize
            maxH = Swift.max(maxH, h)
            widest = Swift.max(widest, i, s)
            for _ in layer.cells {
                // The gradients of b, peepholes and W_hr.
                sum.add([4, h])
                if layer.peepholes { sum.add([3, h]) }
                if let p = layer.projectionSize { sum.add([p, h]) }
                if packed {
                    sum.add([s] + gatePanels(h))  // gate panels (≥ Uᵀ of an unfused cell)
                    sum.add([4, h] + panels(s))  // U's backward panels
                    sum.add([i] + gatePanels(h))  // B48's packed W
                    sum.add([t, b, 4, h])  // B49's dZᵀ
                    sum.add([2 << 20], elementSize: 1)  // its huge-page rounding
                } else {
                    sum.add([4, h, s])  // Uᵀ
                }
                // Forward state: z, h and C (T + 1 slots), act(C), m; BPTT: dL/dh from above, a projection's dh.
                sum.add([t, b, 4, h])
                sum.add([t + 1, b, s])
                sum.add([t + 1, b, h])
                sum.add([t, b, h])
                if let p = layer.projectionSize { sum.add([t, b, h]); sum.add([t, b, p]) }
                sum.add([t, b, s])
            }
            // The layer's output and its gradient.
            sum.add([t, b, layer.outputSize])
            sum.add([t, b, layer.outputSize])
        }
        // B45's product buffer and B49's packed operand (the largest cell's).
        sum.add([4, maxH, widest])
        if packed { sum.add([t, b] + panels(widest)) }
        // Inputs (time-major, and the caller's converted on the way), the embedding's input gradient, the mask.
        sum.add([t, b, arch.inputSize])
        sum.add([t, b, arch.inputSize])
        if arch.embedding != nil { sum.add([t, b, arch.inputSize]) }
        sum.add([t, b], elementSize: 1)
        // The head: its input (many-to-one: the last step) and gradient, the dense outputs and their gradients,
        // the outputs (time-major array and tensor) and the targets.
        let last = arch.layers.last?.outputSize ?? 0
        sum.add([b, last])
        sum.add(headRows + [last])
        for d in arch.dense { sum.add(headRows + [d.outputSize]); sum.add(headRows + [d.outputSize]) }
        for _ in 0..<3 { sum.add(headRows + [arch.outputSize]) }
        // Per-step scratch: dh, its recurrent part, the carry, a row temporary [B, H] and the gates [B, 4H].
        sum.add([8, b, maxH])
        return sum.total
    }

    /// Throws `MemoryBudgetError.exceeded` when `workspaceBytes` is over `MemoryBudget.bytes`.
    public static func checkMemory(_ architecture: ModelArchitecture, batch: Int, steps: Int) throws {
        try MemoryBudget.check(workspaceBytes(architecture, batch: batch, steps: steps), for: "model's forward pass and BPTT")
    }

    /// `checkMemory` for inputs of `shape` [batch, steps, features] or token ids [batch, steps] (other ranks are left to the shape checks).
    static func checkMemory(_ architecture: ModelArchitecture, inputShape shape: [Int]) throws {
        guard shape.count >= 2, shape[0] >= 0, shape[1] >= 0 else { return }
        try checkMemory(architecture, batch: shape[0], steps: shape[1])
    }
}

/// A sum of buffer sizes that becomes nil (for good) on overflow.
private struct ByteSum {
    let elementSize: Int
    private(set) var total: UInt64? = 0

    init(elementSize: Int) { self.elementSize = elementSize }

    /// Adds a buffer of `shape` (elements of `elementSize` bytes, the sum's own by default).
    mutating func add(_ shape: [Int], elementSize size: Int? = nil) {
        guard let t = total, let bytes = MemoryBudget.bytes(shapes: [shape], elementSize: size ?? elementSize) else {
            total = nil
            return
        }
        let (s, o) = t.addingReportingOverflow(bytes)
        total = o ? nil : s
    }
}
