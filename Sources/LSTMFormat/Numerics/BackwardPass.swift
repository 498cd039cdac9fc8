import CStepKernels

/// Exact BPTT for the loss of eq. 8.25 (`Spec/bptt.md` B5–B9): the full cell-state carry, not eq. 8.29 as
/// printed.
extension Engine {
    /// Fills `g` with dL/d(every weight) and returns L = Σ ½ (y − Y)². `head` holds the forward pass's [N, out]
    /// outputs time-major; `targets` is batch-major like the public API's targets.
    func runBackward(_ ws: Workspace<T>, _ g: GradientWorkspace<T>, head: UnsafePointer<T>, targets: [T]) -> Double {
        let arch = weights.architecture
        let batch = ws.batch, steps = ws.steps
        let n = ws.headRows
        let out = arch.outputSize
        // dL/dy = y − Y, in the time-major row order of the head.
        let dy = arch.dense.isEmpty ? g.headInput.p : g.dense[arch.dense.count - 1].p
        var loss = 0.0
        targets.withUnsafeBufferPointer { y in
            for r in 0..<n {
                let (t, b) = arch.returnSequences ? (r / batch, r % batch) : (0, r)
                let src = arch.returnSequences ? (b * steps + t) * out : b * out
                for k in 0..<out {
                    let d = head[r * out + k] - y[src + k]
                    dy[r * out + k] = d
                    loss += 0.5 * d.double * d.double
                }
            }
        }
        backwardHead(ws, g)
        for k in stride(from: arch.layers.count - 1, through: 0, by: -1) {
            let layer = arch.layers[k]
            // B45: a forward layer's output gradient (every step returned, none zeroed by a mask) is its cell's
            // dL/dh by input time as it stands, read in place.
            let isLast = k == arch.layers.count - 1
            let inPlace = layer.direction == .forward && !layer.zeroOutputForMask && (!isLast || arch.returnSequences)
            if !inPlace { splitOutputGradient(layer: k, ws, g) }
            weights.materialize(layer: k)  // B31
            for (c, cell) in ws.cells[k].enumerated() {
                let above = inPlace ? (isLast ? g.headInput.p : g.layerOutputs[k].p) : g.fromAbove[k][c].p
                // B49: a cell the float32 kernels pack gets dZᵀ for its dW and dU products.
                let transposed = weights.cells[k][c].packed == nil ? nil
                    : g.transposedDZ(layer: k, cell: c, count: batch * steps * 4 * layer.hiddenSize)
                backwardCell(weights.cells[k][c], cell, g.cells[k][c], fromAbove: above,
                             projected: g.projected[k][c], transposed: transposed, layer: layer, batch: batch,
                             parts: ws.parts, mask: ws.mask, g)
            }
            // dL/d(input of layer k) = Σ_cells dZ Wcat — the previous layer's output gradient. For k = 0 only
            // needed for the embedding.
            if let dInput = k > 0 ? g.layerOutputs[k - 1].p : g.inputGradient?.p {
                for c in ws.cells[k].indices {
                    RowParallel.gemm(parts: ws.parts, transA: false, transB: false, m: batch * steps,
                           n: layer.inputSize, k: 4 * layer.hiddenSize, a: ws.cells[k][c].z.p, lda: 4 * layer.hiddenSize, b: weights.cells[k][c].W.p,
                           ldb: layer.inputSize, beta: c == 0 ? 0 : 1, c: dInput, ldc: layer.inputSize)
                }
            }
        }
        if let dX = g.inputGradient, let dE = g.embedding {
            // B21: dE[v] = Σ over (b, t) with id(b, t) = v of dL/dx(b, t); rows of unused ids stay 0.
            dE.zero()
            let width = arch.inputSize
            for b in 0..<batch {
                for t in 0..<steps {
                    let row = dE.p + Int(ws.tokenIDs[b * steps + t]) * width, src = dX.p + (t * batch + b) * width
                    for e in 0..<width { row[e] += src[e] }
                }
            }
        }
        return loss
    }

