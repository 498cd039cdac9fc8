import Foundation

/// Builds the canonical model from a `KerasModelPlan` and the weight arrays of its weighted layers
/// (`Spec/keras-mapping.md`, K-M rules), checking every shape against the config.
enum KerasModelBuilder {
    /// `weights[n]` are the arrays of the n-th weighted layer of `plan`, in Keras order: LSTM kernel,
    /// recurrent_kernel, [bias]; Bidirectional forward then backward; Dense kernel, [bias]. `fileLayers[n]`, when
    /// given, is the file layer they came from: a shape or count mismatch then names both sides (K-O1).
    static func model(_ plan: KerasModelPlan, weights: [[Tensor]], metadata base: [String: String], fileLayers: [String]? = nil) throws -> LSTMModel {
        let weighted = plan.weightedLayers
        guard weights.count == weighted.count else {
            throw KerasError.invalidConfig("the config has \(weighted.count) layers with weights, the file \(weights.count)")
        }
        do {
            return try build(plan, weights: weights, metadata: base.merging(KerasInferenceNotes.metadata(plan.notes)) { a, _ in a })
        } catch let error as KerasError {
            guard let files = fileLayers, let layer = error.layerName, let k = weighted.firstIndex(where: { $0.name == layer }),
                  files.indices.contains(k), files[k] != weighted[k].weightGroupName else { throw error }
            throw KerasError.positionalMismatch(configLayer: layer, fileLayer: files[k], detail: error.detail)
        }
    }

    private static func build(_ plan: KerasModelPlan, weights: [[Tensor]], metadata base: [String: String]) throws -> LSTMModel {
        let weighted = plan.weightedLayers
        var layers: [LSTMLayerSpec] = []
        var dense: [DenseLayerSpec] = []
        var tensors: [String: Tensor] = [:]
        var metadata = base
        var width = plan.layers.contains { if case .embedding = $0.kind { true } else { false } } ? nil : plan.inputSize
        var returnSequences = false
        var embedding: EmbeddingSpec?
        var maskValue: Double?
        for layer in plan.layers { if case .masking(let v) = layer.kind { maskValue = v } }
        let masked = maskValue != nil || plan.layers.contains { if case .embedding(let e) = $0.kind { e.maskZero } else { false } }
        var policies: [String: KerasSourcePolicy] = [:]  // K-W6c
        for (layer, arrays) in zip(weighted, weights) {
            policies.merge(KerasLayerPolicies.entries(layer, prefix: layer.kind.isDense ? "dense.\(dense.count)"
                : layer.kind.isEmbedding ? "embedding" : "lstm.\(layers.count)")) { a, _ in a }
            switch layer.kind {
            case .embedding(let cfg):
                guard arrays.count == 1, arrays[0].shape == [cfg.inputDim, cfg.outputDim] else {
                    throw KerasError.weightShape(layer: layer.name, weight: "embeddings", expected: [cfg.inputDim, cfg.outputDim], actual: arrays.first?.shape ?? [])
                }
                tensors[TensorName.embedding] = arrays[0]
                embedding = EmbeddingSpec(vocabularySize: cfg.inputDim, maskZero: cfg.maskZero)
                metadata["keras.embedding.name"] = layer.name
                width = cfg.outputDim
                continue
            case .masking:
                continue
            case .lstm(let cfg):
                let k = layers.count
                let cell: CellDirection = cfg.goBackwards ? .bwd : .fwd
                let (input, cellTensors) = try lstmCell(cfg, arrays, layerName: layer.name, width: width, k: k, cell: cell)
                tensors.merge(cellTensors) { a, _ in a }
                layers.append(LSTMLayerSpec(inputSize: input, hiddenSize: cfg.units, direction: cfg.goBackwards ? .backward : .forward,
                                            gateActivation: cfg.recurrentActivation, cellActivation: cfg.activation,
                                            zeroOutputForMask: masked && cfg.zeroOutputForMask))
                returnSequences = cfg.returnSequences
                metadata["keras.lstm.\(k).name"] = layer.name
            case .bidirectional(let fwd, let bwd, let merge):
                let k = layers.count
                let per = fwd.useBias ? 3 : 2
                guard arrays.count == 2 * per else {
                    throw KerasError.invalidConfig("layer '\(layer.name)': expected \(2 * per) weight arrays, found \(arrays.count)")
                }
                let (input, f) = try lstmCell(fwd, Array(arrays[0..<per]), layerName: layer.name, width: width, k: k, cell: .fwd)
                let (_, b) = try lstmCell(bwd, Array(arrays[per...]), layerName: layer.name, width: input, k: k, cell: .bwd)
                tensors.merge(f) { a, _ in a }
                tensors.merge(b) { a, _ in a }
                // Keras's Bidirectional sets zero_output_for_mask to return_sequences on both cells (M21).
                layers.append(LSTMLayerSpec(inputSize: input, hiddenSize: fwd.units, direction: .bidirectional, mergeMode: merge,
                                            gateActivation: fwd.recurrentActivation, cellActivation: fwd.activation,
                                            zeroOutputForMask: masked && fwd.returnSequences))
                returnSequences = fwd.returnSequences
                metadata["keras.lstm.\(k).name"] = layer.name
                metadata["keras.lstm.\(k).forward_name"] = fwd.name
                metadata["keras.lstm.\(k).backward_name"] = bwd.name
            case .dense(let cfg):
                let j = dense.count
                let per = cfg.useBias ? 2 : 1
                guard arrays.count == per else {
                    throw KerasError.invalidConfig("layer '\(layer.name)': expected \(per) weight arrays, found \(arrays.count)")
                }
                let kernel = arrays[0]
                guard kernel.shape.count == 2, kernel.shape[1] == cfg.units, width == nil || kernel.shape[0] == width else {
                    throw KerasError.weightShape(layer: layer.name, weight: "kernel", expected: [width ?? -1, cfg.units], actual: kernel.shape)
                }
                if cfg.useBias, arrays[1].shape != [cfg.units] {
                    throw KerasError.weightShape(layer: layer.name, weight: "bias", expected: [cfg.units], actual: arrays[1].shape)
                }
                tensors[TensorName.denseV(j)] = KerasWeightMapping.transposedForReading(kernel)
                tensors[TensorName.denseC(j)] = cfg.useBias ? arrays[1] : Tensor.zeros(shape: [cfg.units], dtype: kernel.dtype)
                dense.append(DenseLayerSpec(inputSize: kernel.shape[0], outputSize: cfg.units, activation: cfg.activation))
                metadata["keras.dense.\(j).name"] = cfg.name
                if let wrapper = cfg.timeDistributedName { metadata["keras.dense.\(j).time_distributed"] = wrapper }
            case .passThrough, .activation:
                continue
            }
            width = layer.kind.isDense ? dense.last?.outputSize : layers.last?.outputSize
        }
        metadata["keras.model_name"] = plan.modelName
        metadata["keras.model_class"] = plan.modelClass
        metadata["keras.layer_names"] = jsonArray(plan.layers.map(\.name))
        if let input = plan.layers.first(where: { $0.className == "InputLayer" }) { metadata["keras.input_name"] = input.name }
        if let m = plan.layers.first(where: { if case .masking = $0.kind { true } else { false } }) {
            metadata["keras.masking.name"] = m.name
            policies.merge(KerasLayerPolicies.entries(m, prefix: "masking")) { a, _ in a }
        }
        // K-W6e: layers that are not written but cast (Dropout-style, a linear Activation), by name.
        for layer in plan.layers where layer.kind == .passThrough {
            if let p = layer.policies[""] { policies["cast.\(layer.name)"] = p }
        }
        // K-W6c: when a layer computes in lower precision; K-W6d: when the layers' full-precision policies differ.
        if !plan.notes.dtypePolicies.isEmpty || Set(policies.values.map(\.policy)).count > 1 {
            metadata[KerasLayerPolicies.key] = KerasLayerPolicies.json(policies)
        }
        let architecture = ModelArchitecture(layers: layers, returnSequences: returnSequences, dense: dense,
                                             embedding: embedding, maskValue: maskValue)
        return try LSTMModel(architecture: architecture, tensors: tensors, metadata: metadata)
    }

