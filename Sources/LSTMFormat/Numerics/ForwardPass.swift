/// The forward pass of eq. 8.24 for every architecture of `Spec/canonical-model.md` (`Spec/bptt.md` B1–B4).
extension Engine {
    /// Runs the whole model on `ws.inputs` (already filled, time-major). Leaves every state BPTT needs in `ws`
    /// and returns the head's output: a pointer to [N, out] rows, N = T·B or B.
    func runForward(_ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        let arch = weights.architecture
        let rows = ws.batch * ws.steps
        var input = ws.inputs.p
        let widening = T.self == Double.self && WideningProducts.apply(batch: ws.batch)
        for (k, layer) in arch.layers.enumerated() {
            // B38: the widening products read W and U as stored; B31: a streamed copy converts the rest now.
            let rows = widening ? (weights as! Weights<Double>).wideningRows(layer: k) : nil
            if rows == nil { weights.materialize(layer: k) }  // B31: a streamed copy converts the layer now
            for (c, cell) in ws.cells[k].enumerated() {
                runCell(weights.cells[k][c], cell, layer: layer, input: input, batch: ws.batch, parts: ws.parts,
                        mask: ws.mask, widening: rows?[c])
            }
            input = mergeOutputs(layer: k, ws)
        }
        var head = input
        var headWidth = arch.layers[arch.layers.count - 1].outputSize
        if let last = ws.lastStep {
            mergeLastStep(into: last.p, ws)
            head = last.p
        }
        let n = arch.returnSequences ? rows : ws.batch
        for (j, d) in arch.dense.enumerated() {
            let out = ws.dense[j].p
            // y = g(h Vᵀ + c) for all N rows in one GEMM; the bias is the initial C with beta = 1.
            for r in 0..<n { (out + r * d.outputSize).update(from: weights.denseC[j].p, count: d.outputSize) }
            RowParallel.gemm(parts: ws.parts, transA: false, transB: true, m: n, n: d.outputSize, k: headWidth,
                             a: head, lda: headWidth, b: weights.denseV[j].p, ldb: headWidth, beta: 1, c: out,
                             ldc: d.outputSize)
            ActivationKernels.apply(d.activation, out, rows: n, cols: d.outputSize)
            head = out
            headWidth = d.outputSize
        }
        return head
    }