    /// The last layer's output sequence (or layer k's), as built by the forward pass.
    private func layerOutput(_ k: Int, _ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        ws.layerOutputs[k]?.p ?? ws.cells[k][0].h.p + ws.batch * weights.architecture.layers[k].stateSize
    }

    /// Dense layers from the top: dPre = dy ⊙ g'(·) (softmax: its Jacobian), dV = dPreᵀ·in, dc = Σ dPre,
    /// d(in) = dPre·V. Leaves dL/d(head input) in `g.headInput`.
    private func backwardHead(_ ws: Workspace<T>, _ g: GradientWorkspace<T>) {
        let arch = weights.architecture
        let n = ws.headRows
        let lastWidth = arch.layers[arch.layers.count - 1].outputSize
        for j in stride(from: arch.dense.count - 1, through: 0, by: -1) {
            let d = arch.dense[j]
            let dPre = g.dense[j].p
            ActivationKernels.backprop(d.activation, dy: dPre, y: ws.dense[j].p, out: dPre, rows: n, cols: d.outputSize)
            let input: UnsafeMutablePointer<T> = j > 0 ? ws.dense[j - 1].p
                : (ws.lastStep?.p ?? layerOutput(arch.layers.count - 1, ws))
            let inWidth = j > 0 ? arch.dense[j - 1].outputSize : lastWidth
            RowParallel.gemm(parts: ws.parts, transA: true, transB: false, m: d.outputSize, n: inWidth, k: n, a: dPre, lda: d.outputSize,
                   b: input, ldb: inWidth, beta: 0, c: g.denseV[j].p, ldc: inWidth)
            columnSums(dPre, rows: n, cols: d.outputSize, into: g.denseC[j].p)
            let dIn = j > 0 ? g.dense[j - 1].p : g.headInput.p
            RowParallel.gemm(parts: ws.parts, transA: false, transB: false, m: n, n: inWidth, k: d.outputSize, a: dPre, lda: d.outputSize,
                   b: weights.denseV[j].p, ldb: inWidth, beta: 0, c: dIn, ldc: inWidth)
        }
    }

    /// dL/d(layer output) → dL/dh per cell, by input time (undoing the reversal and the merge of M2, M5).
    private func splitOutputGradient(layer k: Int, _ ws: Workspace<T>, _ g: GradientWorkspace<T>) {
        let arch = weights.architecture
        let layer = arch.layers[k]
        // h is S wide (M24: P for a projected layer).
        let hidden = layer.stateSize, batch = ws.batch, steps = ws.steps
        let block = batch * hidden, width = layer.outputSize
        let isLast = k == arch.layers.count - 1
        let dOut = isLast ? g.headInput.p : g.layerOutputs[k].p
        let cells = ws.cells[k]
        // (time of the output block, time of the state in each cell) pairs that received a gradient.
        var pairs: [(out: Int, state: [Int])] = []
        if isLast && !arch.returnSequences {
            for c in g.fromAbove[k] { c.zero() }
            pairs = [(0, cells.map { $0.reverse ? 0 : steps - 1 })]
        } else if layer.direction == .backward {
            pairs = (0..<steps).map { ($0, [steps - 1 - $0]) }
        } else {
            pairs = (0..<steps).map { t in (t, cells.map { _ in t }) }
        }
        defer {
            // M19/M21: an output that is 0 at a masked step passes no gradient back to the state.
            if layer.zeroOutputForMask {
                for (_, states) in pairs {
                    for (c, t) in states.enumerated() {
                        for b in 0..<batch where ws.isMasked(t, b) {
                            (g.fromAbove[k][c].p + t * block + b * hidden).update(repeating: 0, count: hidden)
                        }
                    }
                }
            }
        }
        for (t, states) in pairs {
            let d = dOut + t * batch * width
            if layer.direction != .bidirectional {
                (g.fromAbove[k][0].p + states[0] * block).update(from: d, count: block)
                continue
            }
            let df = g.fromAbove[k][0].p + states[0] * block, db = g.fromAbove[k][1].p + states[1] * block
            let hf = cells[0].h.p + cells[0].slot(states[0]) * block, hb = cells[1].h.p + cells[1].slot(states[1]) * block
            switch layer.mergeMode ?? .concat {
            case .concat:
                for r in 0..<batch {
                    (df + r * hidden).update(from: d + r * 2 * hidden, count: hidden)
                    (db + r * hidden).update(from: d + r * 2 * hidden + hidden, count: hidden)
                }
            case .sum: df.update(from: d, count: block); db.update(from: d, count: block)
            case .mul: for e in 0..<block { df[e] = d[e] * hb[e]; db[e] = d[e] * hf[e] }
            case .ave: for e in 0..<block { df[e] = d[e] / 2; db[e] = d[e] / 2 }
            }
        }
    }

