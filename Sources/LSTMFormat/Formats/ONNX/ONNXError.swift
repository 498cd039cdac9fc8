/// Why an ONNX file cannot be read, or a model cannot be written as ONNX (`Spec/onnx-mapping.md`).
public enum ONNXError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The bytes are not a well-formed `ModelProto` (truncated, bad wire data, nesting too deep).
    case malformed(String)
    /// O-R2: the graph's inputs or outputs are not those of a sequence model.
    case graphInterface(String)
    /// O-R4–O-R11: a node the canonical model cannot express.
    case unsupportedNode(node: String, opType: String, reason: String)
    /// O-R12: an initializer or constant whose data cannot be decoded.
    case badTensor(name: String, reason: String)
    /// O-R12: external data that points outside the model's folder or past the end of its file.
    case externalData(name: String, reason: String)
    /// O-W4: the canonical model uses something an ONNX graph (as onnxruntime runs it) cannot express.
    case notExpressible(place: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a readable ONNX model: \(why)"
        case .graphInterface(let why): "unsupported ONNX graph: \(why)"
        case .unsupportedNode(let node, let op, let why): "node '\(node)' (\(op)): \(why)"
        case .badTensor(let name, let why): "tensor '\(name)': \(why)"
        case .externalData(let name, let why): "tensor '\(name)': external data \(why)"
        case .notExpressible(let place, let why): "cannot write an ONNX file: \(place) \(why)"
        }
    }
}
