import CStepKernels
import Foundation
@testable import LSTMFormat
import Testing

/// `Spec/bptt.md` B34–B36: the float32 AVX-512 step kernels. Skipped (not passed) on CPUs without AVX-512 F,
/// where the verifier takes OpenBLAS.
@Suite(.enabled(if: StepKernels.cpuRunsThem, "the CPU has no AVX-512 F: the step kernels never run"))
struct NumericsStepKernelTests {
    static func uniform(_ n: Int, seed: UInt64, scale: Double) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(rng.symmetricUnit() * scale) }
    }

    /// Runs the fused step with no recurrent term (a zero packed U) on pre-activations `pre` [rows, 4·hidden] and
    /// C(t−1) `cPrev` [rows, hidden]; returns how many of its gates, C(t), tanh C(t) and h(t) are not FastMath's
    /// bits for the same values (NaN counts as equal to NaN).
    static func elementsOffFastMath(pre: [Float], cPrev: [Float], rows: Int, hidden: Int) -> Int {
        var z = pre
        var cOut = [Float](repeating: .nan, count: rows * hidden), act = cOut, h = cOut
        let packed = [Float](repeating: 0, count: lstmk_panels_count(Int32(hidden), Int32(4 * hidden)))
        lstmk_forward_step(Int32(rows), Int32(hidden), h, packed, &z, cPrev, &cOut, &act, &h, 0, 0)
        func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }
        var differing = 0
        for r in 0..<rows {
            for u in 0..<hidden {
                let g = r * 4 * hidden + u, s = r * hidden + u
                let f = FastMath.sigmoid(pre[g]), i = FastMath.sigmoid(pre[g + hidden])
                let c = FastMath.tanh(pre[g + 2 * hidden]), o = FastMath.sigmoid(pre[g + 3 * hidden])
                let cNew = f * cPrev[s] + i * c, a = FastMath.tanh(cNew)
                let expected = [f, i, c, o, cNew, a, o * a]
                let actual = [z[g], z[g + hidden], z[g + 2 * hidden], z[g + 3 * hidden], cOut[s], act[s], h[s]]
                differing += zip(expected, actual).filter { !same($0, $1) }.count
            }
        }
        return differing
    }

    /// B34: with no recurrent term the fused step's gates, C(t), tanh(C(t)) and h(t) are FastMath's bits for the
    /// same pre-activations (hidden 37: two full panels and a partial one; pre-activations over ±12 cover exp's
    /// clamp-free range, tanh's small-|x| branch and both signs).
    @Test func B34_fusedGatesHaveFastMathsBits() {
        let rows = 5, hidden = 37
        var z = Self.uniform(rows * 4 * hidden, seed: 1, scale: 12)
        z[3] = 0.01; z[4] = -0.03; z[5] = 0  // tanh's polynomial branch in f's block is not used, in C̃'s it is:
        z[2 * hidden + 1] = 0.02; z[2 * hidden + 2] = -0.05
        let cPrev = Self.uniform(rows * hidden, seed: 2, scale: 3)
        #expect(Self.elementsOffFastMath(pre: z, cPrev: cPrev, rows: rows, hidden: hidden) == 0)
    }

    /// B10a, B34: over 2^20 pre-activations spread over every sign and exponent of float32 (the bit patterns
    /// 4093·k + 7), with ±0, ±∞, NaN, subnormals, the edges of tanh's branch (±1/16), of exp's clamp (σ at ±87.3
    /// and ±88.3, tanh at ±43.65 and ±44.15) and their neighbours, every gate, C(t), tanh C(t) and h(t) of the
    /// kernel is FastMath's bits (NaN for NaN).
    @Test func B10a_kernelActivationsAreFastMathsBitsOverTheFloats() {
        var special: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for edge: Float in [0.0625, 43.65, 44.15, 87.3, 88.3] {
            for v in [edge, edge.nextUp, edge.nextDown] { special += [v, -v] }
        }
        let rows = 64, hidden = 64, perCall = rows * 4 * hidden, calls = (1 << 20) / perCall
        let cPrev = Self.uniform(rows * hidden, seed: 41, scale: 4)
        var differing = 0, k: UInt32 = 0
        for call in 0..<calls {
            var z = (0..<perCall).map { _ -> Float in
                defer { k &+= 1 }
                return Float(bitPattern: k &* 4093 &+ 7)
            }
            if call == 0 { z.replaceSubrange(0..<special.count, with: special) }
            differing += Self.elementsOffFastMath(pre: z, cPrev: cPrev, rows: rows, hidden: hidden)
        }
        #expect(differing == 0)
    }

    /// B35: a product's rows are the same bits whether a call gets all rows or one row at a time (the batch split
    /// across threads), with the panels visited in either order (B37), for the fused forward step and the plain
    /// product; and they agree with float64 sums.
    @Test func B35_rowSplitNeverChangesASum() {
        let rows = 7, hidden = 40, k = 4 * hidden
        let u = Self.uniform(4 * hidden * hidden, seed: 3, scale: 0.3)
        var gates = [Float](repeating: 0, count: lstmk_panels_count(Int32(hidden), Int32(4 * hidden)))
        var panels = [Float](repeating: 0, count: lstmk_panels_count(Int32(k), Int32(hidden)))
        lstmk_pack_gates(u, Int32(hidden), Int32(hidden), 0, Int32(4 * hidden), &gates)
        lstmk_pack_panels(u, Int32(k), Int32(hidden), 0, Int32(k), &panels)
        let hPrev = Self.uniform(rows * hidden, seed: 4, scale: 1), cPrev = Self.uniform(rows * hidden, seed: 5, scale: 1)
        let z0 = Self.uniform(rows * 4 * hidden, seed: 6, scale: 1)
        func forward(split: Bool) -> [Float] {
            var z = z0, c = [Float](repeating: 0, count: rows * hidden), a = c, h = c
            for r in split ? Array(0..<rows) : [0] {
                let n = split ? 1 : rows
                z.withUnsafeMutableBufferPointer { zp in c.withUnsafeMutableBufferPointer { cp in
                    a.withUnsafeMutableBufferPointer { ap in h.withUnsafeMutableBufferPointer { hp in
                        lstmk_forward_step(Int32(n), Int32(hidden), Array(hPrev[(r * hidden)...]), gates,
                                           zp.baseAddress! + r * 4 * hidden, Array(cPrev[(r * hidden)...]),
                                           cp.baseAddress! + r * hidden, ap.baseAddress! + r * hidden,
                                           hp.baseAddress! + r * hidden, 1, Int32(r & 1))
                    } }
                } }
            }
            return z + c + a + h
        }
        let whole = forward(split: false), split = forward(split: true)
        #expect(zip(whole, split).allSatisfy { $0.bitPattern == $1.bitPattern })
        let dz = Self.uniform(rows * k, seed: 7, scale: 1)
        func product(split: Bool) -> [Float] {
            var rec = [Float](repeating: 0, count: rows * hidden)
            rec.withUnsafeMutableBufferPointer { rp in
                for r in split ? Array(0..<rows) : [0] {
                    lstmk_gemm(Int32(split ? 1 : rows), Int32(k), Int32(hidden), Array(dz[(r * k)...]), Int32(k), panels,
                               rp.baseAddress! + r * hidden, Int32(hidden), Int32(r & 1))
                }
            }
            return rec
        }
        let p1 = product(split: false), p2 = product(split: true)
        #expect(zip(p1, p2).allSatisfy { $0.bitPattern == $1.bitPattern })
        var worst = 0.0
        for r in 0..<rows {
            for s in 0..<hidden {
                var sum = 0.0
                for j in 0..<k { sum += Double(dz[r * k + j]) * Double(u[j * hidden + s]) }
                worst = max(worst, abs(sum - Double(p1[r * hidden + s])))
            }
        }
        #expect(worst < 1e-5)
    }

    /// B40, B46: the threaded time loop (`lstmk_forward_cell`: 16-unit groups split across threads, a barrier after
    /// each step, or B46's split of the batch, or the split it chooses) gives the bits of one thread stepping all
    /// rows through `lstmk_forward_step`, for 1, 2, 3 and 5 threads, forward and reversed cells, masked rows and
    /// not. Hidden 264: 17 groups, the last one partial, so no thread count splits them evenly; 13 steps × batch 5
    /// is above the one-thread threshold; 5 rows over 2 and 3 threads leave uneven parts.
    @Test func B40_unitSplitGivesTheBitsOfOneThread() {
        let batch = 5, steps = 13, hidden = 264, g4 = 4 * hidden, block = batch * hidden
        let u = Self.uniform(g4 * hidden, seed: 8, scale: 0.15)
        var gates = [Float](repeating: 0, count: lstmk_panels_count(Int32(hidden), Int32(g4)))
        lstmk_pack_gates(u, Int32(hidden), Int32(hidden), 0, Int32(g4), &gates)
        let z0 = Self.uniform(steps * batch * g4, seed: 9, scale: 2)
        let mask: [UInt8] = (0..<(steps * batch)).map { $0 % 7 == 3 ? 0 : 1 }
        for reverse in [false, true] {
            for masked in [false, true] {
                // Reference: one thread, all rows per call, slots as `Workspace.CellState` keeps them.
                var z = z0, h = [Float](repeating: 0, count: (steps + 1) * block), c = h
                var act = [Float](repeating: 0, count: steps * block)
                for step in 0..<steps {
                    let t = reverse ? steps - 1 - step : step
                    let slot = reverse ? t : t + 1, previous = reverse ? t + 1 : t
                    let hPrev = Array(h[(previous * block)...]), cPrev = Array(c[(previous * block)...])
                    z.withUnsafeMutableBufferPointer { zp in c.withUnsafeMutableBufferPointer { cp in
                        act.withUnsafeMutableBufferPointer { ap in h.withUnsafeMutableBufferPointer { hp in
                            lstmk_forward_step(Int32(batch), Int32(hidden), hPrev, gates, zp.baseAddress! + t * batch * g4,
                                               cPrev, cp.baseAddress! + slot * block, ap.baseAddress! + t * block,
                                               hp.baseAddress! + slot * block, step > 0 ? 1 : 0, Int32(step & 1))
                        } }
                    } }
                    for b in 0..<batch where masked && mask[t * batch + b] == 0 {
                        for k in 0..<hidden {
                            h[slot * block + b * hidden + k] = h[previous * block + b * hidden + k]
                            c[slot * block + b * hidden + k] = c[previous * block + b * hidden + k]
                        }
                    }
                }
                let expected = z + h + c + act
                for split in [LSTMK_SPLIT_UNITS, LSTMK_SPLIT_ROWS, LSTMK_SPLIT_AUTO] { for threads in [1, 2, 3, 5] {
                    var zt = z0, ht = [Float](repeating: 0, count: (steps + 1) * block), ct = ht
                    var actT = [Float](repeating: 0, count: steps * block)
                    zt.withUnsafeMutableBufferPointer { zp in ht.withUnsafeMutableBufferPointer { hp in
                        ct.withUnsafeMutableBufferPointer { cp in actT.withUnsafeMutableBufferPointer { ap in
                            mask.withUnsafeBufferPointer { mp in
                                gates.withUnsafeBufferPointer { gp in
                                    var cell = lstmk_cell(batch: Int32(batch), steps: Int32(steps), hidden: Int32(hidden),
                                                          reverse: reverse ? 1 : 0, packed_gates: gp.baseAddress!,
                                                          z: zp.baseAddress!, h: hp.baseAddress!, c: cp.baseAddress!,
                                                          act_c: ap.baseAddress!, mask: masked ? mp.baseAddress! : nil,
                                                          split: Int32(split), x: nil, input: 0, packed_w: nil, bias: nil)
                                    lstmk_forward_cell(&cell, Int32(threads))
                                }
                            }
                        } }
                    } }
                    let actual = zt + ht + ct + actT
                    let differing = zip(expected, actual).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "split \(split) reverse \(reverse) masked \(masked) threads \(threads): \(differing) differ")
                } }
            }
        }
    }

    /// B48: the input projection is, element by element, one FMA chain from the bias over k in order (Swift's
    /// `addingProduct` is a fused multiply-add), whatever rows a call gets; on 13 rows (two full tiles and one),
    /// K = 37 and N = 100 (a full panel and a partial one), W packed from its rows in two calls.
    @Test func B48_projectionIsOneChainFromTheBias() {
        let rows = 13, k = 37, n = 100
        let x = Self.uniform(rows * k, seed: 50, scale: 1), w = Self.uniform(n * k, seed: 51, scale: 0.5)
        let bias = Self.uniform(n, seed: 52, scale: 2)
        var packed = [Float](repeating: 0, count: lstmk_panels_count(Int32(k), Int32(n)))
        lstmk_pack_transposed(w, Int32(k), Int32(n), 0, 41, &packed)
        lstmk_pack_transposed(w, Int32(k), Int32(n), 41, Int32(n), &packed)
        var expected = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var acc = bias[j]
                for i in 0..<k { acc = acc.addingProduct(x[r * k + i], w[j * k + i]) }
                expected[r * n + j] = acc
            }
        }
        for cut in [[0, rows], [0, 1, 7, rows], Array(0...rows)] {
            var z = [Float](repeating: .nan, count: rows * n)
            z.withUnsafeMutableBufferPointer { zp in
                for (r0, r1) in zip(cut, cut.dropFirst()) {
                    lstmk_project(Int32(r1 - r0), Int32(k), Int32(n), Array(x[(r0 * k)...]), Int32(k), packed, bias,
                                  zp.baseAddress! + r0 * n, Int32(n))
                }
            }
            let differing = zip(expected, z).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "cut \(cut): \(differing) differ")
        }
    }

    /// B48: the time loop that forms z itself (`lstmk_cell.packed_w`: the batch split projects each thread's rows
    /// of z(t) right before step t, the unit split a fixed part of all rows before the first step) gives the bits
    /// of `lstmk_project` over all rows followed by the loop on that z, for every split and 1, 2, 3 and 5 threads,
    /// forward and reversed, masked and not (B40's shapes; input 21).
    @Test func B48_loopThatProjectsGivesTheBitsOfProjectingFirst() {
        let batch = 5, steps = 13, hidden = 264, input = 21, g4 = 4 * hidden, block = batch * hidden
        let u = Self.uniform(g4 * hidden, seed: 53, scale: 0.15), w = Self.uniform(g4 * input, seed: 54, scale: 0.4)
        let bias = Self.uniform(g4, seed: 55, scale: 0.5), x = Self.uniform(steps * batch * input, seed: 56, scale: 1)
        var gates = [Float](repeating: 0, count: lstmk_panels_count(Int32(hidden), Int32(g4)))
        lstmk_pack_gates(u, Int32(hidden), Int32(hidden), 0, Int32(g4), &gates)
        var packedW = [Float](repeating: 0, count: lstmk_panels_count(Int32(input), Int32(g4)))
        lstmk_pack_transposed(w, Int32(input), Int32(g4), 0, Int32(g4), &packedW)
        var z0 = [Float](repeating: 0, count: steps * batch * g4)
        lstmk_project(Int32(steps * batch), Int32(input), Int32(g4), x, Int32(input), packedW, bias, &z0, Int32(g4))
        let mask: [UInt8] = (0..<(steps * batch)).map { $0 % 7 == 3 ? 0 : 1 }
        func run(project: Bool, split: Int32, threads: Int, reverse: Bool, masked: Bool) -> [Float] {
            // Projecting: z starts as NaN, so a row the loop does not form shows.
            var z = project ? [Float](repeating: .nan, count: z0.count) : z0
            var h = [Float](repeating: 0, count: (steps + 1) * block), c = h
            var act = [Float](repeating: 0, count: steps * block)
            z.withUnsafeMutableBufferPointer { zp in h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in act.withUnsafeMutableBufferPointer { ap in
                    mask.withUnsafeBufferPointer { mp in gates.withUnsafeBufferPointer { gp in
                        x.withUnsafeBufferPointer { xp in packedW.withUnsafeBufferPointer { wp in
                            bias.withUnsafeBufferPointer { bp in
                                var cell = lstmk_cell(batch: Int32(batch), steps: Int32(steps), hidden: Int32(hidden),
                                                      reverse: reverse ? 1 : 0, packed_gates: gp.baseAddress!,
                                                      z: zp.baseAddress!, h: hp.baseAddress!, c: cp.baseAddress!,
                                                      act_c: ap.baseAddress!, mask: masked ? mp.baseAddress! : nil,
                                                      split: split, x: project ? xp.baseAddress! : nil,
                                                      input: Int32(input), packed_w: project ? wp.baseAddress! : nil,
                                                      bias: project ? bp.baseAddress! : nil)
                                lstmk_forward_cell(&cell, Int32(threads))
                            }
                        } }
                    } }
                } }
            } }
            return z + h + c + act
        }
        for reverse in [false, true] {
            for masked in [false, true] {
                let expected = run(project: false, split: Int32(LSTMK_SPLIT_UNITS), threads: 1, reverse: reverse,
                                   masked: masked)
                for split in [LSTMK_SPLIT_UNITS, LSTMK_SPLIT_ROWS, LSTMK_SPLIT_AUTO] { for threads in [1, 2, 3, 5] {
                    let actual = run(project: true, split: Int32(split), threads: threads, reverse: reverse, masked: masked)
                    let differing = zip(expected, actual).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "split \(split) reverse \(reverse) masked \(masked) threads \(threads): \(differing) differ")
                } }
            }
        }
    }

    /// B42: the threads' ranges are re-cut at every barrier in proportion to their speeds: contiguous, covering
    /// every group once, at least one group each, rounded to the nearest group; an even cut when no speed is
    /// known. (Any cut gives the bits of one thread: B40's test runs the loop, which re-cuts at every step.)
    @Test func B42_groupsAreSharedBySpeed() {
        func share(_ speed: [Double], groups: Int) -> [Int] {
            var bound = [Int32](repeating: -1, count: speed.count + 1)
            lstmk_share_groups(Int32(speed.count), Int32(groups), speed, &bound)
            return bound.map(Int.init)
        }
        #expect(share([1, 1], groups: 32) == [0, 16, 32])
        #expect(share([0.2, 0.6], groups: 32) == [0, 8, 32])  // a quarter of 32
        #expect(share([1.2, 1], groups: 32) == [0, 17, 32])  // 17.45 rounds to 17
        #expect(share([1.3, 1], groups: 32) == [0, 18, 32])  // 18.09
        #expect(share([2, 1, 1], groups: 17) == [0, 9, 13, 17])  // 8.5 rounds up, 12.75
        // A thread that lost its CPU (speed ~0) keeps one group; so does each of many slow ones.
        #expect(share([1e-12, 1], groups: 32) == [0, 1, 32])
        #expect(share([1, 0, 0, 0], groups: 32) == [0, 29, 30, 31, 32])
        #expect(share([1, 1, 1], groups: 3) == [0, 1, 2, 3])
        // No speed known: an even cut.
        #expect(share([0, 0, 0], groups: 32) == [0, 10, 21, 32])
        #expect(share([.nan, .nan], groups: 33) == [0, 16, 33])
        #expect(share([1], groups: 5) == [0, 5])
    }

    /// B34–B35: the kernel path agrees with the OpenBLAS path to float32 precision (outputs 1e-5 absolute, loss
    /// 1e-5 relative, each gradient tensor 1e-4 of its largest element) on every variant, masked and not, and on
    /// hidden sizes with a partial panel (20, 40) and full ones (32). Seeds 41, 42, 43.
    @Test(arguments: RandomModels.variants.map(\.name) + ["hidden20", "hidden32-bi", "hidden40-stack"])
    func B35_agreesWithTheOpenBLASPath(_ name: String) throws {
        let arch: ModelArchitecture = switch name {
        case "hidden20": RandomModels.architecture(input: 6, hidden: 20)
        case "hidden32-bi": RandomModels.architecture(input: 6, hidden: 32, layers: [(.bidirectional, .concat)])
        case "hidden40-stack": RandomModels.architecture(input: 6, hidden: 40, layers: [(.forward, nil), (.backward, nil)],
                                                          returnSequences: false)
        default: try #require(RandomModels.variants.first { $0.name == name }).architecture
        }
        for masked in [false, true] {
            let a = masked ? NumericsMaskingTests.masked(arch, kind: 1) : arch
            let model = RandomModels.make(architecture: a, seed: 41)
            let x: ModelInput = masked ? try NumericsMaskingTests.paddedInput(a, seed: 42)
                : .features(RandomModels.inputs(batch: 9, steps: 7, features: a.inputSize, seed: 42))
            let (batch, steps) = switch x {
            case .features(let t): (t.shape[0], t.shape[1])
            case .tokens(let t): (t.shape[0], t.shape[1])
            }
            let y = FiniteDifferences.targets(a, batch: batch, steps: steps, seed: 43)
            let kernels = try LSTMNumerics.gradients(model, input: x, targets: y, precision: .float32)
            let blas = try StepKernels.$enabled.withValue(false) {
                try LSTMNumerics.gradients(model, input: x, targets: y, precision: .float32)
            }
            #expect(abs(kernels.loss - blas.loss) <= 1e-5 * max(blas.loss, 1e-3), "\(name) masked \(masked)")
            let outWorst = zip(kernels.outputs.float64Values(), blas.outputs.float64Values()).map { abs($0 - $1) }.max() ?? 0
            #expect(outWorst <= 1e-5, "\(name) masked \(masked): outputs \(outWorst)")
            for (tensor, g) in blas.gradients {
                let k = try #require(kernels.gradients[tensor]).float64Values(), b = g.float64Values()
                let scale = b.map(abs).max() ?? 0
                let worst = zip(k, b).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-4 * max(scale, 1e-3), "\(name) masked \(masked) \(tensor): \(worst) vs \(scale)")
            }
        }
    }

    /// B44: the C gate pass has, value for value, the bits of the general pass's operations in its order (dh =
    /// above + recurrent; dC = (dh·o)·(1 − a·a) + carry; δ_f = ((dC·C(t−1))·f)·(1 − f), δ_i, δ_C̃, δ_o likewise;
    /// carry = dC·f), with and without the recurrent term, on hidden 37 (two full vectors of 16 and a partial one).
    @Test func B44_backwardGatesHaveTheGeneralPassBits() {
        let rows = 3, hidden = 37, g4 = 4 * hidden
        let z0 = Self.uniform(rows * g4, seed: 20, scale: 1).map { abs($0) }  // gate outputs in [0, 1)
        let above = Self.uniform(rows * hidden, seed: 21, scale: 2), rec = Self.uniform(rows * hidden, seed: 22, scale: 2)
        let act = Self.uniform(rows * hidden, seed: 23, scale: 1), cPrev = Self.uniform(rows * hidden, seed: 24, scale: 3)
        let carry0 = Self.uniform(rows * hidden, seed: 25, scale: 1)
        for recurrent in [true, false] {
            var z = z0, carry = carry0
            lstmk_backward_gates(Int32(rows), Int32(hidden), above, recurrent ? rec : nil, &z, act, cPrev, &carry, nil, 0)
            var differing = 0
            for r in 0..<rows {
                for u in 0..<hidden {
                    let s = r * hidden + u, g = r * g4 + u
                    let f = z0[g], i = z0[g + hidden], c = z0[g + 2 * hidden], o = z0[g + 3 * hidden], a = act[s]
                    let dh = recurrent ? above[s] + rec[s] : above[s]
                    var dAct = dh * o
                    dAct = dAct * (1 - a * a)
                    let dC = dAct + carry0[s]
                    var df = dC * cPrev[s], di = dC * c, dc = dC * i, d_o = dh * a
                    df = df * f * (1 - f); di = di * i * (1 - i); dc = dc * (1 - c * c); d_o = d_o * o * (1 - o)
                    let expected = [df, di, dc, d_o, dC * f]
                    let actual = [z[g], z[g + hidden], z[g + 2 * hidden], z[g + 3 * hidden], carry[s]]
                    differing += zip(expected, actual).filter { $0.bitPattern != $1.bitPattern }.count
                }
            }
            #expect(differing == 0, "recurrent \(recurrent)")
        }
    }

    /// B48: `setParameter` and `replaceTensor` on W repack the packed W: the prepared model then gives the bits of a
    /// model built with those values (a fused bidirectional cell, and one with hard-sigmoid gates, which the kernels
    /// project but do not fuse).
    @Test func B48_writesToWRepackW() throws {
        for fused in [true, false] {
            let replaced = Tensor(shape: [24, 5], values: Self.uniform(120, seed: 48, scale: 0.6).map(Double.init),
                                  dtype: .float32)
            try Self.expectWritesReachTheKernels(gate: fused ? .sigmoid : .hardSigmoidKeras3, seed: 46,
                                                 set: [("lstm.0.fwd.W_i", 5 * 7 + 3, 0.75), ("lstm.0.bwd.W_o", 5 * 23 + 4, -0.5)],
                                                 replace: [("lstm.0.fwd.W_c", replaced)], "fused \(fused)")
        }
    }

    /// B49: with a transpose buffer the gate pass leaves z and the carry as without one, and copies every δ to
    /// zt[j·ldt + r], touching nothing else of zt. 19 rows (a block of 16 and a partial one), ldt 23 from column 2
    /// (unaligned lines: masked stores); 32 rows, ldt 48 from column 16 in 64-byte aligned memory (whole aligned
    /// lines: streamed stores). Hidden 37: a partial 16-unit group.
    @Test(arguments: [(19, 23, 2), (32, 48, 16)])
    func B49_backwardGatesWriteDZTransposedBeside(_ shape: (rows: Int, ldt: Int, col0: Int)) throws {
        let (rows, ldt, col0) = shape
        let hidden = 37, g4 = 4 * hidden
        let z0 = Self.uniform(rows * g4, seed: 30, scale: 1).map { abs($0) }
        let above = Self.uniform(rows * hidden, seed: 31, scale: 2), rec = Self.uniform(rows * hidden, seed: 32, scale: 2)
        let act = Self.uniform(rows * hidden, seed: 33, scale: 1), cPrev = Self.uniform(rows * hidden, seed: 34, scale: 3)
        let carry0 = Self.uniform(rows * hidden, seed: 35, scale: 1)
        let sentinel = Float(bitPattern: 0x7fc0_1234)
        let zt = try #require(lstmk_alloc_large(g4 * ldt))
        defer { lstmk_free_large(zt) }
        for recurrent in [true, false] {
            var zPlain = z0, carryPlain = carry0
            lstmk_backward_gates(Int32(rows), Int32(hidden), above, recurrent ? rec : nil, &zPlain, act, cPrev, &carryPlain,
                                 nil, 0)
            var z = z0, carry = carry0
            zt.update(repeating: sentinel, count: g4 * ldt)
            lstmk_backward_gates(Int32(rows), Int32(hidden), above, recurrent ? rec : nil, &z, act, cPrev, &carry,
                                 zt + col0, ldt)
            #expect(zip(z, zPlain).filter { $0.bitPattern != $1.bitPattern }.isEmpty, "\(shape) recurrent \(recurrent): z")
            #expect(zip(carry, carryPlain).filter { $0.bitPattern != $1.bitPattern }.isEmpty,
                    "\(shape) recurrent \(recurrent): carry")
            var wrong = 0, touched = 0
            for j in 0..<g4 {
                for c in 0..<ldt {
                    let v = zt[j * ldt + c]
                    if c >= col0 && c < col0 + rows {
                        if v.bitPattern != z[(c - col0) * g4 + j].bitPattern { wrong += 1 }
                    } else if v.bitPattern != sentinel.bitPattern {
                        touched += 1
                    }
                }
            }
            #expect(wrong == 0 && touched == 0, "\(shape) recurrent \(recurrent): \(wrong) wrong, \(touched) outside written")
        }
    }

    /// B49: `lstmk_transpose` copies every element to its transposed place and nothing else (35 × 40: full and
    /// partial 16 × 16 tiles both ways; leading dimensions 41 and 37).
    @Test func B49_transposeIsExact() {
        let rows = 35, cols = 40, lds = 41, ldd = 37
        let src = Self.uniform(rows * lds, seed: 36, scale: 5)
        let sentinel = Float(bitPattern: 0x7fc0_4321)
        var dst = [Float](repeating: sentinel, count: cols * ldd)
        lstmk_transpose(Int32(rows), Int32(cols), src, lds, &dst, ldd)
        var wrong = 0
        for j in 0..<cols {
            for r in 0..<ldd {
                let expected = r < rows ? src[r * lds + j] : sentinel
                if dst[j * ldd + r].bitPattern != expected.bitPattern { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    /// B36: `setParameter` on U repacks: the prepared model then gives the bits of a model built with that value.
    @Test func B36_setParameterRepacksU() throws {
        try Self.expectWritesReachTheKernels(seed: 44, set: [("lstm.0.fwd.U_c", 24 * 7 + 3, 0.75), ("lstm.0.bwd.U_o", 24 * 23 + 23, -0.5)])
    }

    /// B36, B48: a float32 prepared model of one bidirectional layer (input 5, hidden 24, `gate`; weights from
    /// `seed`, inputs [3, 6, 5] from `seed` + 1), after one forward pass, gets `set`'s elements (tensor, flat index,
    /// value) through `setParameter` and `replace`'s tensors through `replaceTensor`; its outputs must then be the
    /// bits of a model built with those values.
    static func expectWritesReachTheKernels(gate: Activation = .sigmoid, seed: UInt64, set: [(String, Int, Double)],
                                            replace: [(String, Tensor)] = [], _ comment: Comment? = nil,
                                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let arch = RandomModels.architecture(input: 5, hidden: 24, layers: [(.bidirectional, .sum)], gate: gate)
        let model = RandomModels.make(architecture: arch, seed: seed)
        let x = RandomModels.inputs(batch: 3, steps: 6, features: 5, seed: seed + 1)
        let prepared = PreparedModel(model, precision: .float32)
        _ = try prepared.forward(inputs: x)
        var tensors = model.tensors
        for (name, index, value) in set {
            try prepared.setParameter(name, at: index, to: value)
            let tensor = try #require(tensors[name], sourceLocation: sourceLocation)
            var v = tensor.float64Values()
            v[index] = value
            tensors[name] = Tensor(shape: tensor.shape, values: v, dtype: .float32)
        }
        for (name, tensor) in replace {
            try prepared.replaceTensor(name, with: tensor)
            tensors[name] = tensor
        }
        let rebuilt = try LSTMModel(architecture: arch, tensors: tensors)
        #expect(try prepared.forward(inputs: x) == LSTMNumerics.forward(rebuilt, inputs: x, precision: .float32), comment,
                sourceLocation: sourceLocation)
    }
}
