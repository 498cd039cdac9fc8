import Foundation
import SwiftProtobuf

/// Writes the canonical model as an ONNX graph onnxruntime runs (`Spec/onnx-mapping.md`, O-W1 – O-W8): the
/// embedding as a guarded `Gather`, one `LSTM` node per layer (layout 0, `Transpose`s around the stack), the head
/// as `MatMul` + `Add` + activation.
enum ONNXWriter {
    static let opset: Int64 = 17
    static let irVersion: Int64 = 8
    static let producer = "lstm-format"

    static func encode(_ model: LSTMModel) throws(ONNXError) -> Data {
        var g = ONNXGraphBuilder(model: model)
        try g.build()
        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        proto.producerName = producer
        var op = Onnx_OperatorSetIdProto()
        op.domain = ""
        op.version = opset
        proto.opsetImport = [op]
        proto.graph = g.graph
        proto.metadataProps = model.metadata.sorted { $0.key < $1.key }.map { k, v in
            var e = Onnx_StringStringEntryProto()
            e.key = k
            e.value = v
            return e
        }
        do { return try proto.serializedBytes() } catch {
            throw .notExpressible(place: "the model", reason: "cannot be serialized: \(error)")
        }
    }
}

/// Builds the graph node by node; names are unique per builder.
struct ONNXGraphBuilder {
    let model: LSTMModel
    private(set) var graph = Onnx_GraphProto()
    private var dtype = DType.float32

    init(model: LSTMModel) { self.model = model }

    mutating func build() throws(ONNXError) {
        let arch = model.architecture
        let dtypes = model.dtypes
        guard dtypes.count == 1, let dt = dtypes.first else {
            throw .notExpressible(place: "the model", reason: "mixes dtypes \(dtypes.map(\.rawValue)); an ONNX LSTM node and its input share one element type")
        }
        guard dt != .bfloat16 else { throw .notExpressible(place: "the model", reason: "is bfloat16, which the ONNX LSTM operator does not accept") }
        dtype = dt
        if let k = arch.layers.firstIndex(where: { $0.projectionSize != nil }) {
            throw .notExpressible(place: "lstm.\(k)", reason: "has a projection (proj_size), which the ONNX LSTM operator does not have")
        }
        if arch.isMasked {
            // O-W8: canonical masking carries the state over a masked step anywhere; sequence_lens only ends a
            // sequence early, which equals it only for trailing padding, unknowable to a graph at run time.
            let what = arch.embedding?.maskZero == true ? "masks the steps of token id 0 (mask_zero)" : "masks the steps equal to its mask value"
            throw .notExpressible(place: "the model", reason: "\(what), carrying every LSTM's state over a masked step wherever it is; an ONNX LSTM node's only per-sequence control, sequence_lens, ends a sequence early, which computes the same only for trailing padding (convert a model without the mask, or keep the masked model in Keras, PyTorch or .lstm)")
        }
        for (k, layer) in arch.layers.enumerated() where layer.direction == .bidirectional && layer.mergeMode != .concat {
            throw .notExpressible(place: "lstm.\(k)", reason: "merges its directions by \(layer.mergeMode?.rawValue ?? "nil"); only concat is written (as Transpose + Reshape)")
        }
        let names = ioNames()
        graph.name = "lstm_format"
        let sequence: String
        if let e = arch.embedding {
            // O-W7: int64 ids; a negative id becomes the out-of-range index V, so onnxruntime refuses every id
            // outside 0…V−1 as the canonical model does (Gather alone would read row id + V).
            // The ids' type: int32 for a model that came from Keras (its Embedding input) or from int32 ids in ONNX.
            let type = model.metadata["onnx.input_type"] ?? (model.metadata["source.format"]?.hasPrefix("keras") == true ? "int32" : "int64")
            let idType = type == "int32" ? ONNXDataType.int32 : ONNXDataType.int64
            graph.input = [valueInfo(names.input, dims: [.param("batch"), .param("steps")], elemType: idType)]
            let negative = node("Less", [names.input, constInts("embedding_zero", [0], scalar: true, type: idType)])
            let index = node("Where", [negative, constInts("embedding_vocabulary", [Int64(e.vocabularySize)], scalar: true, type: idType), names.input])
            sequence = node("Gather", [initializer("embedding_E", model.tensors[TensorName.embedding]!), index], attrs: [int("axis", 0)])
        } else {
            graph.input = [valueInfo(names.input, dims: [.param("batch"), .param("steps"), .value(arch.inputSize)])]
            sequence = names.input
        }
        var cur = node("Transpose", [sequence], attrs: [ints("perm", [1, 0, 2])])
        for (k, layer) in arch.layers.enumerated() {
            let last = k == arch.layers.count - 1
            cur = lstm(k, layer, input: cur, finalState: last && !arch.returnSequences)
        }
        if arch.returnSequences { cur = node("Transpose", [cur], attrs: [ints("perm", [1, 0, 2])]) }
        for (j, d) in arch.dense.enumerated() {
            let v = model.tensors[TensorName.denseV(j)]!
            cur = node("MatMul", [cur, initializer("dense_\(j)_kernel", v.transposed2D())])
            cur = node("Add", [cur, initializer("dense_\(j)_bias", model.tensors[TensorName.denseC(j)]!)])
            if let (op, alpha) = ONNXActivations.onnx(d.activation) {
                var attrs: [Onnx_AttributeProto] = []
                if let alpha { attrs = [float("alpha", alpha), float("beta", ONNXActivations.hardSigmoidBeta)] }
                if op == "Softmax" { attrs = [int("axis", -1)] }
                cur = node(op, [cur], attrs: attrs)
            }
        }
        // The last node's output takes the output name.
        let n = graph.node.count - 1
        graph.node[n].output[0] = names.output
        let outDims: [Dim] = arch.returnSequences ? [.param("batch"), .param("steps"), .value(arch.outputSize)] : [.param("batch"), .value(arch.outputSize)]
        graph.output = [valueInfo(names.output, dims: outDims)]
    }

