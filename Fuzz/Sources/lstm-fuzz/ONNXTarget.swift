import Foundation
@testable import LSTMFormat

/// ONNX `ModelProto` bytes: the protobuf decode and the graph mapping. A file that reads to a canonical model is
/// either refused by our writer as not expressible, or written to bytes that read back to the same model
/// (architecture, tensors, metadata) and that the writer reproduces exactly from the model read back.
func fuzzONNX(_ data: Data) {
    guard let model = try? ONNXFormat.decode(data, folder: nil) else { return }
    let bytes: Data
    do { bytes = try ONNXFormat.encode(model) } catch {
        guard case .notExpressible = error else { preconditionFailure("the writer failed on a model the reader gave: \(error)") }
        return
    }
    let again: LSTMModel
    do { again = try ONNXFormat.decode(bytes, folder: nil) } catch { preconditionFailure("the ONNX file our writer made does not read: \(error)") }
    precondition(again.architecture == model.architecture, "round trip changed the architecture: \(model.architecture) -> \(again.architecture)")
    precondition(again.tensors == model.tensors, "round trip changed a tensor")
    // onnx.lstm.K names the file's LSTM node K: the node our writer made (lstm_K) after the round trip. The writer
    // names the graph input "x" when the source's is empty (and the output "y").
    var expected = model.metadata.filter { !$0.key.hasPrefix("onnx.lstm.") }
    for (key, fallback) in [("onnx.input", "x"), ("onnx.output", "y")] where expected[key] == "" { expected[key] = fallback }
    let found = again.metadata.filter { !$0.key.hasPrefix("onnx.lstm.") }
    precondition(found == expected, "round trip changed the metadata: \(expected) -> \(found)")
    precondition((try? ONNXFormat.encode(again)) == bytes, "writing the model read back gives other bytes")
}
