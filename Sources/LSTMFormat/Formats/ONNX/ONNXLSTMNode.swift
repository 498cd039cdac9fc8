/// An ONNX `LSTM` node as one canonical layer (O-R4, O-R5, O-R6).
///
/// ONNX stores W `[dirs, 4H, I]`, R `[dirs, 4H, H]` with gate blocks in the order i, o, f, c, and B `[dirs, 8H]`
/// = Wb ‖ Rb; the canonical model has W_g `[H, I]`, U_g `[H, H]`, b_g `[H]` for g in f, i, c, o with
/// b_g = Wb_g + Rb_g (one rounding).
enum ONNXLSTMNode {
    static func evaluate(_ ctx: ONNXNodeContext) throws(ONNXError) -> [ONNXValue] {
        guard case .flow(let x)? = ctx.input(0) else { throw ctx.refuse("its input X is not the sequence data") }
        let W = try weight(ctx, 1, "W"), R = try weight(ctx, 2, "R")
        guard W.shape.count == 3, R.shape.count == 3 else { throw ctx.refuse("W and R must have rank 3") }
        let dirs = W.shape[0], fourH = W.shape[1], I = W.shape[2]
        guard fourH % 4 == 0, fourH > 0, I > 0 else { throw ctx.refuse("W has shape \(W.shape); [dirs, 4·hidden, input] is expected") }
        let H = fourH / 4
        guard R.shape == [dirs, 4 * H, H] else { throw ctx.refuse("R has shape \(R.shape); \([dirs, 4 * H, H]) is expected") }
        let hiddenSize = try ctx.int("hidden_size", default: Int64(H))
        guard hiddenSize == Int64(H) else { throw ctx.refuse("hidden_size \(hiddenSize) does not match W's \(H)") }

        let directionName = ctx.string("direction") ?? "forward"
        var direction: Direction
        switch directionName {
        case "forward": direction = .forward
        case "reverse": direction = .backward
        case "bidirectional": direction = .bidirectional
        default: throw ctx.refuse("direction '\(directionName)' is unknown")
        }
        guard dirs == (direction == .bidirectional ? 2 : 1) else { throw ctx.refuse("W has \(dirs) directions for direction '\(directionName)'") }
        if ctx.attribute("clip") != nil {
            throw ctx.refuse("clip is set: the canonical LSTM does not clip its gate pre-activations")
        }
        guard try ctx.int("input_forget", default: 0) == 0 else {
            throw ctx.refuse("input_forget=1 couples the input and forget gates, which the canonical LSTM does not")
        }
        let layout = try ctx.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw ctx.refuse("layout \(layout) is unknown") }
        if ctx.input(4) != nil {
            throw ctx.refuse("a sequence_lens input gives sequences different lengths; the canonical model runs every sequence over all steps")
        }
        for (k, name) in [(5, "initial_h"), (6, "initial_c")] {
            try checkZeroState(ctx, k, name, dirs: dirs, hidden: H, layout: layout)
        }
        let peepholes = try peepholes(ctx, dirs: dirs, hidden: H)
        let (gate, cell) = try ONNXActivations.parse(ctx, directions: dirs)

        // The input: the graph input, or the merged output sequence of the layer before.
        switch x.stage {
        case .input: break
        case .sequence(inputOrder: false) where !x.manyToOne && x.dense.isEmpty: break
        case .sequence(inputOrder: true):
            throw ctx.refuse("its input is a reverse LSTM's output in input order, which is not what a canonical backward layer emits (Keras go_backwards emits in reading order)")
        default: throw ctx.refuse("its input is not the sequence input or an LSTM output sequence")
        }
        guard x.dirPick == nil else { throw ctx.refuse("its input is one direction of a bidirectional output") }
        if x.timeReversed {
            // A forward node over the time-reversed input is Keras's go_backwards: a canonical backward layer.
            guard direction == .forward else { throw ctx.refuse("runs \(directionName) over a time-reversed input; only a forward node there is a canonical backward layer") }
            direction = .backward
        }
        let expected: [ONNXAxis] = layout == 0 ? [.time, .batch, .feature(I)] : [.batch, .time, .feature(I)]
        let got = x.axes.map { (a: ONNXAxis) -> ONNXAxis in a == .feature(-1) ? .feature(I) : a }
        if got != expected, x.stage == .input, x.layers.isEmpty, got.count == 3, got[0] == .batch, got[1] == .time, layout == 0 {
            throw ctx.refuse("it reads the graph input's axis 0 as time: the input is time-major [steps, batch, features] (PyTorch batch_first=False), while the canonical model and O-R2 take batch-first inputs [batch, steps, features]; export with batch_first=True")
        }
        guard got == expected else {
            throw ctx.refuse("its input X has axes \(describe(x.axes)); layout \(layout) with input size \(I) needs \(describe(expected))")
        }