    private func ioNames() -> (input: String, output: String) {
        let i = model.metadata["onnx.input"].flatMap { $0.isEmpty ? nil : $0 } ?? "x"
        var o = model.metadata["onnx.output"].flatMap { $0.isEmpty ? nil : $0 } ?? "y"
        if o == i { o = i + "_output" }
        return (i, o)
    }

    /// One canonical layer as one LSTM node; returns the name of its time-major `[T, B, features]` output (or
    /// the `[B, features]` final state when `finalState`).
    private mutating func lstm(_ k: Int, _ layer: LSTMLayerSpec, input: String, finalState: Bool) -> String {
        let cells = layer.cells, H = layer.hiddenSize
        // The gate layout layer (Spec/layout.md, GateLayout.onnx): blocks i, o, f, c; B = b ‖ 0 (Rb = 0).
        let packed = cells.map { GateLayout.onnx.pack(CanonicalCell(model, layer: k, cell: $0)) }
        let d = cells.count
        let W = initializer("lstm_\(k)_W", GateLayout.stackDirections(packed.map(\.input)))
        let R = initializer("lstm_\(k)_R", GateLayout.stackDirections(packed.map(\.recurrent)))
        let B = initializer("lstm_\(k)_B", GateLayout.stackDirections(packed.map { $0.biases[0] }))
        let direction = switch layer.direction { case .forward: "forward"; case .backward: "reverse"; case .bidirectional: "bidirectional" }
        var attrs = [int("hidden_size", Int64(H)), string("direction", direction)]
        if layer.gateActivation != .sigmoid || layer.cellActivation != .tanh {
            let entries = Array(repeating: [layer.gateActivation, layer.cellActivation, layer.cellActivation], count: d).flatMap { $0 }
                .map(ONNXActivations.lstmEntry)
            attrs.append(strings("activations", entries.map(\.name)))
            let alphas = entries.compactMap(\.alpha), betas = entries.compactMap(\.beta)
            if !alphas.isEmpty { attrs.append(floats("activation_alpha", alphas)) }
            if !betas.isEmpty { attrs.append(floats("activation_beta", betas)) }
        }
        let name = "lstm_\(k)"
        let outs = [name + "_Y", name + "_Y_h"]
        var inputs = [input, W, R, B]
        if layer.peepholes {
            // O-W6: P [dirs, 3H] = p_i ‖ p_o ‖ p_f per direction, the node's input 7 (sequence_lens, initial_h and
            // initial_c left empty).
            let rows = cells.map { cell in
                let parts = [Gate.i, .o, .f].map { model.tensors[TensorName.peephole(k, cell, $0)]! }
                let stacked = GateLayout.stackDirections(parts)
                return try! Tensor(dtype: stacked.dtype, shape: [3 * H], bytes: stacked.bytes)
            }
            inputs += ["", "", "", initializer("lstm_\(k)_P", GateLayout.stackDirections(rows))]
        }
        append(op: "LSTM", name: name, inputs: inputs, outputs: outs, attrs: attrs)
        if finalState {
            if d == 1 { return node("Squeeze", [outs[1], constInts("\(name)_axes0", [0])]) }
            let t = node("Transpose", [outs[1]], attrs: [ints("perm", [1, 0, 2])])
            return node("Reshape", [t, constInts("\(name)_shape_b", [0, -1])])
        }
        if d == 2 {
            let t = node("Transpose", [outs[0]], attrs: [ints("perm", [0, 2, 1, 3])])
            return node("Reshape", [t, constInts("\(name)_shape_tb", [0, 0, -1])])
        }
        let y = node("Squeeze", [outs[0], constInts("\(name)_axes1", [1])])
        guard layer.direction == .backward else { return y }
        // A reverse node's Y is in input order; the canonical backward layer emits in reading order (M2).
        return node("Slice", [y, constInts("\(name)_rev_start", [-1]), constInts("\(name)_rev_end", [Int64.min]),
                              constInts("\(name)_rev_axes", [0]), constInts("\(name)_rev_steps", [-1])])
    }