    /// BPTT through one cell (`Spec/bptt.md` B7): walks the steps in reverse order of computation, turning the
    /// stored gate outputs in `s.z` into dL/d(pre-activations) in place, then forms db (and dW_hr); dW and dU
    /// are formed from `s.z` on demand (`GradientState`), or from its transpose in `transposed` (B49: the fused
    /// gate pass writes it beside dZ; after any other pass dZ is transposed at the end).
    private func backwardCell(_ w: Weights<T>.Cell, _ s: Workspace<T>.CellState, _ dw: Weights<T>.Cell,
                              fromAbove: UnsafePointer<T>, projected: Buffer<T>?, transposed: LargeFloats<T>?,
                              layer: LSTMLayerSpec,
                              batch: Int, parts: Int, mask: UnsafePointer<UInt8>?,
                              _ g: GradientWorkspace<T>) {
        let hidden = layer.hiddenSize, steps = s.steps
        // h, dh from above and the recurrent part are S wide (M24: S = P projected), C and the gates H wide.
        let state = layer.stateSize, blockS = batch * state
        let g4 = 4 * hidden, block = batch * hidden
        let dh = g.dh.p, rec = g.recurrent.p, carry = g.carry.p
        // B28: cells with peepholes take the general pass.
        let fused = FusedBPTTStep.enabled && layer.gateActivation == .sigmoid && layer.cellActivation == .tanh && w.R == nil && w.P == nil
        // B49: dZᵀ [4H, T·B], written by the C gate pass beside dZ (column t·B + b for row b of step t).
        let rows = batch * steps
        let dzT = fused && w.packed != nil ? transposed.map { Self.float($0.p) } : nil
        /// B28: one row of a cell with peepholes. δ_o comes first, because dC(t) takes p_o ⊙ δ_o(t); the carry
        /// to step t-1 takes p_f ⊙ δ_f(t) + p_i ⊙ δ_i(t) besides dC(t) ⊙ f(t).
        func peephole(_ gt: UnsafeMutablePointer<T>, P: UnsafePointer<T>, dAct: UnsafePointer<T>,
                      dPost: UnsafeMutablePointer<T>, dh dhr: UnsafePointer<T>, actC a: UnsafePointer<T>,
                      cPrev: UnsafePointer<T>, carry cr: UnsafeMutablePointer<T>) {
            let f = gt, i = gt + hidden, cc = gt + 2 * hidden, o = gt + 3 * hidden
            let pf = P, pi = P + hidden, po = P + 2 * hidden
            for u in 0..<hidden { dPost[3 * hidden + u] = dhr[u] * a[u] }
            ActivationKernels.backprop(layer.gateActivation, dy: dPost + 3 * hidden, y: o, out: o, rows: 1, cols: hidden)
            for u in 0..<hidden {
                let dC = dAct[u] + cr[u] + po[u] * o[u]  // o holds δ_o(t) now
                dPost[u] = dC * cPrev[u]
                dPost[hidden + u] = dC * cc[u]
                dPost[2 * hidden + u] = dC * i[u]
                cr[u] = dC * f[u]
            }
            ActivationKernels.backprop(layer.gateActivation, dy: dPost, y: gt, out: gt, rows: 1, cols: 2 * hidden)
            ActivationKernels.backprop(layer.cellActivation, dy: dPost + 2 * hidden, y: cc, out: cc, rows: 1, cols: hidden)
            for u in 0..<hidden { cr[u] += pf[u] * f[u] + pi[u] * i[u] }  // f, i hold δ_f(t), δ_i(t)
        }
        // One step for rows `part` with any activations: buffer passes through `ActivationKernels`.
        func general(_ zt: UnsafeMutablePointer<T>, part: Range<Int>, t: Int) {
            for b in part {
                let gt = zt + b * g4
                let f = gt, i = gt + hidden, cc = gt + 2 * hidden, o = gt + 3 * hidden
                let a = s.actC.p + t * block + b * hidden
                let cPrev = s.c.p + s.previousSlot(t) * block + b * hidden
                let dhr = dh + b * hidden, cr = carry + b * hidden
                let dAct = g.row.p + b * hidden, dPost = g.gates.p + b * g4
                // dC(t) = dh ⊙ o ⊙ act'(C(t)) + dC(t+1) ⊙ f(t+1): the carry eq. 8.29 leaves out.
                for u in 0..<hidden { dAct[u] = dhr[u] * o[u] }
                ActivationKernels.backprop(layer.cellActivation, dy: dAct, y: a, out: dAct, rows: 1, cols: hidden)
                if let P = w.P {
                    peephole(gt, P: P.p, dAct: dAct, dPost: dPost, dh: dhr, actC: a, cPrev: cPrev, carry: cr)
                    continue
                }
                for u in 0..<hidden {
                    let dC = dAct[u] + cr[u]
                    dPost[u] = dC * cPrev[u]
                    dPost[hidden + u] = dC * cc[u]
                    dPost[2 * hidden + u] = dC * i[u]
                    dPost[3 * hidden + u] = dhr[u] * a[u]
                    cr[u] = dC * f[u]
                }
                ActivationKernels.backprop(layer.gateActivation, dy: dPost, y: gt, out: gt, rows: 1, cols: 2 * hidden)
                ActivationKernels.backprop(layer.cellActivation, dy: dPost + 2 * hidden, y: cc, out: cc, rows: 1,
                                           cols: hidden)
                ActivationKernels.backprop(layer.gateActivation, dy: dPost + 3 * hidden, y: o, out: o, rows: 1,
                                           cols: hidden)
            }
        }
        // B35a: a thread's part of the batch is a run of whole pieces; each OpenBLAS per-step product is one call
        // per piece, so its shape never depends on the thread count. The packed kernels' sums do not depend on
        // the rows a call gets (B35): there each thread takes its own part, unless a projected cell's W_hr
        // products (OpenBLAS) run in the same loop.
        let cut = w.packed != nil && w.R == nil ? RowCut(count: batch, pieces: parts) : RowCut.batch(batch)
        RowParallel.run(parts: parts, cut: cut) { pieces in
            let part = cut.rows(pieces: pieces)
            let r0 = part.lowerBound, n = part.count
            (carry + r0 * hidden).update(repeating: 0, count: n * hidden)
            for step in stride(from: steps - 1, through: 0, by: -1) {
                let t = s.reverse ? steps - 1 - step : step
                let zt = s.z.p + t * batch * g4
                let above = fromAbove + t * blockS
                // dh(t) = from above + recurrent part dZ(next)·Ucat (none for the last computed step).
                let last = step == steps - 1
                // M19: a masked step is h(t) = h(t-1), C(t) = C(t-1). Its whole dh goes on to h(t-1) (kept in
                // `g.row` until the recurrent product is formed), the carry dC passes unchanged, and its gate
                // gradients are 0.
                var skipped = false
                if let mask {
                    for b in part where mask[t * batch + b] == 0 {
                        skipped = true
                        let keep = g.row.p + b * hidden, a = above + b * state, r = rec + b * state
                        if last { keep.update(from: a, count: state) } else { for u in 0..<state { keep[u] = a[u] + r[u] } }
                        (zt + b * g4).update(repeating: 0, count: g4)
                        if let dzT { for j in 0..<g4 { dzT[j * rows + t * batch + b] = 0 } }
                    }
                }
                @inline(__always) func computed(_ b: Int) -> Bool { mask.map { $0[t * batch + b] != 0 } ?? true }
                if fused, w.packed != nil {
                    // B44: the gate pass in C (float32, AVX-512), per run of computed rows.
                    var b = r0
                    while b < r0 + n {
                        guard computed(b) else { b += 1; continue }
                        var e = b + 1
                        while e < r0 + n && computed(e) { e += 1 }
                        let o = b * hidden
                        StepKernels.backwardGates(rows: e - b, hidden: hidden, above: Self.floats(above + o),
                                                  recurrent: last ? nil : Self.floats(rec + o), z: Self.float(zt + b * g4),
                                                  actC: Self.floats(s.actC.p + t * block + o),
                                                  cPrev: Self.floats(s.c.p + s.previousSlot(t) * block + o),
                                                  carry: Self.float(carry + o),
                                                  transposed: dzT.map { $0 + t * batch + b }, ldt: rows)
                        b = e
                    }
                } else if fused {
                    for b in part where !skipped || computed(b) {
                        Self.sigmoidTanhStep(zt + b * g4, above: above + b * hidden, recurrent: last ? nil : rec + b * hidden,
                                             actC: s.actC.p + t * block + b * hidden,
                                             cPrev: s.c.p + s.previousSlot(t) * block + b * hidden,
                                             carry: carry + b * hidden, hidden: hidden)
                    }
                } else if let R = w.R, let projected {
                    // B25: dh(t) (P wide) = above + recurrent is kept for dW_hr (0 at a masked step); the cell
                    // sees dm(t) = dh(t) W_hr (H wide) where the unprojected cell sees dh(t).
                    let full = projected.p + t * blockS
                    for e in r0 * state ..< (r0 + n) * state { full[e] = last ? above[e] : above[e] + rec[e] }
                    if skipped {
                        for b in part where !computed(b) { (full + b * state).update(repeating: 0, count: state) }
                    }
                    for p in pieces {
                        let rows = cut.rows(p)
                        T.gemm(transA: false, transB: false, m: rows.count, n: hidden, k: state, alpha: 1,
                               a: full + rows.lowerBound * state, lda: state, b: R.p, ldb: hidden, beta: 0,
                               c: dh + rows.lowerBound * hidden, ldc: hidden)
                    }
                    if skipped {
                        for b in part where computed(b) { general(zt, part: b..<(b + 1), t: t) }
                    } else {
                        general(zt, part: part, t: t)
                    }
                } else {
                    if last {
                        (dh + r0 * hidden).update(from: above + r0 * hidden, count: n * hidden)
                    } else {
                        for e in r0 * hidden ..< (r0 + n) * hidden { dh[e] = above[e] + rec[e] }
                    }
                    if skipped {
                        for b in part where computed(b) { general(zt, part: b..<(b + 1), t: t) }
                    } else {
                        general(zt, part: part, t: t)
                    }
                }
                if step > 0 {
                    if let packed = w.packed {
                        // B35: the packed U's panels (float32, AVX-512).
                        StepKernels.recurrentGradient(rows: n, dZ: Self.float(zt + r0 * g4), packed: packed,
                                                      into: Self.float(rec + r0 * state), step: step)
                    } else {
                        for p in pieces {
                            let rows = cut.rows(p)
                            StepGEMM.multiply(m: rows.count, n: state, k: g4, a: zt + rows.lowerBound * g4, lda: g4,
                                              b: w.U.p, ldb: state, beta: 0, c: rec + rows.lowerBound * state, ldc: state)
                        }
                    }
                    if skipped {
                        for b in part where !computed(b) { (rec + b * state).update(from: g.row.p + b * hidden, count: state) }
                    }
                }
            }
        }
        if let transposed, dzT == nil {
            // B49: the general pass's dZ, transposed once here (the same values as the fused pass writes).
            RowParallel.run(parts: parts, count: rows, align: 16) { r in
                lstmk_transpose(Int32(r.count), Int32(g4), Self.float(s.z.p + r.lowerBound * g4), g4,
                                Self.float(transposed.p + r.lowerBound), rows)
            }
        }
        // dWcat = dZᵀ X and dUcat = Σ_t dZ(t)ᵀ h(prev of t) are formed per tensor when asked for, from the dZ
        // left in `s.z` (`GradientState`, B30).
        if let dR = dw.R, let projected, let m = s.m {
            // B25: dW_hr = Σ_t dh(t)ᵀ m(t), m(t) = o(t) ⊙ act(C(t)).
            RowParallel.gemm(parts: parts, transA: true, transB: false, m: state, n: hidden, k: rows, a: projected.p,
                             lda: state, b: m.p, ldb: hidden, beta: 0, c: dR.p, ldc: hidden)
        }
        RowParallel.run(parts: parts, count: g4, align: 16) { cols in
            columnSums(s.z.p + cols.lowerBound, rows: rows, cols: cols.count, stride: g4, into: dw.b.p + cols.lowerBound)
        }
        if let dP = dw.P {
            // B28: dp_f = Σ_t δ_f(t) ⊙ C(t-1), dp_i = Σ_t δ_i(t) ⊙ C(t-1), dp_o = Σ_t δ_o(t) ⊙ C(t).
            let pf = dP.p, pi = dP.p + hidden, po = dP.p + 2 * hidden
            dP.p.update(repeating: 0, count: 3 * hidden)
            for t in 0..<steps {
                for b in 0..<batch {
                    let d = s.z.p + (t * batch + b) * g4
                    let cPrev = s.c.p + s.previousSlot(t) * block + b * hidden, cNow = s.c.p + s.slot(t) * block + b * hidden
                    for u in 0..<hidden {
                        pf[u] += d[u] * cPrev[u]
                        pi[u] += d[hidden + u] * cPrev[u]
                        po[u] += d[3 * hidden + u] * cNow[u]
                    }
                }
            }
        }
    }

