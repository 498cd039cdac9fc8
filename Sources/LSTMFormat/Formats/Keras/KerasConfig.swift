import Foundation

/// Parses a Keras model config (the JSON of `model.to_json()`, a `.keras` archive's `config.json` or a legacy
/// `.h5` file's `model_config` attribute, Keras 2 or Keras 3) into a `KerasModelPlan`, refusing every layer
/// and option the canonical model cannot express (`Spec/keras-mapping.md`, K-C rules).
enum KerasConfig {
    /// Layers with no weights that are the identity at inference.
    static let passThroughClasses: Set<String> = [
        "InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
    ]

    /// `generation` is used unless the JSON itself carries a `keras_version`.
    static func parse(_ data: Data, generation: KerasGeneration) throws -> KerasModelPlan {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw KerasError.invalidConfig(JSONDepth.exceedsLimit(data) ? "the config is \(JSONDepth.message)" : "the config is not valid JSON")
        }
        guard let top = json as? [String: Any] else { throw KerasError.invalidConfig("the top level is not an object") }
        var gen = generation
        if let v = top["keras_version"] as? String, let g = KerasGeneration(version: v) { gen = g }
        return try parse(top, generation: gen)
    }

    static func parse(_ top: [String: Any], generation: KerasGeneration) throws -> KerasModelPlan {
        var notes = KerasPlanNotes()
        let model = try parseModel(top, generation: generation, scope: [], notes: &notes)
        let layers = try KerasLayerFolding.foldActivations(model.layers, notes: &notes)
        try checkOrder(layers)
        return KerasModelPlan(modelName: model.name, modelClass: model.className, layers: layers, inputSize: model.inputSize,
                              generation: generation, notes: notes)
    }

    /// A model config (top level or nested) as a flat list of layers, Activation layers not yet folded.
    struct ParsedModel {
        var name: String
        var className: String
        var layers: [KerasLayerPlan]
        var inputSize: Int?
    }

    static func parseModel(_ top: [String: Any], generation: KerasGeneration, scope: [KerasScope], notes: inout KerasPlanNotes) throws -> ParsedModel {
        guard let modelClass = top["class_name"] as? String else { throw KerasError.invalidConfig("no class_name") }
        let config = top["config"]
        var entries: [[String: Any]]
        var name = (config as? [String: Any])?["name"] as? String ?? "model"
        var inputSize: Int?
        if let list = config as? [[String: Any]] {
            entries = list  // Keras 1 and Keras 2.0-era Sequential: the config is the layer list.
        } else if let dict = config as? [String: Any], let list = dict["layers"] as? [[String: Any]] {
            entries = list
            name = dict["name"] as? String ?? name
            inputSize = lastDimension(dict["build_input_shape"])
        } else if ["Sequential", "Functional", "Model"].contains(modelClass) {
            throw KerasError.invalidConfig("\(modelClass) config has no layer list")
        } else {
            throw KerasError.subclassedModel(className: modelClass)
        }
        guard ["Sequential", "Functional", "Model"].contains(modelClass) else {
            throw KerasError.unsupportedLayer(name: name, className: modelClass, reason: "the model must be Sequential or Functional")
        }
        if generation == .keras1 || entries.contains(where: KerasKeras1Config.isKeras1) {
            entries = entries.map(KerasKeras1Config.upgrade)
        }
        let sequential = modelClass == "Sequential"
        if !sequential {
            entries = try droppingMaskNodes(entries)
            // Initial states and state outputs are graph facts: named before any layer class is judged (K-C9).
            try checkStates(entries)
        }
        // Every layer is checked before the graph, so an unsupported layer is named even where it branches.
        let here = scope
        var parsed = try entries.map { entry in
            var (layers, size) = try parseLayer(entry, generation: generation, scope: here, notes: &notes)
            let cfg = entry["config"] as? [String: Any] ?? [:], className = entry["class_name"] as? String ?? "?"
            KerasLayerPolicies.assign(&layers, className: className, cfg: cfg, name: cfg["name"] as? String ?? entry["name"] as? String ?? className)
            return (layers, size)
        }
        if !sequential {
            let ordered = try chainOrder(entries, config: config as? [String: Any] ?? [:])
            let index = Dictionary(entries.enumerated().map { (layerName($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
            parsed = ordered.compactMap { index[layerName($0.entry)].map { parsed[$0] } }
            for o in ordered where o.training == true { KerasInferenceNotes.trainingCall(o.entry, notes: &notes) }
        }
        var layers: [KerasLayerPlan] = []
        for (entry, size) in parsed {
            layers += entry
            if inputSize == nil { inputSize = size }
        }
        return ParsedModel(name: name, className: modelClass, layers: layers, inputSize: inputSize)
    }

    // MARK: layers

    static func layerName(_ entry: [String: Any]) -> String {
        (entry["config"] as? [String: Any])?["name"] as? String ?? entry["name"] as? String ?? ""
    }

    /// One config entry as the plan layers it stands for (several for nested models and stacked cells).
    private static func parseLayer(_ entry: [String: Any], generation: KerasGeneration, scope: [KerasScope], notes: inout KerasPlanNotes) throws -> ([KerasLayerPlan], Int?) {
        let className = entry["class_name"] as? String ?? "?"
        let cfg = entry["config"] as? [String: Any] ?? [:]
        let name = cfg["name"] as? String ?? entry["name"] as? String ?? className
        let declaredInput = lastDimension(cfg["batch_shape"] ?? cfg["batch_input_shape"])
            ?? lastDimension((entry["build_config"] as? [String: Any])?["input_shape"])
        KerasInferenceNotes.policy(cfg, layer: name, notes: &notes)
        if className != "Bidirectional" { KerasInferenceNotes.innerPolicies(className, cfg, layer: name, lstmNames: nil, notes: &notes) }
        func one(_ kind: KerasLayerPlan.Kind, _ cls: String = className) -> ([KerasLayerPlan], Int?) {
            ([KerasLayerPlan(name: name, className: cls, kind: kind, scope: scope)], declaredInput)
        }
        if passThroughClasses.contains(className) {
            return one(.passThrough)
        }
        switch className {
        case "LSTM", "CuDNNLSTM":
            return one(.lstm(try parseLSTM(cfg, name: name, className: className, generation: generation)))
        case "RNN":
            return (try parseRNN(cfg, name: name, generation: generation, scope: scope), declaredInput)
        case "Bidirectional":
            var layer = try parseBidirectional(cfg, name: name, generation: generation)
            layer.scope = scope
            if case .bidirectional(let f, let b, _) = layer.kind {
                KerasInferenceNotes.innerPolicies(className, cfg, layer: name, lstmNames: (f.name, b.name), notes: &notes)
            }
            return ([layer], declaredInput)
        case "Embedding":
            return ([KerasLayerPlan(name: name, className: className, kind: .embedding(try parseEmbedding(cfg, name: name)), scope: scope)], nil)
        case "Masking":
            let value: Double
            switch cfg["mask_value"] {
            case nil, is NSNull: value = 0
            case let n as NSNumber where n.doubleValue.isFinite: value = n.doubleValue
            default: throw KerasError.invalidConfig("layer '\(name)': mask_value must be a finite number")
            }
            return one(.masking(value))
        case "Dense":
            return one(.dense(try parseDense(cfg, name: name, wrapper: nil, generation: generation)))
        case "Activation":
            let act = try activation(cfg["activation"], place: "layer '\(name)' (Activation) activation", generation: generation)
            return one(.activation(act))
        case "TimeDistributed":
            guard let inner = cfg["layer"] as? [String: Any], inner["class_name"] as? String == "Dense" else {
                let innerClass = (cfg["layer"] as? [String: Any])?["class_name"] as? String ?? "?"
                throw KerasError.unsupportedLayer(name: name, className: "TimeDistributed(\(innerClass))", reason: "only TimeDistributed(Dense) is supported")
            }
            let innerCfg = inner["config"] as? [String: Any] ?? [:]
            let dense = try parseDense(innerCfg, name: innerCfg["name"] as? String ?? "dense", wrapper: name, generation: generation)
            return one(.dense(dense))
        case "Sequential", "Functional", "Model":
            // K-C6: a nested straight-chain model is its layers, in order.
            let inner = try parseModel(entry, generation: generation,
                                       scope: scope + [KerasScope(name: name, className: className, kind: .model(sequential: className == "Sequential"))],
                                       notes: &notes)
            notes.rewrites.append((name, "nested \(className) flattened into its layers"))
            return (inner.layers, declaredInput ?? inner.inputSize)
        default:
            throw KerasError.unsupportedLayer(name: name, className: className, reason: refusalReason(className))
        }
    }

    static func refusalReason(_ className: String) -> String {
        switch className {
        case "GRU", "CuDNNGRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "GRUCell", "SimpleRNNCell":
            "only LSTM recurrent layers (LSTM, RNN(LSTMCell), RNN(StackedRNNCells of LSTMCell)) map to the canonical LSTM model"
        case "Conv1D", "Conv2D", "SeparableConv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D":
            "convolution and pooling layers have no counterpart in the canonical model"
        case "Attention", "AdditiveAttention", "MultiHeadAttention":
            "attention has no counterpart in the canonical model"
        case "Add", "Concatenate", "Multiply", "Average", "Subtract", "Maximum", "Minimum", "Dot":
            "merge layers join branches of the graph; only a straight chain of layers is supported"
        case "Lambda":
            "a Lambda layer runs arbitrary Python code that no file format carries"
        default:
            "the canonical model has only LSTM layers, Bidirectional(LSTM), Dense / TimeDistributed(Dense) heads, Activation after a linear Dense, nested straight-chain models and dropout-style layers"
        }
    }

    /// Keras `Embedding(input_dim, output_dim, mask_zero)`. LoRA and quantized embeddings hold other weights and
    /// are refused.
    private static func parseEmbedding(_ cfg: [String: Any], name: String) throws -> KerasEmbeddingConfig {
        guard let inputDim = cfg["input_dim"] as? Int, inputDim > 0, let outputDim = cfg["output_dim"] as? Int, outputDim > 0 else {
            throw KerasError.invalidConfig("layer '\(name)': Embedding input_dim and output_dim must be positive integers")
        }
        for option in ["lora_rank", "quantization_config"] {
            if let v = cfg[option], !(v is NSNull) {
                throw KerasError.unsupportedOption(layer: name, className: "Embedding", option: option, value: "\(v)", reason: "the canonical embedding is one plain table")
            }
        }
        return KerasEmbeddingConfig(name: name, inputDim: inputDim, outputDim: outputDim,
                                    maskZero: try flag(cfg, "mask_zero", layer: name, default: false))
    }

    static func parseBidirectional(_ cfg: [String: Any], name: String, generation: KerasGeneration) throws -> KerasLayerPlan {
        guard let inner = cfg["layer"] as? [String: Any] else { throw KerasError.invalidConfig("layer '\(name)': Bidirectional without an inner layer") }
        let innerClass = inner["class_name"] as? String ?? "?"
        guard innerClass == "LSTM" || innerClass == "CuDNNLSTM" else {
            throw KerasError.unsupportedLayer(name: name, className: "Bidirectional(\(innerClass))", reason: refusalReason(innerClass))
        }
        let innerCfg = inner["config"] as? [String: Any] ?? [:]
        let fwd = try parseLSTM(innerCfg, name: innerCfg["name"] as? String ?? "forward_lstm", className: innerClass, generation: generation)
        var bwd = fwd
        bwd.goBackwards = !fwd.goBackwards
        bwd.name = "backward_" + fwd.name.replacingOccurrences(of: "forward_", with: "")
        if let b = cfg["backward_layer"] as? [String: Any] {
            let bClass = b["class_name"] as? String ?? "?"
            let bCfg = b["config"] as? [String: Any] ?? [:]
            bwd = try parseLSTM(bCfg, name: bCfg["name"] as? String ?? bwd.name, className: bClass, generation: generation)
        }
        guard !fwd.goBackwards, bwd.goBackwards else {
            throw KerasError.unsupportedOption(layer: name, className: "Bidirectional", option: "go_backwards", value: "\(fwd.goBackwards)/\(bwd.goBackwards)", reason: "the forward layer must read forward and the backward layer backward")
        }
        guard fwd.units == bwd.units, fwd.activation == bwd.activation, fwd.recurrentActivation == bwd.recurrentActivation,
              fwd.useBias == bwd.useBias, fwd.returnSequences == bwd.returnSequences, fwd.cudnn == bwd.cudnn else {
            throw KerasError.unsupportedOption(layer: name, className: "Bidirectional", option: "backward_layer", value: bwd.name, reason: "the canonical model needs both directions to have the same units, activations, bias and return_sequences")
        }
        let mergeName = cfg["merge_mode"] as? String ?? "none"
        guard let merge = MergeMode(rawValue: mergeName) else {
            throw KerasError.unsupportedOption(layer: name, className: "Bidirectional", option: "merge_mode", value: mergeName, reason: "only concat, sum, mul and ave merge the two directions into one output")
        }
        return KerasLayerPlan(name: name, className: "Bidirectional", kind: .bidirectional(forward: fwd, backward: bwd, merge: merge))
    }

    static func parseDense(_ cfg: [String: Any], name: String, wrapper: String?, generation: KerasGeneration) throws -> KerasDenseConfig {
        guard let units = cfg["units"] as? Int, units > 0 else { throw KerasError.invalidConfig("layer '\(name)': units missing or not positive") }
        return KerasDenseConfig(name: name, units: units,
                                activation: try activation(cfg["activation"] ?? "linear", place: "layer '\(name)' (Dense) activation", generation: generation),
                                useBias: try flag(cfg, "use_bias", layer: name, default: true), timeDistributedName: wrapper)
    }

    /// A boolean layer option: `fallback` when absent or null, an error when present with another type — a
    /// silently defaulted `"go_backwards": "true"` would read a different model.
    static func flag(_ cfg: [String: Any], _ key: String, layer: String, default fallback: Bool) throws -> Bool {
        guard let value = cfg[key], !(value is NSNull) else { return fallback }
        if let b = value as? Bool { return b }
        let kind = switch value {
        case is String: "a string"
        case is [Any]: "a list"
        case is [String: Any]: "an object"
        default: "a number"
        }
        throw KerasError.invalidConfig("layer '\(layer)': \(key) must be true or false, not \(kind)")
    }

    /// A Keras activation (a name, or a serialized function object) as a canonical activation.
    static func activation(_ value: Any?, place: String, generation: KerasGeneration) throws -> Activation {
        var name: String
        switch value {
        case nil, is NSNull: name = "linear"
        case let s as String: name = s
        case let d as [String: Any]: name = d["config"] as? String ?? d["class_name"] as? String ?? "?"
        default: name = "?"
        }
        if let dot = name.lastIndex(of: ".") { name = String(name[name.index(after: dot)...]) }
        switch name {
        case "linear", "None": return .linear
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case "relu": return .relu
        case "softmax": return .softmax
        case "hard_sigmoid": return generation.hardSigmoid
        default: throw ModelError.unknownActivation(place: place, name: name)
        }
    }

    private static func checkOrder(_ layers: [KerasLayerPlan]) throws {
        var lastRecurrent: Int?
        var firstDense: Int?
        var input: KerasLayerPlan?
        for (k, layer) in layers.enumerated() {
            switch layer.kind {
            case .embedding, .masking:
                // M17/M18: one Embedding or Masking, before every other layer with weights or a mask.
                if let first = input ?? layers[..<k].first(where: { $0.kind != .passThrough }) {
                    throw KerasError.unsupportedLayer(name: layer.name, className: layer.className,
                        reason: "an Embedding or Masking layer must come first, before '\(first.name)'")
                }
                input = layer
            case .lstm, .bidirectional:
                if let d = firstDense {
                    throw KerasError.unsupportedLayer(name: layer.name, className: layer.className, reason: "a recurrent layer after the Dense layer '\(layers[d].name)' is not supported")
                }
                if let prev = lastRecurrent, !returnsSequences(layers[prev]) {
                    throw KerasError.unsupportedOption(layer: layers[prev].name, className: layers[prev].className, option: "return_sequences", value: "false", reason: "every LSTM layer but the last must return sequences")
                }
                lastRecurrent = k
            case .dense:
                if firstDense == nil { firstDense = k }
            case .passThrough, .activation: break
            }
        }
        guard lastRecurrent != nil else {
            throw KerasError.invalidConfig("the model has no LSTM layer")
        }
    }

    static func returnsSequences(_ layer: KerasLayerPlan) -> Bool {
        switch layer.kind {
        case .lstm(let l): l.returnSequences
        case .bidirectional(let f, _, _): f.returnSequences
        default: true
        }
    }

    static func lastDimension(_ value: Any?) -> Int? {
        guard let shape = value as? [Any], let last = shape.last as? Int, last > 0 else { return nil }
        return last
    }
}