    /// One LSTM cell over the whole sequence. `input` is [T·B, I], time-major. At a step `mask` marks 0 the
    /// state is carried over unchanged (M19).
    /// `widening`: W and U for the widening products (B38), which then take both products of every step, split
    /// by W's and U's rows across `parts` threads; the gates run after each step's product.
    private func runCell(_ w: Weights<T>.Cell, _ s: Workspace<T>.CellState, layer: LSTMLayerSpec,
                         input: UnsafePointer<T>, batch: Int, parts: Int, mask: UnsafePointer<UInt8>?,
                         widening: (W: WideningRows, U: WideningRows)? = nil) {
        let hidden = layer.hiddenSize, steps = s.steps
        // h is S wide (M24: P for a projected layer), C and the gates H wide.
        let state = layer.stateSize, blockS = batch * state
        let g4 = 4 * hidden
        let rows = batch * steps
        let z = s.z.p
        if let widening {
            let d = Self.double, zd = Self.double(z)
            for r in 0..<rows { (z + r * g4).update(from: w.b.p, count: g4) }
            RowParallel.run(parts: parts, count: g4, align: 16) { units in
                widening.W.multiply(m: rows, a: d(UnsafeMutablePointer(mutating: input)), lda: layer.inputSize, c: zd,
                                    ldc: g4, rows: units)
            }
            for step in 0..<steps {
                let t = s.reverse ? steps - 1 - step : step
                // h(-1) = 0: the first step has no recurrent term.
                if step > 0 {
                    let zt = zd + t * batch * g4, hPrev = d(s.h.p + s.previousSlot(t) * blockS)
                    RowParallel.run(parts: parts, count: g4, align: 16) { units in
                        widening.U.multiply(m: batch, a: hPrev, lda: state, c: zt, ldc: g4, rows: units)
                    }
                }
                finishStep(w, s, layer: layer, t: t, r0: 0, n: batch, batch: batch, mask: mask)
            }
            return
        }
        if let packed = w.packed {
            // B48: Z = b + X Wcatᵀ on the packed W, each element one FMA chain from b (no fill, no OpenBLAS); a
            // fused cell's loop forms it itself, each thread its own rows.
            let x = UnsafePointer(Self.float(UnsafeMutablePointer(mutating: input))), bias = UnsafePointer(Self.float(w.b.p))
            if packed.gates != nil {
                // B34, B40, B46: the product and the gates in one pass over each tile (float32, AVX-512), the hidden
                // units split across the threads with a barrier after each step, or the batch when a thread's share
                // of U exceeds its core's L2.
                StepKernels.forwardCell(batch: batch, steps: steps, hidden: hidden, reverse: s.reverse, packed: packed,
                                        z: Self.float(z), h: Self.float(s.h.p), c: Self.float(s.c.p),
                                        actC: Self.float(s.actC.p), mask: mask, threads: parts, input: x, bias: bias)
                return
            }
            StepKernels.project(rows: rows, packed: packed, x: x, bias: bias, z: Self.float(z), threads: parts)
        } else {
            // Input projections of every step at once: Z = X Wcatᵀ + bcat.
            // B35a: OpenBLAS calls cut by the shape, never by the thread count.
            RowParallel.forEachPiece(parts: parts, cut: .product(m: rows, n: g4, k: layer.inputSize)) { part in
                for r in part { (z + r * g4).update(from: w.b.p, count: g4) }
                T.gemm(transA: false, transB: true, m: part.count, n: g4, k: layer.inputSize, alpha: 1,
                       a: input + part.lowerBound * layer.inputSize, lda: layer.inputSize, b: w.W.p,
                       ldb: layer.inputSize, beta: 1, c: z + part.lowerBound * g4, ldc: g4)
            }
        }
        // B35a: a thread's part of the batch is a run of whole pieces, and each piece's product is its own call.
        let cut = RowCut.batch(batch)
        RowParallel.run(parts: parts, cut: cut) { pieces in
            for step in 0..<steps {
                let t = s.reverse ? steps - 1 - step : step
                for p in pieces {
                    let r0 = cut.bound(p), n = cut.bound(p + 1) - r0
                    let zt = z + t * batch * g4 + r0 * g4
                    let hPrev = s.h.p + s.previousSlot(t) * blockS + r0 * state
                    // h(-1) = 0: the first step has no recurrent term.
                    if step > 0 {
                        if let ut = w.UT {
                            StepGEMM.multiply(m: n, n: g4, k: state, a: hPrev, lda: state, b: ut.p, ldb: g4, beta: 1,
                                              c: zt, ldc: g4)
                        } else {
                            StepGEMM.multiply(m: n, n: g4, k: state, a: hPrev, lda: state, b: w.U.p, ldb: state,
                                              transB: true, beta: 1, c: zt, ldc: g4)
                        }
                    }
                    finishStep(w, s, layer: layer, t: t, r0: r0, n: n, batch: batch, mask: mask)
                }
            }
        }
    }

