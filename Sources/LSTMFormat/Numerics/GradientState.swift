import CStepKernels

/// What one forward + BPTT leaves behind, from which each canonical tensor's gradient is formed on demand, one
/// tensor at a time (`Spec/bptt.md` B30): a cell's dW_g = dZ_gᵀ X and dU_g = Σ_t dZ_g(t)ᵀ h(prev of t) are one
/// GEMM each over the stored dL/d(pre-activation) rows dZ (gate block g, all steps) and the stored inputs or
/// states; the small gradients (b, W_hr, p, V, c, E) are kept as BPTT formed them. No model-sized buffer is held:
/// the caller gives the one tensor-sized buffer the gradient is written to.
///
/// Valid until the next `forward` or gradients call on the engine that made it (they share its workspace).
final class GradientState<T: BLASScalar> {
    private enum Source {
        /// Rows `gate`·H ..< (gate+1)·H of cell (k, c)'s dWcat (`recurrent` false) or dUcat.
        case product(layer: Int, cell: Int, gate: Int, recurrent: Bool)
        /// Stored by BPTT.
        case stored(Buffer<T>, offset: Int)
    }

    let architecture: ModelArchitecture
    private let ws: Workspace<T>
    private let g: GradientWorkspace<T>
    private let sources: [String: (source: Source, shape: [Int])]

    init(architecture arch: ModelArchitecture, workspace: Workspace<T>, gradients: GradientWorkspace<T>) {
        architecture = arch
        ws = workspace
        g = gradients
        var sources: [String: (source: Source, shape: [Int])] = [:]
        if let e = arch.embedding, let dE = gradients.embedding {
            sources[TensorName.embedding] = (.stored(dE, offset: 0), [e.vocabularySize, arch.inputSize])
        }
        for (k, layer) in arch.layers.enumerated() {
            let h = layer.hiddenSize, i = layer.inputSize, s = layer.stateSize
            for (c, dir) in layer.cells.enumerated() {
                let cell = gradients.cells[k][c]
                if let r = cell.R, let p = layer.projectionSize {
                    sources[TensorName.projection(k, dir)] = (.stored(r, offset: 0), [p, h])
                }
                if let pcat = cell.P {
                    for (g, gate) in Gate.peepholed.enumerated() {
                        sources[TensorName.peephole(k, dir, gate)] = (.stored(pcat, offset: g * h), [h])
                    }
                }
                for (gate, name) in Gate.allCases.enumerated() {
                    sources[TensorName.lstm(k, dir, .W, name)] = (.product(layer: k, cell: c, gate: gate, recurrent: false), [h, i])
                    sources[TensorName.lstm(k, dir, .U, name)] = (.product(layer: k, cell: c, gate: gate, recurrent: true), [h, s])
                    sources[TensorName.lstm(k, dir, .b, name)] = (.stored(cell.b, offset: gate * h), [h])
                }
            }
        }
        for (j, d) in arch.dense.enumerated() {
            sources[TensorName.denseV(j)] = (.stored(gradients.denseV[j], offset: 0), [d.outputSize, d.inputSize])
            sources[TensorName.denseC(j)] = (.stored(gradients.denseC[j], offset: 0), [d.outputSize])
        }
        self.sources = sources
    }

    /// The shape of tensor `name`'s gradient (the tensor's shape); nil for a name the model does not have.
    func shape(_ name: String) -> [Int]? { sources[name]?.shape }

    /// Writes the gradient of canonical tensor `name` (C order, shaped like the tensor) to `out`, which holds
    /// at least as many elements. The GEMMs' rows are split over the verifier's threads (`RowParallel`).
    func write(_ name: String, into out: UnsafeMutablePointer<T>) throws(NumericsError) {
        try RowParallel.withBLASThreads { threads throws(NumericsError) in try write(name, into: out, threads: threads) }
    }

    /// `write(_:into:)` for a caller already inside `RowParallel.withBLASThreads` (which is not reentrant).
    func write(_ name: String, into out: UnsafeMutablePointer<T>, threads: Int) throws(NumericsError) {
        guard let (source, shape) = sources[name] else { throw .unknownTensor(name) }
        form(source, count: shape.reduce(1, *), into: out, threads: threads)
    }

