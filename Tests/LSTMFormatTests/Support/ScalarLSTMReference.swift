import Foundation

/// A scalar, loop-by-loop reference for one forward LSTM layer (sigmoid gates, tanh cell) with one linear dense
/// layer, many-to-many, written independently of the verifier. Its BPTT has a switch that reproduces eq. 8.29 of
/// the seed as printed, to measure the error of that equation (`Spec/bptt.md` B8).
struct ScalarLSTMReference {
    /// W[g] [H][I], U[g] [H][H], b[g] [H] for g in f, i, c, o; V [O][H], c [O].
    var W: [[[Double]]], U: [[[Double]]], b: [[Double]], V: [[Double]], c: [Double]

    enum Recurrence {
        /// dC(t) = dh(t) ⊙ o(t) ⊙ tanh'(C(t)) + dC(t+1) ⊙ f(t+1), used for dh(t-1) and the weight gradients.
        case exact
        /// eq. 8.29 as printed: the i, c, f terms of dh(t-1) use dh(t) ⊙ o(t) ⊙ tanh'(C(t)) in place of dC(t)
        /// (dC for the weight gradients still carries, as eq. 8.11 defines it).
        case printed829
        /// eq. 8.29 and no carry anywhere: dC(t) = dh(t) ⊙ o(t) ⊙ tanh'(C(t)).
        case noCarry
    }

    /// Gradients keyed by canonical name (`lstm.0.fwd.W_f`, …, `dense.0.c`), flattened in C order.
    func gradients(x: [[[Double]]], y target: [[[Double]]], recurrence: Recurrence) -> [String: [Double]] {
        let H = b[0].count, I = W[0][0].count, O = c.count
        func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var dW = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: I), count: H), count: 4)
        var dU = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: H), count: H), count: 4)
        var db = [[Double]](repeating: [Double](repeating: 0, count: H), count: 4)
        var dV = [[Double]](repeating: [Double](repeating: 0, count: H), count: O)
        var dc = [Double](repeating: 0, count: O)
        for (seq, tgt) in zip(x, target) {
            let T = seq.count
            var gates = [[[Double]]](), hs = [[Double](repeating: 0, count: H)], cs = [[Double](repeating: 0, count: H)]
            var ys = [[Double]]()
            for t in 0..<T {
                var gt = [[Double]](repeating: [Double](repeating: 0, count: H), count: 4)
                for g in 0..<4 {
                    for r in 0..<H {
                        var z = b[g][r]
                        for s in 0..<I { z += W[g][r][s] * seq[t][s] }
                        for s in 0..<H { z += U[g][r][s] * hs[t][s] }
                        gt[g][r] = g == 2 ? tanh(z) : sig(z)
                    }
                }
                let cNew = (0..<H).map { gt[0][$0] * cs[t][$0] + gt[1][$0] * gt[2][$0] }
                hs.append((0..<H).map { gt[3][$0] * tanh(cNew[$0]) })
                cs.append(cNew)
                gates.append(gt)
                ys.append((0..<O).map { o in c[o] + (0..<H).reduce(0.0) { $0 + V[o][$1] * hs[t + 1][$1] } })
            }
            var dhNext = [Double](repeating: 0, count: H), dCNext = [Double](repeating: 0, count: H)
            var fNext = [Double](repeating: 0, count: H)
            for t in stride(from: T - 1, through: 0, by: -1) {
                let dy = (0..<O).map { ys[t][$0] - tgt[t][$0] }
                for o in 0..<O { dc[o] += dy[o]; for r in 0..<H { dV[o][r] += dy[o] * hs[t + 1][r] } }
                let dh = (0..<H).map { r in dhNext[r] + (0..<O).reduce(0.0) { $0 + V[$1][r] * dy[$1] } }
                let gt = gates[t], C = cs[t + 1], cPrev = cs[t]
                let local = (0..<H).map { dh[$0] * gt[3][$0] * (1 - tanh(C[$0]) * tanh(C[$0])) }
                let dC = recurrence == .noCarry ? local : (0..<H).map { local[$0] + dCNext[$0] * fNext[$0] }
                // dC used in the recurrent (8.29) terms of dh(t-1).
                let dCRec = recurrence == .exact ? dC : local
                func pre(_ dCv: [Double]) -> [[Double]] {
                    var out = [[Double]](repeating: [Double](repeating: 0, count: H), count: 4)
                    for r in 0..<H {
                        let f = gt[0][r], i = gt[1][r], g = gt[2][r], o = gt[3][r], tc = tanh(C[r])
                        out[0][r] = dCv[r] * cPrev[r] * f * (1 - f)
                        out[1][r] = dCv[r] * g * i * (1 - i)
                        out[2][r] = dCv[r] * i * (1 - g * g)
                        out[3][r] = dh[r] * tc * o * (1 - o)
                    }
                    return out
                }
                let dz = pre(dC), dzRec = pre(dCRec)
                for g in 0..<4 {
                    for r in 0..<H {
                        db[g][r] += dz[g][r]
                        for s in 0..<I { dW[g][r][s] += dz[g][r] * seq[t][s] }
                        for s in 0..<H { dU[g][r][s] += dz[g][r] * hs[t][s] }
                    }
                }
                dhNext = (0..<H).map { s in (0..<4).reduce(0.0) { acc, g in acc + (0..<H).reduce(0.0) { $0 + U[g][$1][s] * dzRec[g][$1] } } }
                dCNext = dC
                fNext = gt[0]
            }
        }
        var out: [String: [Double]] = [:]
        for (g, name) in ["f", "i", "c", "o"].enumerated() {
            out["lstm.0.fwd.W_\(name)"] = dW[g].flatMap { $0 }
            out["lstm.0.fwd.U_\(name)"] = dU[g].flatMap { $0 }
            out["lstm.0.fwd.b_\(name)"] = db[g]
        }
        out["dense.0.V"] = dV.flatMap { $0 }
        out["dense.0.c"] = dc
        return out
    }
}
