import CStepKernels
import Foundation

/// The float64 passes' products at a small batch (`Spec/bptt.md` B38): c [m, 4H] += a [m, K]·Wcatᵀ with each
/// weight read as stored — the model's float32 tensors widened to float64 in registers, or a float64 copy — and
/// summed in one fixed order (`lstmk_dot_widened`, `lstmk_dot_double`). At batch 2 a product reads its whole
/// weight matrix for 2 rows of output, so its time is the bytes it reads: float32 reads half of float64's and
/// needs no float64 copy of W and U. Float32 values widen exactly, so both kernels give the same bits on the
/// same values, whichever a pass reads from.
enum WideningProducts {
    /// Whether float64 passes use them: the CPU runs them, unless a test turned them off
    /// (`WideningProducts.$enabled.withValue(false) { … }`) to compare with the OpenBLAS path.
    @TaskLocal static var enabled = true

    static let cpuRunsThem: Bool = lstmk_widening_available() != 0

    /// The largest batch they take; above it a pass reads each weight for enough rows that OpenBLAS's packed
    /// GEMM is faster.
    static let maxBatch = 8

    /// Whether a float64 pass of `batch` sequences uses them (the choice depends on the shape only, so a whole
    /// and a streamed copy of a model compute the same sums).
    static func apply(batch: Int) -> Bool { enabled && cpuRunsThem && batch <= maxBatch }
}

/// One fused weight matrix of a cell ([4H, K], gate blocks f, i, C̃, o) as the widening products read it: a
/// float64 copy, or the model's four float32 gate tensors [H, K] with single elements set over them (a
/// coordinate probe's θ ± step, B31).
struct WideningRows {
    let hidden: Int
    let k: Int
    /// The float64 copy, when the weights are read from it.
    let fused: UnsafePointer<Double>?
    /// The float32 gate tensors f, i, C̃, o otherwise.
    let gates: [Tensor]
    /// Per gate: row → (column, value) of the elements set over the tensor's values.
    let overrides: [[Int: [(Int, Double)]]]

    init(fused: UnsafePointer<Double>, hidden: Int, k: Int) {
        self.hidden = hidden
        self.k = k
        self.fused = fused
        gates = []
        overrides = []
    }

    init(gates: [Tensor], overrides: [[Int: Double]], hidden: Int, k: Int) {
        self.hidden = hidden
        self.k = k
        fused = nil
        self.gates = gates
        self.overrides = overrides.map { set in
            var rows: [Int: [(Int, Double)]] = [:]
            for (index, value) in set { rows[index / k, default: []].append((index % k, value)) }
            return rows
        }
    }

    /// c[i, r] += Σ_j a[i, j]·Wcat[r, j] for i < m and the fused rows r in `rows` (c's columns).
    func multiply(m: Int, a: UnsafePointer<Double>, lda: Int, c: UnsafeMutablePointer<Double>, ldc: Int,
                  rows: Range<Int>) {
        guard !rows.isEmpty, m > 0 else { return }
        if let fused {
            lstmk_dot_double(Int32(m), Int32(rows.count), Int32(k), a, Int32(lda), fused + rows.lowerBound * k,
                             Int32(k), c + rows.lowerBound, Int32(ldc))
            return
        }
        for g in 0..<4 {
            let lo = Swift.max(rows.lowerBound, g * hidden), hi = Swift.min(rows.upperBound, (g + 1) * hidden)
            guard lo < hi else { continue }
            let set = overrides[g]
            gates[g].bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let w = base.assumingMemoryBound(to: Float.self)
                func widened(_ from: Int, _ to: Int) {
                    guard from < to else { return }
                    lstmk_dot_widened(Int32(m), Int32(to - from), Int32(k), a, Int32(lda), w + (from - g * hidden) * k,
                                      Int32(k), c + from, Int32(ldc))
                }
                var r = lo
                for row in set.keys.sorted() where row + g * hidden >= lo && row + g * hidden < hi {
                    let fusedRow = row + g * hidden
                    widened(r, fusedRow)
                    // The row with its set elements, in float64: the same sums as on a float64 copy holding them.
                    var values = (0..<k).map { Double(w[row * k + $0]) }
                    for (column, value) in set[row]! { values[column] = value }
                    values.withUnsafeBufferPointer {
                        lstmk_dot_double(Int32(m), 1, Int32(k), a, Int32(lda), $0.baseAddress!, Int32(k), c + fusedRow,
                                         Int32(ldc))
                    }
                    r = fusedRow + 1
                }
                widened(r, hi)
            }
        }
    }
}
