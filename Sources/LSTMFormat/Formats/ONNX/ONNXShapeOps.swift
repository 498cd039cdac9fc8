import Foundation

/// Constant folding of the glue exporters build around LSTM nodes (O-R3, O-R6, O-R7): shape vectors with
/// symbolic batch and steps, zero-filled initial states, and the shape-like ops applied to the flowing data.
enum ONNXShapeOps {
    static func constant(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard let a = ctx.node.attribute.first else { throw ctx.refuse("a Constant without a value") }
        switch a.name {
        case "value": return .numbers(try ctx.decoder.decode(a.t, name: ctx.label))
        case "value_float": return .numbers(.floats(Tensor(shape: [], float32: [a.f])))
        case "value_floats": return .numbers(.floats(Tensor(shape: [a.floats.count], float32: a.floats)))
        case "value_int": return .numbers(.ints(shape: [], values: [a.i]))
        case "value_ints": return .numbers(.ints(shape: [a.ints.count], values: a.ints))
        default: throw ctx.refuse("a Constant given as \(a.name) is not supported")
        }
    }

    /// The sizes of any value, symbolic where they depend on the input.
    static func dimsOf(_ v: ONNXValue, _ ctx: ONNXNodeContext) throws(ONNXError) -> [ONNXDim] {
        switch v {
        case .flow(let f):
            if f.axes.contains(.feature(-1)) { throw ctx.refuse("takes the shape of the input, whose feature count the file does not state") }
            return f.dims
        case .tokens(let t): return t.axes.map(\.dim)
        case .filled(_, let d, _): return d
        case .filledDim(_, let d): return d
        case .numbers(.floats(let t)): return t.shape.map { .known($0) }
        case .numbers(.ints(let shape, _)): return shape.map { .known($0) }
        case .dims(let d, let scalar): return scalar ? [] : [.known(d.count)]
        default: throw ctx.refuse("cannot take the shape of this input")
        }
    }

    static func shape(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let d = try dimsOf(try ctx.required(0, "data"), ctx)
        let start = try ctx.int("start", default: 0), end = try ctx.int("end", default: Int64(d.count))
        let r = sliceRange(start: start, end: end, step: 1, length: d.count)
        return .dims(r.map { d[$0] }, scalar: false)
    }

    static func gather(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data"), indices = try ctx.required(1, "indices")
        guard let idx = indices.asInts else { throw ctx.refuse("the indices are not constant") }
        let axis = try ctx.int("axis", default: 0)
        if case .flow(let f) = data {
            guard idx.count == 1 else { throw ctx.refuse("gathers \(idx.count) indices from the data; only one step or direction is supported") }
            return .flow(try ONNXFlowOps.select(f, axis: try normalizeAxis(axis, rank: f.axes.count, ctx), index: idx[0],
                                                keepAxis: !indices.isScalar, ctx))
        }
        if let d = data.asDims, !(data.isScalar) {
            let picked = try idx.map { (i: Int64) throws(ONNXError) -> ONNXDim in
                let j = i < 0 ? i + Int64(d.count) : i
                guard j >= 0, j < Int64(d.count) else { throw ctx.refuse("index \(i) is out of range for \(d.count) entries") }
                return d[Int(j)]
            }
            return .dims(picked, scalar: indices.isScalar)
        }
        if case .filled(let x, let d, let t) = data {
            let a = try normalizeAxis(axis, rank: d.count, ctx)
            var out = d
            if indices.isScalar { out.remove(at: a) } else { out[a] = .known(idx.count) }
            return .filled(x, out, t)
        }
        throw ctx.refuse("gathers from a value the reader cannot fold")
    }

