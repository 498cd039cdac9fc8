import CStepKernels

/// The float32 AVX-512 kernels of the time loop (`Spec/bptt.md` B34–B36): each step's product on a copy of U
/// packed once into 64-column panels, with the forward step's gate arithmetic applied to each tile while it is in
/// registers. On CPUs without AVX-512, and in float64, the verifier takes OpenBLAS (`StepGEMM`) instead.
enum StepKernels {
    /// Whether `Weights<Float>` built now packs its cells for the kernels: the CPU runs them, unless a test turned
    /// them off (`StepKernels.$enabled.withValue(false) { … }`) to compare with the OpenBLAS path.
    @TaskLocal static var enabled = true

    static let cpuRunsThem: Bool = lstmk_available() != 0

    static var active: Bool { enabled && cpuRunsThem }

    /// The forward step can fuse the gates of a cell with sigmoid gates, a tanh cell, no peepholes and no
    /// projection (B34).
    static func fusesForward(_ layer: LSTMLayerSpec) -> Bool {
        layer.gateActivation == .sigmoid && layer.cellActivation == .tanh && !layer.peepholes
            && layer.projectionSize == nil
    }

    /// The whole forward time loop of a fused cell (B34, B40, B46): `z` [T·B, 4H] holds Wx + b for every step on
    /// entry (unless `input` is given) and f, i, C̃, o on return; writes h and C into their slots
    /// (`Workspace.CellState`) and tanh(C) into `actC`. The 16-unit groups are split across `threads` threads with a
    /// barrier after each step, or the batch with none (B46); masked rows (M19, `mask[t·B + b] == 0`) keep h(t-1)
    /// and C(t-1). Same bits for any thread count (B35). With `input` (x [T·B, I] time-major) and `bias` [4H], the loop forms z = b + x Wᵀ itself first (B48:
    /// `lstmk_project` on the packed W, each thread its own rows) and z's entry values are not read.
    static func forwardCell(batch: Int, steps: Int, hidden: Int, reverse: Bool, packed: PackedU,
                            z: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                            c: UnsafeMutablePointer<Float>, actC: UnsafeMutablePointer<Float>,
                            mask: UnsafePointer<UInt8>?, threads: Int,
                            input: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>? = nil) {
        guard let gates = packed.gates else { preconditionFailure("cell not packed for the fused forward step") }
        var cell = lstmk_cell(batch: Int32(batch), steps: Int32(steps), hidden: Int32(hidden), reverse: reverse ? 1 : 0,
                              packed_gates: gates, z: z, h: h, c: c, act_c: actC, mask: mask,
                              split: Int32(LSTMK_SPLIT_AUTO), x: input, input: Int32(packed.inputSize),
                              packed_w: input == nil ? nil : UnsafePointer(packed.input), bias: bias)
        lstmk_forward_cell(&cell, Int32(threads))
    }

    /// B48: z [rows, 4H] = b + x [rows, I] Wᵀ on the packed W, rows split across `threads` threads (each element
    /// one FMA chain from b over k in order: the same bits for any split).
    static func project(rows: Int, packed: PackedU, x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        z: UnsafeMutablePointer<Float>, threads: Int) {
        let i = packed.inputSize, g4 = 4 * packed.hidden
        // Below 2^22 multiply-adds a thread's start costs more than it saves.
        let parts = rows * i * g4 < 1 << 22 ? 1 : threads
        RowParallel.run(parts: parts, count: rows, align: 6) { part in
            lstmk_project(Int32(part.count), Int32(i), Int32(g4), x + part.lowerBound * i, Int32(i), packed.input,
                          bias, z + part.lowerBound * g4, Int32(g4))
        }
    }