    /// The gates, C(t), act(C(t)) and h(t) of step t (input time) for rows r0 ..< r0 + n, whose pre-activations
    /// z hold Wx + b + h(t-1)Uᵀ; then the masked rows' carry (M19).
    private func finishStep(_ w: Weights<T>.Cell, _ s: Workspace<T>.CellState, layer: LSTMLayerSpec, t: Int,
                            r0: Int, n: Int, batch: Int, mask: UnsafePointer<UInt8>?) {
        let hidden = layer.hiddenSize, state = layer.stateSize, g4 = 4 * hidden
        let blockS = batch * state, block = batch * hidden
        let zt = s.z.p + t * batch * g4 + r0 * g4
        let hPrev = s.h.p + s.previousSlot(t) * blockS + r0 * state
        let cPrev = s.c.p + s.previousSlot(t) * block + r0 * hidden
        let hOut = s.h.p + s.slot(t) * blockS + r0 * state
        let cOut = s.c.p + s.slot(t) * block + r0 * hidden
        let actC = s.actC.p + t * block + r0 * hidden
        if let P = w.P {
            peepholeGates(zt, P: P.p, cPrev: cPrev, cOut: cOut, rows: n, layer: layer)
        } else {
            for b in 0..<n {
                let g = zt + b * g4
                ActivationKernels.apply(layer.gateActivation, g, rows: 1, cols: 2 * hidden)  // f, i
                ActivationKernels.apply(layer.cellActivation, g + 2 * hidden, rows: 1, cols: hidden)  // C̃
                ActivationKernels.apply(layer.gateActivation, g + 3 * hidden, rows: 1, cols: hidden)  // o
                let f = g, i = g + hidden, cc = g + 2 * hidden
                let cp = cPrev + b * hidden, co = cOut + b * hidden
                for u in 0..<hidden { co[u] = f[u] * cp[u] + i[u] * cc[u] }
            }
        }
        actC.update(from: cOut, count: n * hidden)
        ActivationKernels.apply(layer.cellActivation, actC, rows: 1, cols: n * hidden)
        if let R = w.R, let mBuf = s.m {
            // M24: m(t) = o(t) ⊙ act(C(t)), h(t) = m(t) W_hrᵀ.
            let m = mBuf.p + t * block + r0 * hidden
            for b in 0..<n {
                let o = zt + b * g4 + 3 * hidden, a = actC + b * hidden, mr = m + b * hidden
                for u in 0..<hidden { mr[u] = o[u] * a[u] }
            }
            T.gemm(transA: false, transB: true, m: n, n: state, k: hidden, alpha: 1, a: m, lda: hidden,
                   b: R.p, ldb: hidden, beta: 0, c: hOut, ldc: state)
        } else {
            for b in 0..<n {
                let o = zt + b * g4 + 3 * hidden, a = actC + b * hidden, h = hOut + b * hidden
                for u in 0..<hidden { h[u] = o[u] * a[u] }
            }
        }
        if let mask { carryMasked(mask, t: t, batch: batch, r0: r0, rows: n, hPrev, cPrev, hOut, cOut, state, hidden) }
    }

    /// M19: a masked step keeps h(t-1) and C(t-1), for rows r0 ..< r0 + rows of step t.
    private func carryMasked(_ mask: UnsafePointer<UInt8>, t: Int, batch: Int, r0: Int, rows n: Int,
                             _ hPrev: UnsafePointer<T>, _ cPrev: UnsafePointer<T>, _ hOut: UnsafeMutablePointer<T>,
                             _ cOut: UnsafeMutablePointer<T>, _ state: Int, _ hidden: Int) {
        for b in 0..<n where mask[t * batch + r0 + b] == 0 {
            (hOut + b * state).update(from: hPrev + b * state, count: state)
            (cOut + b * hidden).update(from: cPrev + b * hidden, count: hidden)
        }
    }