    static func unsqueeze(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data")
        guard let axes = try ctx.intList(input: 1, attribute: "axes") else { throw ctx.refuse("no axes") }
        switch data {
        case .flow(var f):
            let rank = f.axes.count + axes.count
            for a in try axes.map({ (a: Int64) throws(ONNXError) in try normalizeAxis(a, rank: rank, ctx) }).sorted() { f.axes.insert(.unit, at: a) }
            return .flow(f)
        case .filled(let x, var d, let t):
            let rank = d.count + axes.count
            for a in try axes.map({ (a: Int64) throws(ONNXError) in try normalizeAxis(a, rank: rank, ctx) }).sorted() { d.insert(.known(1), at: a) }
            return .filled(x, d, t)
        default:
            guard let d = data.asDims, data.isScalar, axes == [0] || axes == [-1] else { throw ctx.refuse("unsqueezes a value the reader cannot fold") }
            return .dims(d, scalar: false)
        }
    }

    static func squeeze(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data")
        let axes = try ctx.intList(input: 1, attribute: "axes")
        switch data {
        case .flow(var f):
            let drop = try squeezed(f.dims, axes: axes, ctx)
            for a in drop.sorted(by: >) { f.axes.remove(at: a) }
            return .flow(f)
        case .filled(let x, var d, let t):
            for a in try squeezed(d, axes: axes, ctx).sorted(by: >) { d.remove(at: a) }
            return .filled(x, d, t)
        default:
            guard let d = data.asDims, !data.isScalar, d.count == 1 else { throw ctx.refuse("squeezes a value the reader cannot fold") }
            return .dims(d, scalar: true)
        }
    }

    private static func squeezed(_ d: [ONNXDim], axes: [Int64]?, _ ctx: ONNXNodeContext) throws(ONNXError) -> [Int] {
        guard let axes else { return d.indices.filter { d[$0] == .known(1) } }
        return try axes.map { (a: Int64) throws(ONNXError) -> Int in
            let k = try normalizeAxis(a, rank: d.count, ctx)
            guard d[k] == .known(1) else { throw ctx.refuse("squeezes axis \(a) of size \(d[k]); only size-1 axes can be squeezed") }
            return k
        }
    }

    static func concat(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let present = ctx.inputs.compactMap { $0 }
        let flows = present.compactMap { (v: ONNXValue) -> ONNXFlow? in if case .flow(let f) = v { f } else { nil } }
        if flows.count == present.count, flows.count >= 2 {
            let axis = try normalizeAxis(try ctx.int("axis", default: 0), rank: flows[0].axes.count, ctx)
            if axis != flows[0].axes.count - 1 { return .flow(try ONNXFlowOps.stackStates(flows, axis: axis, ctx)) }
        }
        if present.count == 2, case .flow(let a) = present[0], case .flow(let b) = present[1] {
            let axis = try normalizeAxis(try ctx.int("axis", default: 0), rank: a.axes.count, ctx)
            guard axis == a.axes.count - 1 else { throw ctx.refuse("concatenates data along axis \(axis); only the features of two directions can be joined") }
            return .flow(try ONNXFlowOps.mergeDirections(a, b, mode: .concat, ctx))
        }
        if let first = present.first, case .filled(let x, let d0, let t) = first {
            let axis = try normalizeAxis(try ctx.int("axis", default: 0), rank: d0.count, ctx)
            var total = 0
            for v in present {
                guard case .filled(let y, let d, _) = v, y == x, d.count == d0.count,
                      d.indices.allSatisfy({ $0 == axis || d[$0] == d0[$0] }), case .known(let n) = d[axis] else {
                    throw ctx.refuse("concatenates constants the reader cannot fold")
                }
                total += n
            }
            var out = d0
            out[axis] = .known(total)
            return .filled(x, out, t)
        }
        var out: [ONNXDim] = []
        for case let v? in ctx.inputs {
            guard let d = v.asDims, !v.isScalar else {
                if case .flow = v { throw ctx.refuse("concatenates data; only the two directions of one bidirectional output are merged by Reshape") }
                throw ctx.refuse("concatenates values the reader cannot fold")
            }
            out += d
        }
        return .dims(out, scalar: false)
    }