    /// BPTT's gate gradients for one step of `rows` rows of a fused cell (B44): `z` [rows, 4H] holds f, i, C̃, o on
    /// entry and δ_f, δ_i, δ_C̃, δ_o on return, with dh = above + recurrent (`recurrent` nil for the last computed
    /// step); `carry` [rows, H] holds dC(t+1) ⊙ f(t+1) on entry and dC(t) ⊙ f(t) on return. The general pass's
    /// operations in its order (B14): the same bits. `transposed` (B49): each δ is also copied to
    /// transposed[j·ldt + r] for column j < 4H of row r, i.e. the rows' columns of dZᵀ [4H, ldt].
    static func backwardGates(rows: Int, hidden: Int, above: UnsafePointer<Float>, recurrent: UnsafePointer<Float>?,
                              z: UnsafeMutablePointer<Float>, actC: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
                              carry: UnsafeMutablePointer<Float>, transposed: UnsafeMutablePointer<Float>?, ldt: Int) {
        lstmk_backward_gates(Int32(rows), Int32(hidden), above, recurrent, z, actC, cPrev, carry, transposed, ldt)
    }

    /// rec [rows, S] = dZ [rows, 4H] · U [4H, S] on the packed U (B35).
    static func recurrentGradient(rows: Int, dZ: UnsafePointer<Float>, packed: PackedU,
                                  into rec: UnsafeMutablePointer<Float>, step: Int) {
        let k = 4 * packed.hidden
        lstmk_gemm(Int32(rows), Int32(k), Int32(packed.state), dZ, Int32(k), packed.panels, rec, Int32(packed.state),
                   Int32(step & 1))
    }
}

/// A cell's U [4H, S] packed for `StepKernels` (B36): the backward panels always, the forward gate panels when
/// the cell's forward step is fused. Kept in sync with U by `Weights` (every write to U repacks its rows).
final class PackedU {
    let hidden: Int
    let state: Int
    /// f, i, C̃, o of 16 units per panel (`lstmk_pack_gates`), nil when the forward step is not fused.
    let gates: UnsafeMutablePointer<Float>?
    /// U in 64-column panels of S (`lstmk_pack_panels`).
    let panels: UnsafeMutablePointer<Float>
    /// I, the width of W [4H, I].
    let inputSize: Int
    /// Wᵀ [I, 4H] in 64-column panels (`lstmk_pack_transposed`) for the input projection (B48).
    let input: UnsafeMutablePointer<Float>

    init(hidden: Int, state: Int, input: Int, fusedForward: Bool) {
        self.hidden = hidden
        self.state = state
        inputSize = input
        gates = fusedForward ? Self.allocate(lstmk_panels_count(Int32(state), Int32(4 * hidden))) : nil
        panels = Self.allocate(lstmk_panels_count(Int32(4 * hidden), Int32(state)))
        self.input = Self.allocate(lstmk_panels_count(Int32(input), Int32(4 * hidden)))
    }

    deinit {
        gates.map { UnsafeMutableRawPointer($0).deallocate() }
        UnsafeMutableRawPointer(panels).deallocate()
        UnsafeMutableRawPointer(input).deallocate()
    }

    /// Repacks rows `rows` of W [4H, I].
    func packInput(_ w: UnsafePointer<Float>, rows: Range<Int>) {
        lstmk_pack_transposed(w, Int32(inputSize), Int32(4 * hidden), Int32(rows.lowerBound), Int32(rows.upperBound),
                              input)
    }

    /// Zeroed, cache-line aligned (the padding of a partial panel must stay 0).
    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * 4, alignment: 64)
        return raw.initializeMemory(as: Float.self, repeating: 0, count: Swift.max(count, 1))
    }

    /// Repacks rows `rows` of U [4H, S].
    func pack(_ u: UnsafePointer<Float>, rows: Range<Int>) {
        let r0 = Int32(rows.lowerBound), r1 = Int32(rows.upperBound)
        if let gates { lstmk_pack_gates(u, Int32(hidden), Int32(state), r0, r1, gates) }
        lstmk_pack_panels(u, Int32(4 * hidden), Int32(state), r0, r1, panels)
    }
}