    // MARK: graph pieces

    enum Dim { case param(String), value(Int) }

    private func valueInfo(_ name: String, dims: [Dim], elemType: Int32? = nil) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = elemType ?? ONNXDataType.code(dtype)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var x = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .param(let p): x.dimParam = p
            case .value(let n): x.dimValue = Int64(n)
            }
            return x
        }
        tt.shape = shape
        v.type.tensorType = tt
        return v
    }

    @discardableResult
    private mutating func node(_ op: String, _ inputs: [String], attrs: [Onnx_AttributeProto] = []) -> String {
        let name = "\(op.lowercased())_\(graph.node.count)"
        append(op: op, name: name, inputs: inputs, outputs: [name + "_out"], attrs: attrs)
        return name + "_out"
    }

    private mutating func append(op: String, name: String, inputs: [String], outputs: [String], attrs: [Onnx_AttributeProto]) {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = outputs
        n.attribute = attrs
        graph.node.append(n)
    }

    private mutating func initializer(_ name: String, _ t: Tensor) -> String {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = t.shape.map(Int64.init)
        p.dataType = ONNXDataType.code(t.dtype)
        p.rawData = t.bytes
        graph.initializer.append(p)
        return name
    }

    private mutating func constInts(_ name: String, _ v: [Int64], scalar: Bool = false, type: Int32 = ONNXDataType.int64) -> String {
        var p = Onnx_TensorProto()
        p.name = name
        p.dims = scalar ? [] : [Int64(v.count)]
        p.dataType = type
        p.rawData = type == ONNXDataType.int32
            ? v.reduce(into: Data()) { d, x in withUnsafeBytes(of: Int32(truncatingIfNeeded: x).littleEndian) { d.append(contentsOf: $0) } }
            : v.reduce(into: Data()) { d, x in withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
        graph.initializer.append(p)
        return name
    }

    private func int(_ name: String, _ v: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = v; return a
    }
    private func ints(_ name: String, _ v: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v; return a
    }
    private func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = v; return a
    }
    private func floats(_ name: String, _ v: [Float]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .floats; a.floats = v; return a
    }
    private func string(_ name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
    private func strings(_ name: String, _ v: [String]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .strings; a.strings = v.map { Data($0.utf8) }; return a
    }
}
