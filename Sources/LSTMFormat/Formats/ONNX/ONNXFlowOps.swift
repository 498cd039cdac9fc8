/// Glue applied to the data flowing from the input (O-R7, O-R8): axis moves, merges of a bidirectional output,
/// and the choice of the last step.
enum ONNXFlowOps {
    static func transpose(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data")
        let rank: Int
        switch data {
        case .flow(let f): rank = f.axes.count
        case .filled(_, let d, _): rank = d.count
        default: throw ctx.refuse("transposes a value the reader cannot fold")
        }
        let perm = ctx.ints("perm").map { $0.map(Int.init) } ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw ctx.refuse("perm \(perm) is not a permutation of \(rank) axes") }
        switch data {
        case .flow(var f):
            f.axes = perm.map { f.axes[$0] }
            return .flow(f)
        case .filled(let x, let d, let t): return .filled(x, perm.map { d[$0] }, t)
        default: throw ctx.refuse("transposes a value the reader cannot fold")
        }
    }

    /// Reshape of the data: size-1 axes may come and go, and a bidirectional output's `[dir(2), feature(H)]`
    /// may become `feature(2H)` (the `concat` merge). Anything else mixes axes and is refused.
    static func reshape(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data")
        guard var target = try ctx.required(1, "shape").asDims else { throw ctx.refuse("the target shape is not constant") }
        let allowZero = try ctx.int("allowzero", default: 0) != 0
        let dims: [ONNXDim]
        switch data {
        case .flow(let f): dims = f.dims
        case .filled(_, let d, _): dims = d
        default:
            // A shape vector or size kept as it is: [n] ↔ [n], [1] ↔ [] (the dynamo exporter's size arithmetic).
            guard let d = data.asDims else { throw ctx.refuse("reshapes a value the reader cannot fold") }
            let count = target.count == 1 && (target[0] == .known(-1) || target[0] == .known(d.count)) ? d.count : -1
            if count == d.count { return .dims(d, scalar: false) }
            if target.isEmpty, d.count == 1 { return .dims(d, scalar: true) }
            throw ctx.refuse("reshapes the \(d.count) sizes \(d) to \(target)")
        }
        for k in target.indices where target[k] == .known(0) && !allowZero {
            guard k < dims.count else { throw ctx.refuse("copies axis \(k), which the data does not have") }
            target[k] = dims[k]
        }
        if let inferred = target.firstIndex(of: .known(-1)) {
            target[inferred] = try infer(dims, target, ctx)
        }
        switch data {
        case .filled(let x, _, let t): return .filled(x, target, t)
        case .flow(let f): return .flow(try regroup(f, target, ctx))
        default: throw ctx.refuse("reshapes a value the reader cannot fold")
        }
    }

    /// The size of the `-1` entry: symbolic sizes must appear on both sides; the known sizes must divide.
    private static func infer(_ dims: [ONNXDim], _ target: [ONNXDim], _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXDim {
        func split(_ d: [ONNXDim]) -> (Int, [ONNXDim])? {
            var p = 1, sym: [ONNXDim] = []
            for x in d {
                switch x {
                case .known(let n) where n >= 0:
                    let (q, o) = p.multipliedReportingOverflow(by: n)
                    if o { return nil }
                    p = q
                case .known: continue
                default: sym.append(x)
                }
            }
            return (p, sym)
        }
        guard let (inP, inSym) = split(dims), let (outP, outSym) = split(target.filter { $0 != .known(-1) }) else { throw ctx.refuse("sizes overflow") }
        if inSym.sorted(by: { $0.description < $1.description }) == outSym.sorted(by: { $0.description < $1.description }) {
            guard outP > 0, inP % outP == 0 else { throw ctx.refuse("cannot infer the -1 size of \(target) from \(dims)") }
            return .known(inP / outP)
        }
        if outSym.count + 1 == inSym.count, outP == inP, let extra = inSym.first(where: { s in !outSym.contains(s) }) { return extra }
        if outSym.isEmpty, inSym == [.batch, .steps], outP == inP { return .batchSteps }
        throw ctx.refuse("cannot infer the -1 size of \(target) from \(dims)")
    }

    private static func regroup(_ f: ONNXFlow, _ target: [ONNXDim], _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXFlow {
        var out = f, axes: [ONNXAxis] = []
        var k = 0
        let input = f.axes
        func skipUnits() { while k < input.count, input[k].isSizeOne { k += 1 } }
        var splitting = false
        for t in target {
            if splitting {
                guard t == .steps else { throw ctx.refuse("reshape of \(f.dims) to \(target) splits batch·steps other than into batch, steps") }
                axes.append(.time); k += 1; splitting = false
                continue
            }
            switch t {
            case .batch where k < input.count && input[k] == .batchTime:
                axes.append(.batch); splitting = true
            case .batchSteps:
                skipUnits()
                if k < input.count, input[k] == .batchTime { axes.append(.batchTime); k += 1; continue }
                guard k + 1 < input.count, input[k] == .batch, input[k + 1] == .time else {
                    throw ctx.refuse("reshape of \(f.dims) to \(target) flattens axes other than batch, steps")
                }
                axes.append(.batchTime); k += 2
            case .batch, .steps:
                skipUnits()
                guard k < input.count, input[k].dim == t else { throw ctx.refuse("reshape to \(target) moves the \(t) axis of \(f.dims)") }
                axes.append(input[k]); k += 1
            case .known(1):
                axes.append(.unit)
            case .known(let n):
                skipUnits()
                guard k < input.count else { throw ctx.refuse("reshape of \(f.dims) to \(target) is not supported") }
                // The concat merge: a direction axis of two, then the features.
                if case .dir(2) = input[k], k + 1 < input.count, case .feature(let h) = input[k + 1], n == 2 * h {
                    try mergeConcat(&out, ctx)
                    axes.append(.feature(n)); k += 2; continue
                }
                if input[k].dim == .known(n) { axes.append(input[k]); k += 1; continue }
                throw ctx.refuse("reshape of \(f.dims) to \(target) mixes axes; only the concat of a bidirectional output's directions is supported")
            }
        }
        skipUnits()
        guard k == input.count, !splitting else { throw ctx.refuse("reshape of \(f.dims) to \(target) is not supported") }
        out.axes = axes
        return out
    }

    private static func mergeConcat(_ f: inout ONNXFlow, _ ctx: ONNXNodeContext) throws(ONNXError) {
        guard f.dense.isEmpty, var last = f.layers.last, last.spec.direction == .bidirectional, last.spec.mergeMode == nil else {
            throw ctx.refuse("merges a direction axis that is not a bidirectional LSTM output")
        }
        last.spec.mergeMode = .concat
        f.layers[f.layers.count - 1] = last
    }

    /// `Gather` of one index along an axis of the data.
    static func select(_ f: ONNXFlow, axis: Int, index: Int64, keepAxis: Bool, _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXFlow {
        var out = f
        switch f.axes[axis] {
        case .time:
            try takeStep(&out, last: index == -1, first: index == 0, what: "step \(index)", ctx)
        case .dir(1), .unit:
            guard index == 0 || index == -1 else { throw ctx.refuse("index \(index) of a size-1 axis") }
        case .dir(2):
            try pickDirection(&out, index < 0 ? Int(clamping: index + 2) : Int(clamping: index), ctx)
        case .stateStack(let earlier, let dirs):
            // h_n[k]: only the last layer's entries are a canonical output (O-R8).
            let i = index < 0 ? index + Int64(earlier + dirs) : index
            guard i >= Int64(earlier), i < Int64(earlier + dirs) else {
                throw ctx.refuse("selects entry \(index) of \(earlier + dirs) stacked final states, a final state of an earlier layer, which is not the model's output")
            }
            if dirs == 2 { try pickDirection(&out, Int(i) - earlier, ctx) }
        default:
            throw ctx.refuse("selects from the \(f.axes[axis]) axis of the data")
        }
        if keepAxis { out.axes[axis] = .unit } else { out.axes.remove(at: axis) }
        return out
    }

    /// `Slice` of the data along one axis: the last step, the first step of a reverse layer, a full range, or the
    /// time reversal that turns a reverse layer's `Y` into a canonical `backward` output.
    static func slice(_ f: ONNXFlow, axis: Int, start: Int64, end: Int64, step: Int64, _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXFlow {
        let big = Int64(Int32.max)
        var out = f
        if case .stateStack(let earlier, let dirs) = f.axes[axis] {
            let (first, count) = sliceBounds(start: start, end: end, step: step, length: earlier + dirs)
            guard step == 1, first >= Int64(earlier) else {
                throw ctx.refuse("slices final states of an earlier layer out of \(earlier + dirs) stacked final states, which are not the model's output")
            }
            if count == dirs { out.axes[axis] = .dir(dirs); return out }
            guard count == 1, dirs == 2 else { throw ctx.refuse("slices \(count) of \(earlier + dirs) stacked final states") }
            try pickDirection(&out, Int(first) - earlier, ctx)
            out.axes[axis] = .unit
            return out
        }
        if case .known(let n) = f.axes[axis].dim {
            let (first, count) = sliceBounds(start: start, end: end, step: step, length: n)
            if count == n, step == 1 || n == 1 { return f }
            if case .dir(2) = f.axes[axis], count == 1, step == 1 {
                try pickDirection(&out, Int(first), ctx)
                out.axes[axis] = .unit
                return out
            }
            throw ctx.refuse("slices part of the \(f.axes[axis]) axis")
        }
        guard f.axes[axis] == .time else { throw ctx.refuse("slices part of the batch axis") }
        if step == 1, start == 0, end >= big { return f }
        if step == 1, start == -1, end >= big { try takeStep(&out, last: true, first: false, what: "the last step", ctx) }
        else if step == 1, start == 0, end == 1 { try takeStep(&out, last: false, first: true, what: "the first step", ctx) }
        else if step == -1, start == -1 || start >= big, end <= -big {
            guard case .sequence(let inputOrder) = f.stage, f.dense.isEmpty, let layer = f.layers.last, layer.spec.direction == .backward else {
                throw ctx.refuse("reverses the time axis of data that is not a reverse LSTM's output")
            }
            guard inputOrder else { throw ctx.refuse("reverses the time axis twice") }
            out.stage = .sequence(inputOrder: false)
            return out
        } else {
            throw ctx.refuse("slice [\(start):\(end):\(step)] of the time axis; only the last step or the whole sequence is supported")
        }
        out.axes[axis] = .unit
        return out
    }

    /// The step a many-to-one model returns (M5, O-R8).
    private static func takeStep(_ f: inout ONNXFlow, last: Bool, first: Bool, what: String, _ ctx: ONNXNodeContext) throws(ONNXError) {
        guard !f.manyToOne, let layer = f.layers.last else { throw ctx.refuse("takes \(what) of data that is not an LSTM output sequence") }
        var inputOrder: Bool
        switch f.stage {
        case .sequence(let o): inputOrder = o
        case .linear, .activated: inputOrder = false
        default: throw ctx.refuse("takes \(what) of data that is not an LSTM output sequence")
        }
        var direction = layer.spec.direction
        if let pick = f.dirPick {
            direction = pick == 0 ? .forward : .backward
            inputOrder = pick == 1
        }
        guard !f.timeReversed else { throw ctx.refuse("takes \(what) of a time-reversed input") }
        switch direction {
        case .forward:
            guard last else { throw ctx.refuse("takes \(what) of a forward LSTM; only the last step is a many-to-one output") }
        case .backward:
            guard last != inputOrder, first == inputOrder else {
                throw ctx.refuse("takes \(what) of a reverse LSTM's output; only its final state (the state after reading the whole sequence) is a many-to-one output")
            }
        case .bidirectional:
            throw ctx.refuse("takes \(what) of a bidirectional LSTM's output: its backward half has then read only part of the sequence, which is not a canonical many-to-one output (use Y_h)")
        }
        f.manyToOne = true
        if case .sequence = f.stage { f.stage = .lastStep }
    }

    /// Keeps one direction (0 forward, 1 backward) of the last layer's bidirectional output.
    private static func pickDirection(_ f: inout ONNXFlow, _ index: Int, _ ctx: ONNXNodeContext) throws(ONNXError) {
        guard index == 0 || index == 1, f.dirPick == nil, f.dense.isEmpty, let last = f.layers.last,
              last.spec.direction == .bidirectional, last.spec.mergeMode == nil else {
            throw ctx.refuse("selects a direction of data that is not an unmerged bidirectional LSTM output")
        }
        f.dirPick = index
    }

    /// The forward (`a`) and backward (`b`) halves of one bidirectional layer merged per step (M2): `Concat` on
    /// the features, `Add` (sum), `Mul` (mul).
    static func mergeDirections(_ a: ONNXFlow, _ b: ONNXFlow, mode: MergeMode, _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXFlow {
        guard a.dirPick == 0, b.dirPick == 1, a.layers.count == b.layers.count, a.layers.last?.nodeName == b.layers.last?.nodeName,
              a.manyToOne == b.manyToOne, a.stage == b.stage else {
            throw ctx.refuse("combines data other than the forward then the backward half of one bidirectional LSTM output at the same step")
        }
        guard case .feature(let h)? = a.axes.last, a.axes == b.axes else {
            throw ctx.refuse("combines halves of different shapes \(ONNXLSTMNode.describe(a.axes)), \(ONNXLSTMNode.describe(b.axes))")
        }
        var out = a
        out.dirPick = nil
        out.layers[out.layers.count - 1].spec.mergeMode = mode
        if mode == .concat { out.axes[out.axes.count - 1] = .feature(2 * h) }
        return out
    }

    /// `Concat` of final states (`Y_h`) of successive layers along the direction axis: PyTorch's `h_n`
    /// `[layers·dirs, batch, H]` (O-R8). The result is the last layer's flow with a `stateStack` axis.
    static func stackStates(_ flows: [ONNXFlow], axis: Int, _ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXFlow {
        var earlier = 0
        for (k, f) in flows.enumerated() {
            guard f.stage == .lastStep, f.dirPick == nil, f.dense.isEmpty, f.axes.count == flows[0].axes.count else {
                throw ctx.refuse("concatenates data other than final states (Y_h) of LSTM layers along axis \(axis)")
            }
            let n: Int
            switch f.axes[axis] {
            case .dir(let d): n = d
            case .stateStack(let e, let d): n = e + d
            default: throw ctx.refuse("concatenates data along its \(ONNXLSTMNode.describe([f.axes[axis]])) axis; only the features of two directions or the final states of stacked layers can be joined")
            }
            guard k + 1 < flows.count else { break }
            let next = flows[k + 1]
            guard next.layers.count > f.layers.count,
                  zip(f.layers, next.layers).allSatisfy({ $0.nodeName == $1.nodeName }),
                  f.axes.indices.allSatisfy({ $0 == axis || f.axes[$0] == next.axes[$0] }) else {
                throw ctx.refuse("concatenates final states that are not those of successive layers of one stack, in order")
            }
            earlier += n
        }
        var out = flows[flows.count - 1]
        guard case .dir(let dirs) = out.axes[axis] else { throw ctx.refuse("the last final state it joins is already a stack") }
        out.axes[axis] = .stateStack(earlier: earlier, dirs: dirs)
        return out
    }

    /// `ReverseSequence` over every step of every sequence (Keras `go_backwards`): the next forward LSTM is a
    /// canonical backward layer (M2).
    static func reverseSequence(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .flow(var f)? = ctx.input(0) else { throw ctx.refuse("reverses a value that is not the data") }
        let batchAxis = Int(try ctx.int("batch_axis", default: 1)), timeAxis = Int(try ctx.int("time_axis", default: 0))
        guard f.axes.count == 3, (0..<3).contains(batchAxis), (0..<3).contains(timeAxis),
              f.axes[batchAxis] == .batch, f.axes[timeAxis] == .time else {
            throw ctx.refuse("its batch_axis/time_axis do not match the data's axes \(ONNXLSTMNode.describe(f.axes))")
        }
        guard case .filledDim(.steps, let shape)? = ctx.input(1), shape == [.batch] else {
            throw ctx.refuse("its sequence_lens are not all the full length; the canonical model reverses whole sequences only")
        }
        guard f.stage == .input || f.stage == .sequence(inputOrder: false), f.dense.isEmpty, f.dirPick == nil, !f.timeReversed, !f.manyToOne else {
            throw ctx.refuse("reverses data that is not the input of an LSTM layer")
        }
        f.timeReversed = true
        return .flow(f)
    }
}
