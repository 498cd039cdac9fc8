import Foundation
@testable import LSTMFormat

/// ONNX `ModelProto` bytes: the protobuf decode and the graph mapping. A file that reads to a canonical model is
/// either refused by our writer as not expressible, or written to bytes that read back to the same model
/// (architecture, tensors, metadata), after which writing and reading is a fixed point, bytes included.
func fuzzONNX(_ data: Data) {
    guard let model = try? ONNXFormat.decode(data, folder: nil) else { return }
    let bytes: Data
    do { bytes = try ONNXFormat.encode(model) } catch {
        guard case .notExpressible = error else { fatalError("the writer failed on a model the reader gave: \(error)") }
        return
    }
    let again: LSTMModel
    do { again = try ONNXFormat.decode(bytes, folder: nil) } catch { fatalError("the ONNX file our writer made does not read: \(error)") }
    require(again.architecture == model.architecture, "round trip changed the architecture: \(model.architecture) -> \(again.architecture)")
    require(again.tensors == model.tensors, "round trip changed a tensor")
    // onnx.lstm.K names the file's LSTM node K: the node our writer made (lstm_K) after the round trip. The writer
    // names the graph input "x" when the source's is empty (and the output "y").
    var expected = model.metadata.filter { !$0.key.hasPrefix("onnx.lstm.") }
    for (key, fallback) in [("onnx.input", "x"), ("onnx.output", "y")] where expected[key] == "" { expected[key] = fallback }
    let found = again.metadata.filter { !$0.key.hasPrefix("onnx.lstm.") }
    require(found == expected, "round trip changed the metadata: \(expected) -> \(found)")
    // The model read back (whose onnx.lstm.K now name our nodes) is a fixed point: written and read again, it
    // is the same model, and written again, the same bytes.
    guard let bytes2 = try? ONNXFormat.encode(again), let third = try? ONNXFormat.decode(bytes2, folder: nil) else {
        fatalError("the model read back from our ONNX file cannot be written and read again")
    }
    require(third == again, "a second round trip changed the model")
    require((try? ONNXFormat.encode(third)) == bytes2, "writing the same model twice gives other bytes")
}
