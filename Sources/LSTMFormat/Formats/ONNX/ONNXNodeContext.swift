/// One node being evaluated: its inputs' values and typed access to its attributes.
struct ONNXNodeContext {
    let node: Onnx_NodeProto
    /// The node's name, or `#<index> <op_type>` when it has none.
    let label: String
    /// One entry per declared input; nil for an absent optional input ("").
    let inputs: [ONNXValue?]
    /// The default-domain opset the model imports.
    let opset: Int64
    let decoder: ONNXTensorDecoder

    var opType: String { node.opType }

    func refuse(_ reason: String) -> ONNXError {
        .unsupportedNode(node: label, opType: node.opType, reason: reason)
    }

    func input(_ k: Int) -> ONNXValue? { k < inputs.count ? inputs[k] : nil }

    func required(_ k: Int, _ what: String) throws(ONNXError) -> ONNXValue {
        guard let v = input(k) else { throw refuse("input \(k) (\(what)) is missing") }
        return v
    }

    func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }

    func int(_ name: String, default value: Int64) throws(ONNXError) -> Int64 {
        guard let a = attribute(name) else { return value }
        guard a.type == .int || (a.type == .undefined && a.hasI) else { throw refuse("attribute \(name) is not an integer") }
        return a.i
    }

    func float(_ name: String, default value: Float) throws(ONNXError) -> Float {
        guard let a = attribute(name) else { return value }
        guard a.type == .float || (a.type == .undefined && a.hasF) else { throw refuse("attribute \(name) is not a float") }
        return a.f
    }

    func ints(_ name: String) -> [Int64]? { attribute(name).map(\.ints) }

    func floats(_ name: String) -> [Float]? { attribute(name).map(\.floats) }

    func string(_ name: String) -> String? {
        attribute(name).map { String(decoding: $0.s, as: UTF8.self) }
    }

    func strings(_ name: String) -> [String]? {
        attribute(name).map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// An integer list given as an input (opset ≥ 13 style) or, in older opsets, as an attribute.
    func intList(input k: Int, attribute name: String) throws(ONNXError) -> [Int64]? {
        if let v = input(k) {
            guard let ints = v.asInts else { throw refuse("input \(k) (\(name)) is not a constant integer list") }
            return ints
        }
        return ints(name)
    }
}

/// A negative axis counted from the end, checked against the rank.
func normalizeAxis(_ axis: Int64, rank: Int, _ ctx: ONNXNodeContext) throws(ONNXError) -> Int {
    let a = axis < 0 ? axis + Int64(rank) : axis
    guard a >= 0, a < Int64(rank) else { throw ctx.refuse("axis \(axis) is out of range for rank \(rank)") }
    return Int(a)
}