    /// One row of one BPTT step with the default activations (sigmoid gates, tanh cell) in a single pass: the
    /// same operations in the same order as the general path, so the results are identical. dh = above
    /// (+ recurrent); `g` holds f, i, C̃, o on entry and their pre-activation gradients on return.
    @inline(__always)
    private static func sigmoidTanhStep(_ g: UnsafeMutablePointer<T>, above: UnsafePointer<T>,
                                        recurrent: UnsafePointer<T>?, actC: UnsafePointer<T>, cPrev: UnsafePointer<T>,
                                        carry: UnsafeMutablePointer<T>, hidden: Int) {
        let f = g, i = g + hidden, cc = g + 2 * hidden, o = g + 3 * hidden
        if let rec = recurrent {
            for u in 0..<hidden { step(u, above[u] + rec[u]) }
        } else {
            for u in 0..<hidden { step(u, above[u]) }
        }
        @inline(__always) func step(_ u: Int, _ dh: T) {
            let a = actC[u], fv = f[u], iv = i[u], cv = cc[u], ov = o[u]
            // dC(t) = dh ⊙ o ⊙ tanh'(C(t)) + dC(t+1) ⊙ f(t+1): the carry eq. 8.29 leaves out.
            let dC = dh * ov * (1 - a * a) + carry[u]
            carry[u] = dC * fv
            f[u] = dC * cPrev[u] * fv * (1 - fv)
            i[u] = dC * cv * iv * (1 - iv)
            cc[u] = dC * iv * (1 - cv * cv)
            o[u] = dh * a * ov * (1 - ov)
        }
    }

    /// A read-only float32 buffer of the engine's scalar type as `Float` (only cells packed for the float32
    /// kernels call this).
    @inline(__always)
    private static func floats(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    private func columnSums(_ p: UnsafePointer<T>, rows: Int, cols: Int, stride: Int? = nil,
                            into out: UnsafeMutablePointer<T>) {
        out.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let row = p + r * (stride ?? cols)
            for k in 0..<cols { out[k] += row[k] }
        }
    }
}

/// Whether BPTT may take the fused sigmoid/tanh step (`Spec/bptt.md`, B14). Always on in use; tests turn it off
/// (`FusedBPTTStep.$enabled.withValue(false) { … }`) to check that it gives exactly the general path's bits.
enum FusedBPTTStep {
    @TaskLocal static var enabled = true
}