    static func constantOfShape(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard let d = try ctx.required(0, "shape").asDims else { throw ctx.refuse("the shape is not a shape vector") }
        var value = 0.0, dtype = DType.float32
        if let a = ctx.attribute("value") {
            switch try ctx.decoder.decode(a.t, name: ctx.label) {
            case .floats(let t):
                guard t.elementCount == 1 else { throw ctx.refuse("the fill value is not one number") }
                value = t.float64Values()[0]; dtype = t.dtype
            case .ints(_, let v):
                guard v.count == 1 else { throw ctx.refuse("the fill value is not one number") }
                value = Double(v[0])
            }
        }
        return .filled(value, d, dtype)
    }

    static func expand(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "input")
        guard let target = try ctx.required(1, "shape").asDims else { throw ctx.refuse("the shape is not a shape vector") }
        let (value, shape, dtype): (Double, [ONNXDim], DType)
        switch data {
        case .filled(let x, let d, let t): (value, shape, dtype) = (x, d, t)
        case .numbers(.floats(let t)):
            let v = t.float64Values()
            guard let first = v.first, v.allSatisfy({ $0 == first }) else { throw ctx.refuse("expands a tensor whose values differ") }
            (value, shape, dtype) = (first, t.shape.map { .known($0) }, t.dtype)
        default:
            guard let d = data.asDims, d.count == 1 else { throw ctx.refuse("expands a value the reader cannot fold") }
            return .filledDim(d[0], target)
        }
        var out = target
        let offset = target.count - shape.count
        guard offset >= 0 else { throw ctx.refuse("expands to a lower rank") }
        for (k, d) in shape.enumerated() where d != .known(1) {
            if out[offset + k] == .known(1) { out[offset + k] = d } else if out[offset + k] != d {
                throw ctx.refuse("cannot broadcast \(shape) to \(target)")
            }
        }
        return .filled(value, out, dtype)
    }

    static func cast(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "input")
        let to = Int32(clamping: try ctx.int("to", default: 0))
        switch data {
        case .dims, .numbers(.ints):
            guard to == ONNXDataType.int64 || to == ONNXDataType.int32 else { throw ctx.refuse("casts integers to type \(to)") }
            return data
        case .filled(let x, let d, _):
            guard let t = ONNXDataType.dtype(to) else { throw ctx.refuse("casts to type \(to)") }
            return .filled(x, d, t)
        case .numbers(.floats(let t)):
            guard let dt = ONNXDataType.dtype(to) else { throw ctx.refuse("casts to type \(to)") }
            return .numbers(.floats(t.converted(to: dt)))
        default:
            throw ctx.refuse("casts the sequence data; its dtype must stay the weights' dtype")
        }
    }

    static func slice(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let data = try ctx.required(0, "data")
        guard let starts = try ctx.intList(input: 1, attribute: "starts"), let ends = try ctx.intList(input: 2, attribute: "ends"),
              starts.count == ends.count else { throw ctx.refuse("starts and ends are not constant lists of one length") }
        let axes = try ctx.intList(input: 3, attribute: "axes") ?? starts.indices.map(Int64.init)
        let steps = try ctx.intList(input: 4, attribute: "steps") ?? Array(repeating: 1, count: starts.count)
        guard axes.count == starts.count, steps.count == starts.count, !steps.contains(0) else { throw ctx.refuse("axes or steps do not fit the starts") }
        switch data {
        case .flow(var f):
            for k in starts.indices {
                f = try ONNXFlowOps.slice(f, axis: try normalizeAxis(axes[k], rank: f.axes.count, ctx), start: starts[k], end: ends[k], step: steps[k], ctx)
            }
            return .flow(f)
        case .filled(let x, var d, let t):
            for k in starts.indices {
                let a = try normalizeAxis(axes[k], rank: d.count, ctx)
                guard case .known(let n) = d[a] else {
                    if starts[k] == 0, ends[k] >= Int64(Int32.max), steps[k] == 1 { continue }
                    throw ctx.refuse("slices the symbolic \(d[a]) axis of a constant")
                }
                d[a] = .known(sliceBounds(start: starts[k], end: ends[k], step: steps[k], length: n).count)
            }
            return .filled(x, d, t)
        default:
            guard let d = data.asDims, !data.isScalar, starts.count == 1 else { throw ctx.refuse("slices a value the reader cannot fold") }
            return .dims(sliceRange(start: starts[0], end: ends[0], step: steps[0], length: d.count).map { d[$0] }, scalar: false)
        }
    }

    /// `ReduceProd` of a shape vector (Keras's `Tensordot` flattening batch and steps).
    static func reduceProd(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard let d = try ctx.required(0, "data").asDims else { throw ctx.refuse("multiplies values the reader cannot fold") }
        let keep = try ctx.int("keepdims", default: 1) != 0
        var known = 1, symbols: [ONNXDim] = []
        for x in d {
            if case .known(let n) = x {
                let (p, o) = known.multipliedReportingOverflow(by: n)
                guard !o else { throw ctx.refuse("integer overflow") }
                known = p
            } else { symbols.append(x) }
        }
        let result: ONNXDim
        switch symbols {
        case []: result = .known(known)
        case [.batch] where known == 1, [.steps] where known == 1, [.batchSteps] where known == 1: result = symbols[0]
        case [.batch, .steps] where known == 1: result = .batchSteps
        default: throw ctx.refuse("multiplies sizes \(d) the reader cannot fold")
        }
        return .dims([result], scalar: !keep)
    }

    /// `Mul`, `Sub`, `Div` (and `Add`, through `ONNXHeadOps.add`) of known integers.
    static func arithmetic(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard let a = ctx.input(0)?.asInts, let b = ctx.input(1)?.asInts, !a.isEmpty, !b.isEmpty,
              a.count == b.count || a.count == 1 || b.count == 1 else {
            throw ctx.refuse("arithmetic on values other than known integers is not part of a supported model")
        }
        let n = max(a.count, b.count)
        var out: [Int64] = []
        for k in 0..<n {
            let x = a[a.count == 1 ? 0 : k], y = b[b.count == 1 ? 0 : k]
            let r: (Int64, Bool)
            switch ctx.opType {
            case "Add": r = x.addingReportingOverflow(y)
            case "Sub": r = x.subtractingReportingOverflow(y)
            case "Mul": r = x.multipliedReportingOverflow(by: y)
            default:
                guard y != 0 else { throw ctx.refuse("divides by zero") }
                r = x.dividedReportingOverflow(by: y)
            }
            guard !r.1 else { throw ctx.refuse("integer overflow") }
            out.append(r.0)
        }
        let scalar = (ctx.input(0)?.isScalar ?? false) && (ctx.input(1)?.isScalar ?? false)
        return .numbers(.ints(shape: scalar ? [] : [n], values: out))
    }
}

/// The indices an ONNX `Slice` selects on an axis of known length (negative starts/ends count from the end,
/// out-of-range values are clamped as the ONNX operator does). For short axes (shape vectors) only.
func sliceRange(start: Int64, end: Int64, step: Int64, length: Int) -> [Int] {
    let (s, count) = sliceBounds(start: start, end: end, step: step, length: length)
    return (0..<count).map { Int(s + Int64($0) * step) }
}

/// The first index and the number of indices a `Slice` selects, computed without iterating.
func sliceBounds(start: Int64, end: Int64, step: Int64, length: Int) -> (first: Int64, count: Int) {
    let n = Int64(length)
    func clamp(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(v, lo), hi) }
    var s = start < 0 ? start &+ n : start, e = end < 0 ? end &+ n : end
    if step > 0 {
        s = clamp(s, 0, n); e = clamp(e, 0, n)
        return (s, e > s ? Int((e - s - 1) / step + 1) : 0)
    }
    s = clamp(s, -1, n - 1); e = clamp(e, -1, n - 1)
    let back = step == Int64.min ? Int64.max : -step
    return (s, s > e ? Int((s - e - 1) / back + 1) : 0)
}
