/// The glue on a token-id input and the `Gather` that turns ids into embedding rows (O-R15).
///
/// Every value computed from the ids is kept as a function of one id (`ONNXTokens.value`): element-wise
/// integer and boolean operators with one-element constants compose it; `Gather(table, indices)` is the
/// canonical embedding when that function gives each valid id its own row. A result the reader cannot follow
/// exactly (beyond an integer type's range, or of a float type it does not model) becomes NaN, which never
/// equals an id, so such glue is refused rather than read as something else.
enum ONNXTokenOps {
    static func evaluate(_ ctx: ONNXNodeContext) throws(ONNXError) -> [ONNXValue] {
        switch ctx.opType {
        case "Identity": return [try ctx.required(0, "input")]
        case "Shape": return [try ONNXShapeOps.shape(ctx)]
        case "Gather": return [try gather(ctx)]
        case "Cast": return [try cast(ctx)]
        case "Transpose": return [try transpose(ctx)]
        case "Unsqueeze", "Squeeze": return [try reshapeUnits(ctx)]
        case "Neg": return [try unary(ctx) { -$0 }]
        case "Abs": return [try unary(ctx) { abs($0) }]
        case "Not": return [try unary(ctx) { $0.isNaN ? .nan : ($0 == 0 ? 1 : 0) }]
        case "Add": return [try binary(ctx) { $0 + $1 }]
        case "Sub": return [try binary(ctx) { $0 - $1 }]
        case "Mul": return [try binary(ctx) { $0 * $1 }]
        case "Less": return [try binary(ctx) { truth($0 < $1) }]
        case "LessOrEqual": return [try binary(ctx) { truth($0 <= $1) }]
        case "Greater": return [try binary(ctx) { truth($0 > $1) }]
        case "GreaterOrEqual": return [try binary(ctx) { truth($0 >= $1) }]
        case "Equal": return [try binary(ctx) { truth($0 == $1) }]
        case "And": return [try binary(ctx) { truth($0 != 0 && $1 != 0) }]
        case "Or": return [try binary(ctx) { truth($0 != 0 || $1 != 0) }]
        case "Where": return [try whereOp(ctx)]
        default:
            throw ctx.refuse("uses the token ids in a way the canonical model cannot express (only integer glue and an embedding Gather are read)")
        }
    }

    private static func truth(_ b: Bool) -> Double { b ? 1 : 0 }

    /// One operand: the ids' function, or a one-element constant broadcast to it.
    private enum Operand {
        case tokens(ONNXTokens)
        case constant(Double)
    }

    private static func operand(_ ctx: ONNXNodeContext, _ k: Int) throws(ONNXError) -> Operand {
        switch try ctx.required(k, "operand \(k)") {
        case .tokens(let t): return .tokens(t)
        case .numbers(.ints(_, let v)) where v.count == 1: return .constant(Double(v[0]))
        case .numbers(.floats(let t)) where t.elementCount == 1: return .constant(t.float64Values()[0])
        default: throw ctx.refuse("combines the token ids with a value other than a one-element constant")
        }
    }

    /// The axes of the result: those of the ids' operands, which must agree.
    private static func axes(_ ops: [Operand], _ ctx: ONNXNodeContext) throws(ONNXError) -> [ONNXAxis] {
        var out: [ONNXAxis]?
        for case .tokens(let t) in ops {
            if let a = out, a != t.axes { throw ctx.refuse("combines token-id values of axes \(ONNXLSTMNode.describe(a)) and \(ONNXLSTMNode.describe(t.axes))") }
            out = t.axes
        }
        guard let result = out else { throw ctx.refuse("has no token-id operand") }
        return result
    }

    private static func function(_ op: Operand) -> @Sendable (Int64) -> Double {
        switch op {
        case .tokens(let t): return t.value
        case .constant(let c): return { _ in c }
        }
    }

    /// Keeps a result exact: integers beyond 2^53 (where a double no longer holds every integer) become NaN.
    private static func exact(_ v: Double) -> Double { abs(v) < 9_007_199_254_740_992 ? v : .nan }

    private static func unary(_ ctx: ONNXNodeContext, _ f: @escaping @Sendable (Double) -> Double) throws(ONNXError) -> ONNXValue {
        let a = try operand(ctx, 0)
        let ax = try axes([a], ctx), fa = function(a)
        return .tokens(ONNXTokens(axes: ax, value: { exact(f(fa($0))) }))
    }

    private static func binary(_ ctx: ONNXNodeContext, _ f: @escaping @Sendable (Double, Double) -> Double) throws(ONNXError) -> ONNXValue {
        let a = try operand(ctx, 0), b = try operand(ctx, 1)
        let ax = try axes([a, b], ctx), fa = function(a), fb = function(b)
        return .tokens(ONNXTokens(axes: ax, value: { id in
            let x = fa(id), y = fb(id)
            return x.isNaN || y.isNaN ? .nan : exact(f(x, y))
        }))
    }