    /// Every tensor's gradient at once (`Engine.gradients`, which returns them all; B45): a cell's dW_f … dW_o are
    /// rows of one product dWcat = dZᵀ X [4H, I] and dU_f … dU_o of one dUcat = Σ_t dZ(t)ᵀ h(prev of t) [4H, S], each
    /// formed by one GEMM over all four gates into a buffer of the cell's size, then copied out per gate. The same
    /// bits as `write` per tensor (each element is the same dot product). `threads`: inside `withBLASThreads`.
    func allTensors(threads: Int) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (k, layer) in architecture.layers.enumerated() {
            let h = layer.hiddenSize
            for (c, dir) in layer.cells.enumerated() {
                for (kind, width) in [(TensorName.Kind.W, layer.inputSize), (.U, layer.stateSize)] {
                    let cat = g.productBuffer(count: 4 * h * width)  // B49: kept from call to call
                    product(layer: k, cell: c, gates: 0..<4, recurrent: kind == .U, into: cat, threads: threads)
                    for (g, gate) in Gate.allCases.enumerated() {
                        tensors[TensorName.lstm(k, dir, kind, gate)] =
                            T.tensor(shape: [h, width], values: UnsafeBufferPointer(start: cat + g * h * width, count: h * width))
                    }
                }
            }
        }
        for (name, (source, shape)) in sources {
            guard case .stored(let buffer, let offset) = source else { continue }
            tensors[name] = buffer.tensor(shape: shape, offset: offset, count: shape.reduce(1, *))
        }
        return tensors
    }

    /// Rows `gates`·H of cell (k, c)'s dWcat = dZᵀ X (`recurrent` false) or dUcat = Σ_t dZ(t)ᵀ h(prev of t), one
    /// GEMM with its rows split over `threads` (`RowParallel`).
    private func product(layer k: Int, cell c: Int, gates: Range<Int>, recurrent: Bool, into out: UnsafeMutablePointer<T>,
                         threads: Int) {
        let layer = architecture.layers[k], s = ws.cells[k][c]
        let h = layer.hiddenSize, rows = ws.batch * ws.steps
        // The zero slot h(-1) contributes nothing; masked steps have dZ = 0 (B7, M19).
        let (b, width): (UnsafePointer<T>, Int) = recurrent
            ? (UnsafePointer(s.h.p + s.previousSlot(0) * ws.batch * layer.stateSize), layer.stateSize)
            : (UnsafePointer(input(of: k)), layer.inputSize)
        if let dzT = g.transposedDZ(layer: k, cell: c) {
            // B49: the panel kernel on dZᵀ's rows and the operand packed in 64-column panels: each element one FMA
            // chain over the rows in order, whatever rows of the product a thread takes.
            let packed = Self.float(g.panelBuffer(count: lstmk_panels_count(Int32(rows), Int32(width))))
            RowParallel.run(parts: threads, count: rows) { r in
                lstmk_pack_panels(Self.float(UnsafeMutablePointer(mutating: b)), Int32(rows), Int32(width),
                                  Int32(r.lowerBound), Int32(r.upperBound), packed)
            }
            RowParallel.run(parts: threads, count: gates.count * h, align: 16) { r in
                lstmk_gemm(Int32(r.count), Int32(rows), Int32(width),
                           Self.float(dzT.p + (gates.lowerBound * h + r.lowerBound) * rows), Int32(rows), packed,
                           Self.float(out + r.lowerBound * width), Int32(width), 0)
            }
            return
        }
        RowParallel.gemm(parts: threads, transA: true, transB: false, m: gates.count * h, n: width, k: rows,
                         a: s.z.p + gates.lowerBound * h, lda: 4 * h, b: b, ldb: width, beta: 0, c: out, ldc: width)
    }

    /// The work of `write`, kept out of the throwing function on purpose. Swift 6.3's LLVM may end a throwing
    /// function with a tail jump to memmove/memcpy/memset without restoring the error register (r12 on x86-64,
    /// x21 on arm64; swiftlang/swift#90477, fixed upstream by llvm/llvm-project#214590): `write`'s `.stored`
    /// copy was such a tail, so release builds saw a phantom error holding the destination pointer. A call to a
    /// non-throwing function that is not inlined is never made a tail call from a throwing one.
    @inline(never)
    private func form(_ source: Source, count: Int, into out: UnsafeMutablePointer<T>, threads: Int) {
        switch source {
        case .stored(let buffer, let offset):
            out.update(from: buffer.p + offset, count: count)
        case .product(let k, let c, let gate, let recurrent):
            product(layer: k, cell: c, gates: gate..<(gate + 1), recurrent: recurrent, into: out, threads: threads)
        }
    }

    @inline(__always)
    private static func float(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// Layer k's input sequence [T·B, I_k], time-major, as the forward pass left it.
    private func input(of k: Int) -> UnsafeMutablePointer<T> {
        if k == 0 { return ws.inputs.p }
        return ws.layerOutputs[k - 1]?.p ?? ws.cells[k - 1][0].h.p + ws.batch * architecture.layers[k - 1].stateSize
    }

    /// The gradient of `name` as a tensor of this precision's dtype (`threads`: inside `withBLASThreads`).
    func tensor(_ name: String, threads: Int? = nil) throws(NumericsError) -> Tensor {
        guard let shape = shape(name) else { throw .unknownTensor(name) }
        let buffer = Buffer<T>(count: shape.reduce(1, *))
        if let threads { try write(name, into: buffer.p, threads: threads) } else { try write(name, into: buffer.p) }
        return buffer.tensor(shape: shape)
    }
}