        // The gate layout layer (Spec/layout.md, GateLayout.onnx) splits the blocks and sums Wb + Rb once.
        var tensors: [String: Tensor] = [:]
        let B = try bias(ctx, dirs: dirs, hidden: H, like: W)
        let cells = LSTMLayerSpec(inputSize: I, hiddenSize: H, direction: direction).cells
        for (d, cell) in cells.enumerated() {
            // O-R14: row d of P is p_i ‖ p_o ‖ p_f of direction d.
            for (gate, p) in peepholes?[d] ?? [:] { tensors["\(cell.rawValue).p_\(gate.rawValue)"] = p }
        }
        do {
            let Ws = try GateLayout.splitDirections(W, count: dirs, array: "W"), Rs = try GateLayout.splitDirections(R, count: dirs, array: "R")
            let Bs = try GateLayout.splitDirections(B, count: dirs, array: "B")
            for (d, cell) in cells.enumerated() {
                let canonical = try GateLayout.onnx.unpack(FrameworkCell(input: Ws[d], recurrent: Rs[d], biases: [Bs[d]]), hidden: H)
                for g in Gate.allCases {
                    tensors["\(cell.rawValue).W_\(g.rawValue)"] = canonical.W[g]
                    tensors["\(cell.rawValue).U_\(g.rawValue)"] = canonical.U[g]
                    tensors["\(cell.rawValue).b_\(g.rawValue)"] = canonical.b[g]
                }
            }
        } catch {
            throw ctx.refuse(String(describing: error))
        }
        let spec = LSTMLayerSpec(inputSize: I, hiddenSize: H, direction: direction, mergeMode: nil,
                                 gateActivation: gate, cellActivation: cell, peepholes: peepholes != nil)
        var flow = x
        flow.timeReversed = false
        flow.layers.append(ONNXLayer(spec: spec, tensors: tensors, nodeName: ctx.node.name.isEmpty ? ctx.label : ctx.node.name))
        var y = flow, yh = flow
        y.axes = layout == 0 ? [.time, .dir(dirs), .batch, .feature(H)] : [.batch, .time, .dir(dirs), .feature(H)]
        y.stage = .sequence(inputOrder: direction == .backward && !x.timeReversed)
        yh.axes = layout == 0 ? [.dir(dirs), .batch, .feature(H)] : [.batch, .dir(dirs), .feature(H)]
        yh.stage = .lastStep
        yh.manyToOne = true
        return [.flow(y), .flow(yh), .refused(ctx.refuse("its cell state output Y_c is not a canonical model output"))]
    }

    private static func weight(_ ctx: ONNXNodeContext, _ k: Int, _ name: String) throws(ONNXError) -> Tensor {
        guard case .numbers(.floats(let t))? = ctx.input(k) else { throw ctx.refuse("\(name) is not a float initializer or constant") }
        return t
    }

    private static func bias(_ ctx: ONNXNodeContext, dirs: Int, hidden H: Int, like W: Tensor) throws(ONNXError) -> Tensor {
        guard ctx.input(3) != nil else { return Tensor.zeros(shape: [dirs, 8 * H], dtype: W.dtype) }
        let B = try weight(ctx, 3, "B")
        guard B.shape == [dirs, 8 * H] else { throw ctx.refuse("B has shape \(B.shape); \([dirs, 8 * H]) is expected") }
        return B
    }

    /// O-R6: an initial state must be absent or all zero, shaped `[dirs, batch, H]` (layout 0) or `[batch, dirs, H]`.
    private static func checkZeroState(_ ctx: ONNXNodeContext, _ k: Int, _ name: String, dirs: Int, hidden H: Int, layout: Int64) throws(ONNXError) {
        guard let v = ctx.input(k) else { return }
        let dims: [ONNXDim]
        switch v {
        case .graphInput(let g):
            throw ctx.refuse("\(name) is the graph input '\(g)'; the canonical model starts every sequence from a zero state")
        case .filled(let x, let d, _):
            guard x == 0 else { throw ctx.refuse("\(name) is \(x), not zero; the canonical model starts every sequence from a zero state") }
            dims = d
        case .numbers(.floats(let t)):
            guard t.float64Values().allSatisfy({ $0 == 0 }) else {
                throw ctx.refuse("\(name) is not all zero; the canonical model starts every sequence from a zero state")
            }
            dims = t.shape.map { .known($0) }
        default:
            throw ctx.refuse("\(name) depends on the input data; the canonical model starts every sequence from a zero state")
        }
        let dirAxis = layout == 0 ? 0 : 1
        guard dims.count == 3, dims[dirAxis] == .known(dirs), dims[2] == .known(H) else {
            throw ctx.refuse("\(name) has shape \(dims); [\(layout == 0 ? "\(dirs), batch" : "batch, \(dirs)"), \(H)] is expected")
        }
    }

    /// O-R14: peepholes `P` `[dirs, 3H]` (blocks p_i, p_o, p_f per direction) as the canonical p_f, p_i, p_o per
    /// direction, in P's dtype. nil when P is absent or all zero (then the node is the plain LSTM, exactly).
    private static func peepholes(_ ctx: ONNXNodeContext, dirs: Int, hidden H: Int) throws(ONNXError) -> [[Gate: Tensor]]? {
        guard ctx.input(7) != nil else { return nil }
        let P = try weight(ctx, 7, "P")
        guard P.shape == [dirs, 3 * H] else { throw ctx.refuse("P has shape \(P.shape); \([dirs, 3 * H]) is expected") }
        let values = P.float64Values()
        guard values.contains(where: { $0 != 0 }) else { return nil }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ctx.refuse("peephole P[\(bad / (3 * H)), \(bad % (3 * H))] is \(values[bad]); peepholes must be finite (M25)")
        }
        do {
            return try GateLayout.splitDirections(P, count: dirs, array: "P").map { row throws(LayoutError) in
                let blocks = try GateLayout.splitDirections(try! Tensor(dtype: row.dtype, shape: [3, H], bytes: row.bytes), count: 3, array: "P")
                return [.i: blocks[0], .o: blocks[1], .f: blocks[2]]
            }
        } catch {
            throw ctx.refuse(String(describing: error))
        }
    }

    static func describe(_ axes: [ONNXAxis]) -> String {
        "[" + axes.map { a -> String in
            switch a {
            case .batch: "batch"
            case .time: "steps"
            case .batchTime: "batch·steps"
            case .dir(let n): "\(n) directions"
            case .feature(let n): n < 0 ? "features" : "\(n) features"
            case .unit: "1"
            case .stateStack(let e, let d): "\(e + d) stacked final states"
            }
        }.joined(separator: ", ") + "]"
    }
}
