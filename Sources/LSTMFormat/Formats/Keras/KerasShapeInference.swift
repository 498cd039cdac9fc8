import Foundation

/// Architecture of a weights-only file without a Keras config, from the weight shapes and Keras defaults
/// (`Spec/keras-mapping.md`, K-F6): activations tanh / sigmoid, use_bias from the arrays present,
/// go_backwards false, Bidirectional merge_mode concat, Dense activation linear, return_sequences true on every
/// LSTM but the last and false on the last (true when a TimeDistributed head follows).
enum KerasShapeInference {
    static func warning(_ plan: KerasModelPlan) -> String {
        "no model config: architecture inferred from the weight shapes with Keras defaults (tanh/sigmoid, go_backwards=false, "
            + "merge_mode=concat, linear Dense, return_sequences=\(plan.layers.last { KerasConfig.isRecurrent($0) }.map(KerasConfig.returnsSequences) ?? false) "
            + "on the last LSTM)"
    }

    /// A recurrent or dense layer seen in the file, before ordering.
    struct Found {
        var group: String
        var className: String
        var units: Int
        var input: Int
        var useBias: Bool
        var cudnn: Bool = false
    }

    static func lstm(_ name: String, units: Int, useBias: Bool, cudnn: Bool, last: Bool, sequences: Bool) -> KerasLSTMConfig {
        KerasLSTMConfig(name: name, units: units, activation: .tanh, recurrentActivation: .sigmoid, useBias: useBias,
                        goBackwards: false, returnSequences: last ? sequences : true, cudnn: cudnn)
    }

    /// Builds a plan from layers already in model order.
    static func plan(_ found: [Found], generation: KerasGeneration, modelClass: String) throws -> KerasModelPlan {
        let recurrent = found.filter { $0.className == "LSTM" || $0.className == "Bidirectional" }
        let sequences = found.contains { $0.className == "TimeDistributed" }
        var layers: [KerasLayerPlan] = []
        for (k, f) in found.enumerated() {
            let last = f.group == recurrent.last?.group
            switch f.className {
            case "LSTM":
                layers.append(KerasLayerPlan(name: f.group, className: "LSTM", kind: .lstm(lstm(f.group, units: f.units, useBias: f.useBias, cudnn: f.cudnn, last: last, sequences: sequences))))
            case "Bidirectional":
                let fwd = lstm("forward_lstm", units: f.units, useBias: f.useBias, cudnn: f.cudnn, last: last, sequences: sequences)
                var bwd = fwd
                bwd.name = "backward_lstm"
                bwd.goBackwards = true
                layers.append(KerasLayerPlan(name: f.group, className: "Bidirectional", kind: .bidirectional(forward: fwd, backward: bwd, merge: .concat)))
            default:
                let td = f.className == "TimeDistributed"
                layers.append(KerasLayerPlan(name: f.group, className: f.className, kind: .dense(KerasDenseConfig(
                    name: td ? "dense" : f.group, units: f.units, activation: .linear, useBias: f.useBias, timeDistributedName: td ? f.group : nil))))
            }
            if k > 0, f.input != outputWidth(found[k - 1]) {
                throw KerasError.cannotInferArchitecture("'\(f.group)' takes \(f.input) features but '\(found[k - 1].group)' gives \(outputWidth(found[k - 1]))")
            }
        }
        guard !recurrent.isEmpty else { throw KerasError.cannotInferArchitecture("no LSTM layer found") }
        return KerasModelPlan(modelName: "model", modelClass: modelClass, layers: layers, inputSize: found.first?.input, generation: generation)
    }

    static func outputWidth(_ f: Found) -> Int { f.className == "Bidirectional" ? 2 * f.units : f.units }