    private static func whereOp(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        let c = try operand(ctx, 0), a = try operand(ctx, 1), b = try operand(ctx, 2)
        let ax = try axes([c, a, b], ctx), fc = function(c), fa = function(a), fb = function(b)
        return .tokens(ONNXTokens(axes: ax, value: { id in
            let k = fc(id)
            return k.isNaN ? .nan : (k != 0 ? fa(id) : fb(id))
        }))
    }

    /// Casts to an integer type truncate toward zero (NaN beyond the type's range); to float32 round to it; to
    /// bool test for non-zero. Other target types are refused.
    private static func cast(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .tokens(let t) = try ctx.required(0, "input") else { throw ctx.refuse("casts a value the reader cannot fold") }
        let to = Int32(clamping: try ctx.int("to", default: 0))
        let f = t.value
        let g: @Sendable (Double) -> Double
        switch to {
        case ONNXDataType.int32: g = { v in let r = v.rounded(.towardZero); return abs(r) < 2_147_483_648 ? r : .nan }
        case ONNXDataType.int64: g = { v in exact(v.rounded(.towardZero)) }
        case ONNXDataType.float: g = { v in Double(Float(v)) }
        case ONNXDataType.double: g = { v in v }
        case ONNXDataType.bool: g = { v in v.isNaN ? .nan : (v != 0 ? 1 : 0) }
        default: throw ctx.refuse("casts the token ids to type \(to)")
        }
        return .tokens(ONNXTokens(axes: t.axes, value: { id in g(f(id)) }))
    }

    private static func transpose(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .tokens(var t) = try ctx.required(0, "data") else { throw ctx.refuse("transposes a value the reader cannot fold") }
        let rank = t.axes.count
        let perm = ctx.ints("perm").map { $0.map(Int.init) } ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw ctx.refuse("perm \(perm) is not a permutation of \(rank) axes") }
        t.axes = perm.map { t.axes[$0] }
        return .tokens(t)
    }

    /// `Unsqueeze` adds size-1 axes, `Squeeze` removes them.
    private static func reshapeUnits(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .tokens(var t) = try ctx.required(0, "data") else { throw ctx.refuse("reshapes a value the reader cannot fold") }
        let listed = try ctx.intList(input: 1, attribute: "axes")
        if ctx.opType == "Unsqueeze" {
            guard let axes = listed else { throw ctx.refuse("no axes") }
            let rank = t.axes.count + axes.count
            for a in try axes.map({ (a: Int64) throws(ONNXError) in try normalizeAxis(a, rank: rank, ctx) }).sorted() { t.axes.insert(.unit, at: a) }
        } else {
            let drop = try listed.map { (axes: [Int64]) throws(ONNXError) -> [Int] in
                try axes.map { (a: Int64) throws(ONNXError) -> Int in try normalizeAxis(a, rank: t.axes.count, ctx) }
            } ?? t.axes.indices.filter { t.axes[$0].isSizeOne }
            for a in drop.sorted(by: >) {
                guard t.axes[a].isSizeOne else { throw ctx.refuse("squeezes the \(t.axes[a].dim) axis of the token ids") }
                t.axes.remove(at: a)
            }
        }
        return .tokens(t)
    }

    /// `Gather(axis 0)` of a float table `[V, I]` at indices computed from the ids: the canonical embedding when
    /// every id 0 … V−1 selects its own row (ONNX counts a negative index from the end).
    static func gather(_ ctx: ONNXNodeContext) throws(ONNXError) -> ONNXValue {
        guard case .tokens(let t) = try ctx.required(1, "indices") else {
            throw ctx.refuse("gathers from the token ids; only a Gather of an embedding table at the ids is read")
        }
        guard case .numbers(.floats(let table)) = try ctx.required(0, "data"), table.shape.count == 2 else {
            throw ctx.refuse("gathers at the token ids from a value that is not a float [vocabulary, features] initializer")
        }
        guard try ctx.int("axis", default: 0) == 0 else { throw ctx.refuse("gathers along an axis other than 0; an embedding looks up rows") }
        let V = table.shape[0], I = table.shape[1]
        guard V > 0, I > 0 else { throw ctx.refuse("the embedding table has shape \(table.shape)") }
        func row(_ id: Int64) -> Int64? {
            let j = t.value(id)
            guard j.isFinite, j == j.rounded(), abs(j) <= Double(V) else { return nil }
            let k = Int64(j)
            return k < 0 ? k + Int64(V) : (k < Int64(V) ? k : nil)
        }
        for id in 0..<Int64(V) where row(id) != id {
            let got = row(id).map { "row \($0)" } ?? "no row"
            throw ctx.refuse("token id \(id) reads \(got) of the [\(V), \(I)] table; the canonical embedding reads row id for every id 0…\(V - 1)")
        }
        let embedding = ONNXEmbedding(E: table, nodeName: ctx.node.name.isEmpty ? ctx.label : ctx.node.name,
                                      readsNegativeIds: row(-1) != nil)
        return .flow(ONNXFlow(axes: t.axes + [.feature(I)], stage: .input, layers: [], dense: [], manyToOne: false,
                              embedding: embedding))
    }
}
