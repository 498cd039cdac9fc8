import Foundation
import SwiftProtobuf

/// Reads an ONNX `ModelProto` into the canonical model (`Spec/onnx-mapping.md`, O-R1 – O-R13).
enum ONNXReader {
    /// Parses `data` (the whole file) and maps its graph. `folder` is where external data may live.
    static func read(_ data: Data, folder: URL?, warn: (String) -> Void = { _ in }) throws(ONNXError) -> LSTMModel {
        let proto: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            proto = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw .malformed("the protobuf cannot be parsed (\(error))")
        }
        guard proto.hasGraph else { throw .malformed("the model has no graph") }
        let opset = proto.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 0
        guard opset >= 7 else { throw .graphInterface("default-domain opset \(opset) is older than 7, the first with today's LSTM") }
        var evaluator = ONNXGraphEvaluator(decoder: ONNXTensorDecoder(folder: folder), opset: opset)
        let (output, inputName) = try evaluator.run(proto.graph)
        let outputName = proto.graph.output[0].name
        if proto.graph.output.count > 1 {
            warn("only the first graph output '\(outputName)' is the model's output; \(proto.graph.output.dropFirst().map { "'\($0.name)'" }.joined(separator: ", ")) not carried over")
        }
        let flow: ONNXFlow
        switch output {
        case .flow(let f): flow = f
        case .refused(let e): throw e
        case .tokens: throw .graphInterface("the output '\(outputName)' is computed from the token ids without an embedding and an LSTM node")
        default: throw .graphInterface("the output '\(outputName)' does not depend on the input")
        }
        // O-R13: metadata_props come through as they are (files we wrote carry the source model's map, M16);
        // other producers are recorded as the source.
        var metadata: [String: String] = [:]
        for entry in proto.metadataProps { metadata[entry.key] = entry.value }
        if proto.producerName != ONNXWriter.producer {
            metadata["source.format"] = "onnx"
            if !proto.producerName.isEmpty { metadata["source.tool"] = proto.producerName }
            if !proto.producerVersion.isEmpty { metadata["source.tool_version"] = proto.producerVersion }
        }
        metadata["onnx.input"] = inputName
        metadata["onnx.output"] = outputName
        if let e = flow.embedding {
            metadata["onnx.embedding"] = e.nodeName
            let declared = proto.graph.input.first { $0.name == inputName }?.type.tensorType.elemType
            metadata["onnx.input_type"] = declared == ONNXDataType.int32 ? "int32" : "int64"
            if e.readsNegativeIds {
                warn("node '\(e.nodeName)' reads a row for negative token ids (ONNX Gather counts them from the end of the table); the model read here refuses ids outside 0…\(e.E.shape[0] - 1)")
            }
        }
        return try model(from: flow, outputName: outputName, metadata: metadata)
    }

    /// O-R10: the output must be `[batch, steps, out]` or `[batch, out]` after at least one LSTM layer.
    static func model(from f: ONNXFlow, outputName: String, metadata: [String: String]) throws(ONNXError) -> LSTMModel {
        guard !f.layers.isEmpty else { throw .graphInterface("the output '\(outputName)' is not computed by an LSTM node") }
        switch f.stage {
        case .input: throw .graphInterface("the output '\(outputName)' is not computed by an LSTM node")
        case .sequence(inputOrder: true):
            throw .graphInterface("the output '\(outputName)' is a reverse LSTM's output in input order, which is not what a canonical backward layer emits; only its final state or its time-reversed output is")
        default: break
        }
        guard f.dirPick == nil else { throw .graphInterface("the output '\(outputName)' is one direction of a bidirectional LSTM output") }
        let expected: [ONNXAxis]
        let width: Int
        guard case .feature(let n)? = f.axes.last else {
            throw .graphInterface("the output '\(outputName)' has axes \(ONNXLSTMNode.describe(f.axes)); [batch, steps, features] or [batch, features] is expected")
        }
        width = n
        expected = f.manyToOne ? [.batch, .feature(width)] : [.batch, .time, .feature(width)]
        guard f.axes == expected else {
            throw .graphInterface("the output '\(outputName)' has axes \(ONNXLSTMNode.describe(f.axes)); \(ONNXLSTMNode.describe(expected)) is expected")
        }
        var tensors: [String: Tensor] = [:]
        var layers: [LSTMLayerSpec] = []
        var meta = metadata
        for (k, layer) in f.layers.enumerated() {
            if layer.spec.direction == .bidirectional, layer.spec.mergeMode == nil {
                throw .graphInterface("the two directions of LSTM node '\(layer.nodeName)' are never merged")
            }
            layers.append(layer.spec)
            for (rel, t) in layer.tensors { tensors["lstm.\(k).\(rel)"] = t }
            meta["onnx.lstm.\(k)"] = layer.nodeName
        }
        var dense: [DenseLayerSpec] = []
        for (j, d) in f.dense.enumerated() {
            dense.append(DenseLayerSpec(inputSize: d.V.shape[1], outputSize: d.V.shape[0], activation: d.activation))
            tensors[TensorName.denseV(j)] = d.V
            tensors[TensorName.denseC(j)] = d.c ?? Tensor.zeros(shape: [d.V.shape[0]], dtype: d.V.dtype)
        }
        var embedding: EmbeddingSpec?
        if let e = f.embedding {
            embedding = EmbeddingSpec(vocabularySize: e.E.shape[0], maskZero: false)
            tensors[TensorName.embedding] = e.E
        }
        let architecture = ModelArchitecture(layers: layers, returnSequences: !f.manyToOne, dense: dense, embedding: embedding)
        do {
            return try LSTMModel(architecture: architecture, tensors: tensors, metadata: meta)
        } catch {
            throw .graphInterface("the graph does not form a valid canonical model: \(error)")
        }
    }
}
