import Foundation

/// The magnitude the rounding noise of each output feature scales with (`Spec/bptt.md` B19a, s_j): two correct
/// computations of a model differ in output feature j by about u·√N·s_j, so a tolerance built on s_j holds for
/// every feature whatever the scale of the others.
public enum OutputScale {
    /// s_j for j in 0..<F, F the outputs' last axis (`outputSize`), for the outputs of `model` on `input`:
    /// - with a dense head, the largest over the output positions (batch, steps) of
    ///   slope_j · max(|z_j|, √(c_j² + Σ_k (V_jk·a_k)²)), where a [in] is the last dense layer's input from our forward
    ///   pass of the model without that layer in `precision`, V [out, in] and c [out] its tensors, z = V·a + c its
    ///   pre-activation and slope_j a bound on the activation's slope (1 linear, relu, tanh; 1/4 sigmoid; 0.2 and
    ///   1/6 the hard sigmoids; softmax 2·p_j(1 − p_j)·max_i of the row's pre-activation scales, its Jacobian's bound);
    /// - without one, the largest finite |expected[…, j]|.
    /// Non-finite values are skipped (a feature with none finite gets 0). Throws what the forward pass throws.
    public static func perFeature(_ model: LSTMModel, input: ModelInput, expected: Tensor, precision: Precision) throws -> [Double] {
        try ofHead(model, input: input, precision: precision) ?? expectedMagnitude(expected)
    }

    /// The dense-head part of `perFeature`: s_j from the last dense layer, or nil for a model without a dense head.
    public static func ofHead(_ model: LSTMModel, input: ModelInput, precision: Precision) throws -> [Double]? {
        let architecture = model.architecture
        guard let head = architecture.dense.last else { return nil }
        let last = architecture.dense.count - 1
        var tensors = model.tensors
        tensors[TensorName.denseV(last)] = nil
        tensors[TensorName.denseC(last)] = nil
        var body = architecture
        body.dense.removeLast()
        let a = try LSTMNumerics.forward(try LSTMModel(architecture: body, tensors: tensors), input: input, precision: precision).float64Values()
        return headScales(a: a, V: model.tensors[TensorName.denseV(last)]!.float64Values(),
                          c: model.tensors[TensorName.denseC(last)]!.float64Values(),
                          inputs: head.inputSize, outputs: head.outputSize, activation: head.activation)
    }

    /// s_j without a dense head: the largest finite |e[…, j]| for each j of the outputs' last axis.
    public static func expectedMagnitude(_ expected: Tensor) -> [Double] {
        let f = max(1, expected.shape.last ?? 1)
        var s = [Double](repeating: 0, count: f)
        for (k, v) in expected.float64Values().enumerated() where v.isFinite { s[k % f] = max(s[k % f], abs(v)) }
        return s
    }

    /// The dense-head scales for rows of `a` [rows, inputs] through V [outputs, inputs], c [outputs].
    static func headScales(a: [Double], V: [Double], c: [Double], inputs: Int, outputs: Int, activation: Activation) -> [Double] {
        let rows = inputs == 0 ? 0 : a.count / inputs
        var s = [Double](repeating: 0, count: outputs)
        var z = [Double](repeating: 0, count: outputs), r = [Double](repeating: 0, count: outputs)
        for row in 0..<rows {
            let x = row * inputs
            for j in 0..<outputs {
                var sum = c[j], squares = c[j] * c[j]
                for k in 0..<inputs {
                    let term = V[j * inputs + k] * a[x + k]
                    sum += term
                    squares += term * term
                }
                z[j] = sum
                r[j] = max(abs(sum), squares.squareRoot())
            }
            guard r.allSatisfy(\.isFinite) else { continue }
            if activation == .softmax {
                let top = z.max()!, rowScale = r.max()!
                let e = z.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
                // ∂p_j/∂z_i = p_j(δ_ij − p_i), so |δp_j| = p_j·|Σ_{i≠j} p_i(δz_j − δz_i)| ≤ 2·p_j(1 − p_j)·max|δz|: a
                // saturated row (p_j near 0 or 1) moves little; 1 − p_j as the others' sum keeps its digits.
                for j in 0..<outputs { s[j] = max(s[j], 2 * (e[j] / total) * ((total - e[j]) / total) * rowScale) }
            } else {
                let slope = slopeBound(activation)
                for j in 0..<outputs { s[j] = max(s[j], slope * r[j]) }
            }
        }
        return s
    }

    /// The largest |a'(x)| of an elementwise activation (softmax is handled by its Jacobian in `headScales`).
    static func slopeBound(_ activation: Activation) -> Double {
        switch activation {
        case .linear, .relu, .tanh, .softmax: 1
        case .sigmoid: 0.25
        case .hardSigmoidKeras2: 0.2
        case .hardSigmoidKeras3: 1.0 / 6
        }
    }
}