    private static func lstmCell(_ cfg: KerasLSTMConfig, _ arrays: [Tensor], layerName: String, width: Int?, k: Int, cell: CellDirection) throws -> (Int, [String: Tensor]) {
        let u = cfg.units
        let expectedCount = cfg.useBias ? 3 : 2
        guard arrays.count == expectedCount else {
            throw KerasError.invalidConfig("layer '\(layerName)': expected \(expectedCount) weight arrays, found \(arrays.count)")
        }
        let kernel = arrays[0], recurrent = arrays[1]
        let bias = cfg.useBias ? arrays[2] : nil
        guard kernel.shape.count == 2, kernel.shape[1] == 4 * u, kernel.shape[0] > 0, width == nil || kernel.shape[0] == width else {
            throw KerasError.weightShape(layer: layerName, weight: "kernel", expected: [width ?? -1, 4 * u], actual: kernel.shape)
        }
        guard recurrent.shape == [u, 4 * u] else {
            throw KerasError.weightShape(layer: layerName, weight: "recurrent_kernel", expected: [u, 4 * u], actual: recurrent.shape)
        }
        let biasWidth = cfg.cudnn ? 8 * u : 4 * u
        if let b = bias, b.shape != [biasWidth] {
            throw KerasError.weightShape(layer: layerName, weight: "bias", expected: [biasWidth], actual: b.shape)
        }
        return (kernel.shape[0], KerasWeightMapping.cellTensors(kernel: kernel, recurrent: recurrent, bias: bias, units: u, layer: k, cell: cell,
                                                                layout: cfg.cudnn ? .cudnn : .keras))
    }

    /// `names` as a JSON array, byte for byte what `JSONSerialization.data(withJSONObject:)` writes (`"`, `\\`
    /// and `/` escaped; \b \t \n \f \r, other control characters as \u00xx; the rest as UTF-8), without it:
    /// its writer's casts of `Any` cost four protocol-conformance scans of the whole binary (Spec/reliability.md P3).
    static func jsonArray(_ names: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in name.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out += [UInt8(ascii: "\\"), byte]
                case 0x08: out += Array("\\b".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0x0A: out += Array("\\n".utf8)
                case 0x0C: out += Array("\\f".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension KerasLayerPlan.Kind {
    var isDense: Bool { if case .dense = self { true } else { false } }
    var isEmbedding: Bool { if case .embedding = self { true } else { false } }
}