    /// A float64 buffer of the engine's scalar type as `Double` (only the widening products, B38, call this).
    @inline(__always)
    static func double(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Double> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Double.self)
    }

    /// A float32 buffer of the engine's scalar type as `Float` (only cells packed for the float32 kernels call this).
    @inline(__always)
    static func float(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// The gates and C(t) of one step for `rows` rows of a cell with peepholes (M25, `Spec/bptt.md` B27): `z` holds
    /// the pre-activations without the peephole terms [rows, 4H] and gets f, i, C̃, o; `P` is p_f ‖ p_i ‖ p_o.
    private func peepholeGates(_ z: UnsafeMutablePointer<T>, P: UnsafePointer<T>, cPrev: UnsafePointer<T>,
                               cOut: UnsafeMutablePointer<T>, rows: Int, layer: LSTMLayerSpec) {
        let hidden = layer.hiddenSize
        let pf = P, pi = P + hidden, po = P + 2 * hidden
        for b in 0..<rows {
            let g = z + b * 4 * hidden
            let f = g, i = g + hidden, cc = g + 2 * hidden, o = g + 3 * hidden
            let cp = cPrev + b * hidden, co = cOut + b * hidden
            // f and i see the previous cell state C(t-1) ...
            for u in 0..<hidden {
                f[u] += pf[u] * cp[u]
                i[u] += pi[u] * cp[u]
            }
            ActivationKernels.apply(layer.gateActivation, g, rows: 1, cols: 2 * hidden)  // f, i
            ActivationKernels.apply(layer.cellActivation, cc, rows: 1, cols: hidden)  // C̃
            for u in 0..<hidden { co[u] = f[u] * cp[u] + i[u] * cc[u] }
            // ... o sees the new one, C(t), as the ONNX operator defines it.
            for u in 0..<hidden { o[u] += po[u] * co[u] }
            ActivationKernels.apply(layer.gateActivation, o, rows: 1, cols: hidden)
        }
    }

    /// Builds layer k's output sequence (M2) and returns a pointer to it, [T·B, out_k] time-major.
    private func mergeOutputs(layer k: Int, _ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        let layer = weights.architecture.layers[k]
        let cells = ws.cells[k]
        let hidden = layer.stateSize, block = ws.batch * hidden  // h width (M24)
        let steps = ws.steps
        let zero = layer.zeroOutputForMask
        switch layer.direction {
        case .forward:
            guard zero else { return cells[0].h.p + block }  // slots 1 … T are h(0) … h(T-1)
            let out = ws.layerOutputs[k]!.p
            for t in 0..<steps {
                (out + t * block).update(from: cells[0].h.p + cells[0].slot(t) * block, count: block)
                zeroMasked(out + t * block, time: t, ws, hidden: hidden)
            }
            return out
        case .backward:
            // Keras go_backwards: out(t) is the state after reading x(T-1-t), in computation order.
            let out = ws.layerOutputs[k]!.p
            for t in 0..<steps {
                (out + t * block).update(from: cells[0].h.p + cells[0].slot(steps - 1 - t) * block, count: block)
                if zero { zeroMasked(out + t * block, time: steps - 1 - t, ws, hidden: hidden) }
            }
            return out
        case .bidirectional:
            let out = ws.layerOutputs[k]!.p
            for t in 0..<steps {
                merge(layer.mergeMode ?? .concat, forward: cells[0].h.p + cells[0].slot(t) * block,
                      backward: cells[1].h.p + cells[1].slot(t) * block, into: out + t * ws.batch * layer.outputSize,
                      rows: ws.batch, hidden: hidden)
                // Both cells output 0 at a masked step (M19, M20); every merge mode then gives 0.
                if zero { zeroMasked(out + t * ws.batch * layer.outputSize, time: t, ws, hidden: layer.outputSize) }
            }
            return out
        }
    }

    /// Many-to-one (M5): every cell's last computed state (forward: h(T-1), backward: the state at t = 0),
    /// merged for a bidirectional layer.
    private func mergeLastStep(into out: UnsafeMutablePointer<T>, _ ws: Workspace<T>) {
        let k = ws.cells.count - 1
        let layer = weights.architecture.layers[k]
        let cells = ws.cells[k]
        let block = ws.batch * layer.stateSize
        let last = { (s: Workspace<T>.CellState) in s.h.p + s.slot(s.reverse ? 0 : ws.steps - 1) * block }
        if layer.direction == .bidirectional {
            // M21: a masked model's bidirectional many-to-one layer never zeroes its outputs.
            merge(layer.mergeMode ?? .concat, forward: last(cells[0]), backward: last(cells[1]), into: out,
                  rows: ws.batch, hidden: layer.stateSize)
        } else {
            out.update(from: last(cells[0]), count: block)
            // M21: the last computed step's output, 0 when it is masked and the layer zeroes masked outputs.
            if layer.zeroOutputForMask {
                zeroMasked(out, time: cells[0].reverse ? 0 : ws.steps - 1, ws, hidden: layer.stateSize)
            }
        }
    }

    /// Sets to 0 the rows of a [B, width] block whose step at input time `time` is masked.
    private func zeroMasked(_ p: UnsafeMutablePointer<T>, time: Int, _ ws: Workspace<T>, hidden width: Int) {
        for b in 0..<ws.batch where ws.isMasked(time, b) { (p + b * width).update(repeating: 0, count: width) }
    }

    /// Merges two [rows, H] blocks into [rows, H] (sum, mul, ave) or [rows, 2H] (concat).
    private func merge(_ mode: MergeMode, forward f: UnsafePointer<T>, backward b: UnsafePointer<T>,
                       into out: UnsafeMutablePointer<T>, rows: Int, hidden: Int) {
        let n = rows * hidden
        switch mode {
        case .concat:
            for r in 0..<rows {
                (out + r * 2 * hidden).update(from: f + r * hidden, count: hidden)
                (out + r * 2 * hidden + hidden).update(from: b + r * hidden, count: hidden)
            }
        case .sum: for k in 0..<n { out[k] = f[k] + b[k] }
        case .mul: for k in 0..<n { out[k] = f[k] * b[k] }
        case .ave: for k in 0..<n { out[k] = (f[k] + b[k]) / 2 }
        }
    }
}
