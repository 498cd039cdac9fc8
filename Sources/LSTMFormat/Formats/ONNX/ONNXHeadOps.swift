/// The dense head after the LSTM stack (O-R9): `MatMul` + `Add`, `Gemm`, then one activation per dense layer.
enum ONNXHeadOps {
    static func matMul(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .flow(var f)? = ctx.input(0) else { throw ctx.refuse("the data must be its first operand") }
        guard case .numbers(.floats(let w))? = ctx.input(1), w.shape.count == 2 else {
            throw ctx.refuse("its second operand is not a rank-2 float initializer")
        }
        try startDense(&f, V: try transposed(w, ctx), ctx)
        return .flow(f)
    }

    static func gemm(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .flow(var f)? = ctx.input(0) else { throw ctx.refuse("the data must be its first operand") }
        guard try ctx.float("alpha", default: 1) == 1, try ctx.float("beta", default: 1) == 1,
              try ctx.int("transA", default: 0) == 0 else { throw ctx.refuse("alpha, beta must be 1 and transA 0") }
        guard case .numbers(.floats(let b))? = ctx.input(1), b.shape.count == 2 else {
            throw ctx.refuse("its second operand is not a rank-2 float initializer")
        }
        let V = try ctx.int("transB", default: 0) != 0 ? b : try transposed(b, ctx)
        try startDense(&f, V: V, ctx)
        if let c = ctx.input(2) { try addBias(&f, c, ctx) }
        return .flow(f)
    }

    static func add(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let a = try ctx.required(0, "A"), b = try ctx.required(1, "B")
        switch (a, b) {
        case (.flow(let x), .flow(let y)):
            return .flow(try ONNXFlowOps.mergeDirections(x, y, mode: .sum, ctx))
        case (.flow(var f), let c), (let c, .flow(var f)):
            try addBias(&f, c, ctx)
            return .flow(f)
        default:
            return try ONNXShapeOps.arithmetic(ctx)
        }
    }

    /// `Mul` of the two halves of a bidirectional output (merge mode mul), or of known integers.
    static func mul(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        if case .flow(let x)? = ctx.input(0), case .flow(let y)? = ctx.input(1) {
            return .flow(try ONNXFlowOps.mergeDirections(x, y, mode: .mul, ctx))
        }
        return try ONNXShapeOps.arithmetic(ctx)
    }

    static func activation(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .flow(var f)? = ctx.input(0) else { throw ctx.refuse("applied to a value that is not the data") }
        let act: Activation
        switch ctx.opType {
        case "Softmax":
            let rank = f.axes.count
            let axis = try normalizeAxis(try ctx.int("axis", default: ctx.opset >= 13 ? -1 : 1), rank: rank, ctx)
            guard axis == rank - 1 else { throw ctx.refuse("softmax over axis \(axis) of rank \(rank); only the last (features) axis is a canonical dense activation") }
            if ctx.opset < 13, rank > 2 { throw ctx.refuse("before opset 13, Softmax flattens the trailing axes, which is not per-step softmax") }
            act = .softmax
        case "HardSigmoid":
            let alpha = try ctx.float("alpha", default: ONNXActivations.keras2Alpha), beta = try ctx.float("beta", default: ONNXActivations.hardSigmoidBeta)
            guard let a = ONNXActivations.canonical("HardSigmoid", alpha: alpha, beta: beta) else {
                throw ctx.refuse("HardSigmoid(alpha \(alpha), beta \(beta)) has no canonical equivalent (alpha 0.2 or 1/6, beta 0.5)")
            }
            act = a
        default:
            act = ONNXActivations.canonical(ctx.opType, alpha: nil, beta: nil)!
        }
        guard case .linear = f.stage, var d = f.dense.last else {
            throw ctx.refuse("an activation not directly after a dense layer's MatMul/Gemm (+ Add) has no canonical place")
        }
        d.activation = act
        f.dense[f.dense.count - 1] = d
        f.stage = .activated
        return .flow(f)
    }

    /// Begins a dense layer y = V h (+ c later) on the data's last axis.
    private static func startDense(_ f: inout ONNXFlow, V: Tensor, _ ctx: ONNXNodeContext) throws(ONNXError) {
        switch f.stage {
        case .sequence(inputOrder: false), .lastStep, .linear, .activated: break
        default: throw ctx.refuse("its data is not an LSTM output or a dense layer's output")
        }
        let out = V.shape[0], input = V.shape[1]
        guard f.dirPick == nil, !f.timeReversed, f.axes.last == .feature(input),
              f.axes.dropLast().allSatisfy({ $0 == .batch || $0 == .time || $0 == .batchTime }) else {
            throw ctx.refuse("multiplies data of axes \(ONNXLSTMNode.describe(f.axes)) by a [\(input), \(out)] matrix; [batch(, steps), \(input)] is expected")
        }
        f.dense.append(ONNXDense(V: V, c: nil, activation: .linear))
        f.stage = .linear(hasBias: false)
        f.axes[f.axes.count - 1] = .feature(out)
    }

    private static func addBias(_ f: inout ONNXFlow, _ c: ONNXValue, _ ctx: ONNXNodeContext) throws(ONNXError) {
        guard case .linear(hasBias: false) = f.stage, var d = f.dense.last else {
            throw ctx.refuse("adds a constant that is not a dense layer's bias")
        }
        guard case .numbers(.floats(let t)) = c, let n = t.shape.last, n == d.V.shape[0], t.shape.dropLast().allSatisfy({ $0 == 1 }) else {
            throw ctx.refuse("adds a constant that is not a [\(d.V.shape[0])] bias")
        }
        d.c = try reshaped(t, [n], ctx)
        f.dense[f.dense.count - 1] = d
        f.stage = .linear(hasBias: true)
    }

    private static func reshaped(_ t: Tensor, _ shape: [Int], _ ctx: ONNXNodeContext) throws(ONNXError) -> Tensor {
        do { return try t.reshaped(shape) } catch { throw ctx.refuse(String(describing: error)) }
    }

    /// `[r, c]` → `[c, r]`, bytes moved as they are (no rounding).
    static func transposed(_ t: Tensor, _ ctx: ONNXNodeContext) throws(ONNXError) -> Tensor {
        t.transposed2D()
    }
}
