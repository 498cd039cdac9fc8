/// Evaluates a graph abstractly, node by node in file order (O-R3): every value is a number, a shape vector, a
/// filled tensor or the data flowing from the input. A node that cannot be evaluated poisons its outputs with the
/// reason; the reason surfaces only if the graph's output depends on it (O-R11).
struct ONNXGraphEvaluator {
    let decoder: ONNXTensorDecoder
    let opset: Int64
    private(set) var values: [String: ONNXValue] = [:]

    init(decoder: ONNXTensorDecoder, opset: Int64) {
        self.decoder = decoder
        self.opset = opset
    }

    /// Evaluates `graph` and returns the value of its first output.
    mutating func run(_ graph: Onnx_GraphProto) throws(ONNXError) -> (output: ONNXValue, inputName: String) {
        for t in graph.initializer {
            values[t.name] = decodeOrRefuse(t, name: t.name)
        }
        let inputs = graph.input.filter { values[$0.name] == nil }
        guard let x = inputs.first else { throw .graphInterface("the graph has no input besides initializers") }
        // Further inputs (initial states, sequence lengths) are refused where they are used, with the reason.
        for other in inputs.dropFirst() { values[other.name] = .graphInput(other.name) }
        if try Self.isTokenInput(x) {
            values[x.name] = .tokens(ONNXTokens(axes: [.batch, .time], value: { Double($0) }))
        } else {
            let featureCount = try Self.inputFeatures(x)
            values[x.name] = .flow(ONNXFlow(axes: [.batch, .time, featureCount.map { .feature($0) } ?? .feature(-1)],
                                            stage: .input, layers: [], dense: [], manyToOne: false))
        }
        for (k, node) in graph.node.enumerated() {
            let label = node.name.isEmpty ? "#\(k) \(node.opType)" : node.name
            let outputs = evaluate(node, label: label)
            for (name, value) in zip(node.output, outputs) where !name.isEmpty {
                values[name] = value
            }
        }
        guard let first = graph.output.first else { throw .graphInterface("the graph has no output") }
        guard let value = values[first.name] else { throw .graphInterface("the graph output '\(first.name)' is not computed by any node") }
        return (value, x.name)
    }

    private func decodeOrRefuse(_ t: Onnx_TensorProto, name: String) -> ONNXValue {
        do { return .numbers(try decoder.decode(t, name: name)) } catch { return .refused(error) }
    }

    /// O-R2, O-R15: an int32 or int64 input is token ids, and must then be `[batch, steps]`.
    private static func isTokenInput(_ x: Onnx_ValueInfoProto) throws(ONNXError) -> Bool {
        guard case .tensorType(let tt)? = x.type.value, tt.hasElemType,
              tt.elemType == ONNXDataType.int32 || tt.elemType == ONNXDataType.int64 else { return false }
        if tt.hasShape, tt.shape.dim.count != 2 {
            throw .graphInterface("the input '\(x.name)' holds integers of rank \(tt.shape.dim.count); token ids [batch, steps] are expected")
        }
        return true
    }

    /// O-R2: the input is `[batch, steps, features]`; returns the feature count when the file states it.
    private static func inputFeatures(_ x: Onnx_ValueInfoProto) throws(ONNXError) -> Int? {
        guard case .tensorType(let tt)? = x.type.value else { return nil }
        if tt.hasElemType, ONNXDataType.dtype(tt.elemType) == nil {
            throw .graphInterface("the input '\(x.name)' has element type \(tt.elemType); a float sequence is expected")
        }
        guard tt.hasShape else { return nil }
        let dims = tt.shape.dim
        guard dims.count == 3 else {
            throw .graphInterface("the input '\(x.name)' has rank \(dims.count); a [batch, steps, features] sequence is expected")
        }
        if case .dimValue(let v)? = dims[2].value { return v > 0 && v <= Int64(Int32.max) ? Int(v) : nil }
        return nil
    }