    /// Keras 2 `save_weights` files: layer order from `layer_names`, kind from the weight names and shapes.
    static func legacy(layerNames: [String], weightNames: [String: [String]], weights: [String: [Tensor]], generation: KerasGeneration) throws -> KerasModelPlan {
        var found: [Found] = []
        for name in layerNames {
            let names = weightNames[name] ?? []
            let arrays = weights[name] ?? []
            if arrays.isEmpty { continue }
            let isBidirectional = names.contains { $0.contains("forward_") } && names.contains { $0.contains("backward_") }
            let isRecurrent = names.contains { $0.contains("recurrent_kernel") }
            guard let kernel = arrays.first, kernel.shape.count == 2 else {
                throw KerasError.cannotInferArchitecture("layer '\(name)' has no 2-D kernel")
            }
            if isRecurrent {
                let per = isBidirectional ? arrays.count / 2 : arrays.count
                guard per == 2 || per == 3, kernel.shape[1] % 4 == 0 else {
                    throw KerasError.cannotInferArchitecture("layer '\(name)' does not look like an LSTM (weights \(names))")
                }
                let units = kernel.shape[1] / 4
                let cudnn = per == 3 && arrays[2].shape == [8 * units]
                found.append(Found(group: name, className: isBidirectional ? "Bidirectional" : "LSTM", units: units, input: kernel.shape[0], useBias: per == 3, cudnn: cudnn))
            } else {
                guard arrays.count <= 2 else { throw KerasError.cannotInferArchitecture("layer '\(name)' has \(arrays.count) weights") }
                found.append(Found(group: name, className: "Dense", units: kernel.shape[1], input: kernel.shape[0], useBias: arrays.count == 2))
            }
        }
        return try plan(found, generation: generation, modelClass: "Sequential")
    }

    /// Keras 3 `.weights.h5`: groups are named by class (`lstm`, `lstm_1`, `bidirectional`, `dense`,
    /// `time_distributed`, …); LSTM-like layers come first, ordered so that sizes chain, then the dense head.
    static func keras3(_ file: HDF5File) throws -> KerasModelPlan {
        var recurrent: [Found] = []
        var dense: [Found] = []
        for group in try file.childNames("/layers") {
            let base = group.replacingOccurrences(of: #"_[0-9]+$"#, with: "", options: .regularExpression)
            let root = "/layers/\(group)"
            switch base {
            case "lstm", "bidirectional":
                let cell = base == "lstm" ? "\(root)/cell/vars" : "\(root)/forward_layer/cell/vars"
                let shape = try file.datasetShape("\(cell)/0")
                guard shape.count == 2, shape[1] % 4 == 0 else { throw KerasError.cannotInferArchitecture("\(cell)/0 has shape \(shape)") }
                recurrent.append(Found(group: group, className: base == "lstm" ? "LSTM" : "Bidirectional", units: shape[1] / 4, input: shape[0], useBias: file.isDataset("\(cell)/2")))
            case "dense", "time_distributed":
                let vars = base == "dense" ? "\(root)/vars" : "\(root)/layer/vars"
                let shape = try file.datasetShape("\(vars)/0")
                guard shape.count == 2 else { throw KerasError.cannotInferArchitecture("\(vars)/0 has shape \(shape)") }
                dense.append(Found(group: group, className: base == "dense" ? "Dense" : "TimeDistributed", units: shape[1], input: shape[0], useBias: file.isDataset("\(vars)/1")))
            default:
                let hasWeights = file.isDataset("\(root)/vars/0") || file.isGroup("\(root)/cell")
                if hasWeights {
                    throw KerasError.unsupportedLayer(name: group, className: group, reason: KerasConfig.refusalReason(""))
                }
            }
        }
        let stack = chain(recurrent.sorted(by: groupOrder), start: nil)
        let order = stack + chain(dense.sorted(by: groupOrder), start: stack.last.map(outputWidth))
        return try plan(order, generation: .keras3, modelClass: "Sequential")
    }

    /// Orders layers so that each one's input width is the previous one's output width (Keras numbers layers
    /// of one class in model order, so ties keep that order).
    static func chain(_ items: [Found], start: Int?) -> [Found] {
        var rest = items
        var out: [Found] = []
        var width = start
        while !rest.isEmpty {
            let produced = Set(rest.map(outputWidth))
            let index = rest.firstIndex { width == nil ? !produced.contains($0.input) || rest.count == 1 : $0.input == width } ?? 0
            let next = rest.remove(at: index)
            out.append(next)
            width = outputWidth(next)
        }
        return out
    }

    /// "lstm" < "lstm_1" < "lstm_2" < … < "lstm_10" (numeric, not lexicographic).
    static func groupOrder(_ a: Found, _ b: Found) -> Bool {
        func key(_ s: String) -> (String, Int) {
            if let r = s.range(of: #"_[0-9]+$"#, options: .regularExpression), let n = Int(s[r].dropFirst()) { return (String(s[..<r.lowerBound]), n) }
            return (s, 0)
        }
        return key(a.group) < key(b.group)
    }
}

extension KerasConfig {
    static func isRecurrent(_ layer: KerasLayerPlan) -> Bool {
        switch layer.kind {
        case .lstm, .bidirectional: true
        default: false
        }
    }
}
