import Foundation
import LSTMFormat
import Testing

/// `Spec/bptt.md` B1–B4: the forward pass of eq. 8.24 and the direction, merge and many-to-one rules of
/// `Spec/canonical-model.md` M2 and M5.
@Suite struct NumericsForwardTests {
    /// A 1-unit model (input 1, hidden 1, dense 1 → 1) over two steps, worked by hand below with scalar libm
    /// arithmetic independent of the verifier.
    @Test(arguments: Precision.allCases)
    func oneUnitModelMatchesHandComputation(_ precision: Precision) throws {
        let w: [String: Double] = [
            "W_f": 0.5, "W_i": -0.3, "W_c": 0.8, "W_o": 0.2,
            "U_f": 0.1, "U_i": 0.4, "U_c": -0.6, "U_o": 0.7,
            "b_f": 0.0, "b_i": 0.1, "b_c": -0.1, "b_o": 0.2,
        ]
        var tensors: [String: Tensor] = [:]
        for (k, v) in w { tensors["lstm.0.fwd.\(k)"] = Tensor(shape: k.hasPrefix("b") ? [1] : [1, 1], float64: [v]) }
        tensors["dense.0.V"] = Tensor(shape: [1, 1], float64: [1.5])
        tensors["dense.0.c"] = Tensor(shape: [1], float64: [-0.25])
        let arch = RandomModels.architecture(input: 1, hidden: 1, dense: [(1, .linear)])
        let model = try LSTMModel(architecture: arch, tensors: tensors)

        func sigma(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        let xs = [1.0, -2.0]
        var h = 0.0, c = 0.0
        var expected: [Double] = []
        for x in xs {
            let f = sigma(0.5 * x + 0.1 * h + 0.0)
            let i = sigma(-0.3 * x + 0.4 * h + 0.1)
            let g = tanh(0.8 * x - 0.6 * h - 0.1)
            let o = sigma(0.2 * x + 0.7 * h + 0.2)
            c = f * c + i * g
            h = o * tanh(c)
            expected.append(1.5 * h - 0.25)
        }
        // Step 0 by hand: f = σ(0.5) = 0.62246, i = σ(-0.2) = 0.45017, g = tanh(0.7) = 0.60437,
        // C = i·g = 0.27207, o = σ(0.4) = 0.59869, h = 0.59869 · tanh(0.27207) = 0.15898, y = -0.01153.
        #expect(abs(expected[0] - -0.011_53) < 1e-5)

        let out = try LSTMNumerics.forward(model, inputs: Tensor(shape: [1, 2, 1], float64: xs), precision: precision)
        #expect(out.shape == [1, 2, 1])
        #expect(out.dtype == precision.dtype)
        let tol = precision == .float64 ? 1e-14 : 1e-6
        for (a, e) in zip(out.float64Values(), expected) { #expect(abs(a - e) <= tol, "\(a) vs \(e)") }
    }

    /// M2: a `backward` layer equals a `forward` layer with the same weights on the time-reversed inputs, and its
    /// outputs are not reversed back.
    @Test func backwardLayerIsForwardLayerOnReversedSequence() throws {
        let fwdArch = RandomModels.architecture(dense: [])
        let fwd = RandomModels.make(architecture: fwdArch, dtype: .float64, seed: 7)
        let bwd = try renamed(fwd, to: RandomModels.architecture(layers: [(.backward, nil)], dense: []), from: "fwd", to: "bwd")
        let x = RandomModels.inputs(batch: 2, steps: 5, features: 3, seed: 8)
        let yFwd = try LSTMNumerics.forward(fwd, inputs: reversed(x), precision: .float64)
        let yBwd = try LSTMNumerics.forward(bwd, inputs: x, precision: .float64)
        #expect(yFwd == yBwd)
    }

    /// M2 and M5: a bidirectional concat layer is [forward layer; backward layer re-aligned to input time]; for
    /// many-to-one its backward half is the backward cell's last computed state.
    @Test(arguments: [true, false])
    func bidirectionalConcatJoinsBothDirections(_ returnSequences: Bool) throws {
        let biArch = RandomModels.architecture(layers: [(.bidirectional, .concat)], returnSequences: returnSequences, dense: [])
        let bi = RandomModels.make(architecture: biArch, dtype: .float64, seed: 9)
        var fTensors: [String: Tensor] = [:], bTensors: [String: Tensor] = [:]
        for (n, t) in bi.tensors {
            if n.contains(".fwd.") { fTensors[n] = t } else { bTensors[n] = t }
        }
        let fwd = try LSTMModel(architecture: RandomModels.architecture(returnSequences: returnSequences, dense: []), tensors: fTensors)
        let bwd = try LSTMModel(architecture: RandomModels.architecture(layers: [(.backward, nil)], returnSequences: returnSequences, dense: []),
                                tensors: bTensors)
        let x = RandomModels.inputs(batch: 2, steps: 5, features: 3, seed: 10)
        let yBi = try LSTMNumerics.forward(bi, inputs: x, precision: .float64).float64Values()
        let yF = try LSTMNumerics.forward(fwd, inputs: x, precision: .float64).float64Values()
        let yB = try LSTMNumerics.forward(bwd, inputs: x, precision: .float64).float64Values()
        let h = 4, steps = returnSequences ? 5 : 1
        for b in 0..<2 {
            for t in 0..<steps {
                // Many-to-many: the backward layer's out(T-1-t) is the state that has read x(T-1) … x(t).
                let bt = returnSequences ? steps - 1 - t : 0
                for u in 0..<h {
                    #expect(yBi[(b * steps + t) * 2 * h + u] == yF[(b * steps + t) * h + u])
                    #expect(yBi[(b * steps + t) * 2 * h + h + u] == yB[(b * steps + bt) * h + u])
                }
            }
        }
    }

    /// M2: sum, mul and ave merge the same two halves that concat lays side by side.
    @Test(arguments: [MergeMode.sum, .mul, .ave])
    func mergeModesCombineConcatHalves(_ mode: MergeMode) throws {
        let concat = RandomModels.make(architecture: RandomModels.architecture(layers: [(.bidirectional, .concat)], dense: []),
                                       dtype: .float64, seed: 11)
        let merged = try LSTMModel(architecture: RandomModels.architecture(layers: [(.bidirectional, mode)], dense: []),
                                   tensors: concat.tensors)
        let x = RandomModels.inputs(batch: 1, steps: 4, features: 3, seed: 12)
        let yc = try LSTMNumerics.forward(concat, inputs: x, precision: .float64).float64Values()
        let ym = try LSTMNumerics.forward(merged, inputs: x, precision: .float64).float64Values()
        for r in 0..<4 {
            for u in 0..<4 {
                let f = yc[r * 8 + u], b = yc[r * 8 + 4 + u]
                let e = switch mode { case .sum: f + b; case .mul: f * b; case .ave: (f + b) / 2; case .concat: 0.0 }
                #expect(abs(ym[r * 4 + u] - e) <= 1e-15)
            }
        }
    }

    /// Softmax heads give rows that sum to 1; many-to-one returns [batch, out].
    @Test func softmaxManyToOneRowsSumToOne() throws {
        let arch = RandomModels.architecture(returnSequences: false, dense: [(5, .softmax)])
        let model = RandomModels.make(architecture: arch, seed: 13)
        let y = try LSTMNumerics.forward(model, inputs: RandomModels.inputs(batch: 3, steps: 6, features: 3, seed: 14), precision: .float32)
        #expect(y.shape == [3, 5])
        let v = y.float64Values()
        for b in 0..<3 { #expect(abs(v[b * 5..<b * 5 + 5].reduce(0, +) - 1) < 1e-6) }
    }

    private func reversed(_ x: Tensor) -> Tensor {
        let (b, t, f) = (x.shape[0], x.shape[1], x.shape[2])
        let v = x.float64Values()
        var out = v
        for i in 0..<b { for s in 0..<t { for k in 0..<f { out[(i * t + s) * f + k] = v[(i * t + (t - 1 - s)) * f + k] } } }
        return Tensor(shape: x.shape, float64: out)
    }

    private func renamed(_ m: LSTMModel, to arch: ModelArchitecture, from a: String, to b: String) throws -> LSTMModel {
        var t: [String: Tensor] = [:]
        for (n, v) in m.tensors { t[n.replacingOccurrences(of: ".\(a).", with: ".\(b).")] = v }
        return try LSTMModel(architecture: arch, tensors: t)
    }
}