    private func evaluate(_ node: Onnx_NodeProto, label: String) -> [ONNXValue] {
        let count = max(node.output.count, 1)
        func all(_ v: ONNXValue) -> [ONNXValue] { Array(repeating: v, count: count) }
        if ["Loop", "Scan", "If"].contains(node.opType) {
            return all(.refused(.unsupportedNode(node: label, opType: node.opType,
                                                 reason: "the exporter unrolled the LSTM into a Loop (control flow) instead of writing an LSTM node, and only LSTM nodes are read (O-R16). tf2onnx does this for a Keras 3 LSTM with recurrent_activation='hard_sigmoid' (tf2onnx.convert.from_keras on the same model built with tf_keras writes an LSTM node) and for a masked LSTM (Embedding mask_zero, Masking), which no ONNX LSTM node expresses: convert the Keras file itself")))
        }
        var inputs: [ONNXValue?] = []
        var hasTokens = false
        for name in node.input {
            if name.isEmpty { inputs.append(nil); continue }
            guard let v = values[name] else {
                return all(.refused(.unsupportedNode(node: label, opType: node.opType,
                                                     reason: "its input '\(name)' is not produced before it (the graph is not topologically sorted, or the name is unknown)")))
            }
            if case .refused = v { return all(v) }
            if case .tokens = v { hasTokens = true }
            if case .graphInput(let g) = v, node.opType != "LSTM" {
                return all(.refused(.graphInterface("node '\(label)' (\(node.opType)) uses the graph input '\(g)'; only the sequence input is supported")))
            }
            inputs.append(v)
        }
        let ctx = ONNXNodeContext(node: node, label: label, inputs: inputs, opset: opset, decoder: decoder)
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            return all(.refused(ctx.refuse("operators of domain '\(node.domain)' are not supported")))
        }
        do {
            var out = try hasTokens ? ONNXTokenOps.evaluate(ctx) : dispatch(ctx)
            while out.count < count { out.append(.refused(ctx.refuse("output \(out.count) is not part of a supported model"))) }
            return out
        } catch {
            return all(.refused(error))
        }
    }

    private func dispatch(_ ctx: ONNXNodeContext) throws(ONNXError) -> [ONNXValue] {
        switch ctx.opType {
        case "LSTM": return try ONNXLSTMNode.evaluate(ctx)
        case "Identity": return [try ctx.required(0, "input")]
        case "Dropout": return [try ctx.required(0, "data")]
        case "Constant": return [try ONNXShapeOps.constant(ctx)]
        case "Shape": return [try ONNXShapeOps.shape(ctx)]
        case "Gather": return [try ONNXShapeOps.gather(ctx)]
        case "Unsqueeze": return [try ONNXShapeOps.unsqueeze(ctx)]
        case "Squeeze": return [try ONNXShapeOps.squeeze(ctx)]
        case "Concat": return [try ONNXShapeOps.concat(ctx)]
        case "ConstantOfShape": return [try ONNXShapeOps.constantOfShape(ctx)]
        case "Expand": return [try ONNXShapeOps.expand(ctx)]
        case "Cast": return [try ONNXShapeOps.cast(ctx)]
        case "Slice": return [try ONNXShapeOps.slice(ctx)]
        case "Transpose": return [try ONNXFlowOps.transpose(ctx)]
        case "Reshape": return [try ONNXFlowOps.reshape(ctx)]
        case "MatMul": return [try ONNXHeadOps.matMul(ctx)]
        case "Gemm": return [try ONNXHeadOps.gemm(ctx)]
        case "Add": return [try ONNXHeadOps.add(ctx)]
        case "Mul": return [try ONNXHeadOps.mul(ctx)]
        case "Sub", "Div": return [try ONNXShapeOps.arithmetic(ctx)]
        case "ReduceProd": return [try ONNXShapeOps.reduceProd(ctx)]
        case "ReverseSequence": return [try ONNXFlowOps.reverseSequence(ctx)]
        case "Sigmoid", "Tanh", "Relu", "Softmax", "HardSigmoid": return [try ONNXHeadOps.activation(ctx)]
        default:
            throw ctx.refuse("this operator is not part of an LSTM chain the canonical model can express")
        }
    }
}
