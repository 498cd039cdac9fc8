import Foundation

/// Architecture of a weights-only file without a Keras config, from the weight shapes and the defaults of the
/// Keras version that wrote the file (`Spec/keras-mapping.md`, K-F6, K-D1): activation tanh, gate activation by
/// version (`KerasDefaults`), use_bias from the arrays present, go_backwards false, Bidirectional merge_mode
/// concat, Dense activation linear, return_sequences true on every LSTM but the last and false on the last
/// (true when a TimeDistributed head follows). Layers are ordered so that their sizes chain.
enum KerasShapeInference {
    static func warning(_ plan: KerasModelPlan) -> String {
        let last = plan.layers.last { KerasConfig.isRecurrent($0) }.map(KerasConfig.returnsSequences) ?? false
        let gate = plan.layers.compactMap { layer -> Activation? in
            if case .lstm(let c) = layer.kind { return c.recurrentActivation }
            if case .bidirectional(let f, _, _) = layer.kind { return f.recurrentActivation }
            return nil
        }.first ?? .sigmoid
        let assumed = plan.notes.assumedDefaults.isEmpty ? "" : " (\(plan.notes.assumedDefaults.joined(separator: "; ")))"
        return "no model config: architecture inferred from the weight shapes with the defaults of the Keras that wrote the file\(assumed): "
            + "activation=tanh, recurrent_activation=\(KerasConfigWriter.kerasName(gate))\(gate == .hardSigmoidKeras2 ? " (Keras 1/2 form, 0.2x+0.5)" : ""), "
            + "go_backwards=false, merge_mode=concat, linear Dense, return_sequences=\(last) on the last LSTM; "
            + "relu, softmax or other options that differ from these cannot be seen in weights"
    }

    /// A recurrent or dense layer seen in the file, before ordering.
    struct Found {
        var group: String
        var className: String
        var units: Int
        var input: Int
        var useBias: Bool
        var cudnn: Bool = false
        /// The layer name: the group's last path component.
        var name: String { group.split(separator: "/").last.map(String.init) ?? group }
    }

    static func lstm(_ name: String, units: Int, useBias: Bool, cudnn: Bool, last: Bool, sequences: Bool, gate: Activation) -> KerasLSTMConfig {
        KerasLSTMConfig(name: name, units: units, activation: .tanh, recurrentActivation: cudnn ? .sigmoid : gate, useBias: useBias,
                        goBackwards: false, returnSequences: last ? sequences : true, cudnn: cudnn)
    }

    /// Builds a plan from layers already in model order.
    static func plan(_ found: [Found], generation: KerasGeneration, version: String?, modelClass: String) throws -> KerasModelPlan {
        let recurrent = found.filter { $0.className == "LSTM" || $0.className == "Bidirectional" }
        let sequences = found.contains { $0.className == "TimeDistributed" }
        let gateName = KerasDefaults.recurrentActivation(generation, version: version)
        let gate: Activation = gateName == "hard_sigmoid" ? generation.hardSigmoid : .sigmoid
        var layers: [KerasLayerPlan] = []
        for (k, f) in found.enumerated() {
            let last = f.group == recurrent.last?.group
            switch f.className {
            case "LSTM":
                layers.append(KerasLayerPlan(name: f.name, className: "LSTM", kind: .lstm(lstm(f.name, units: f.units, useBias: f.useBias, cudnn: f.cudnn, last: last, sequences: sequences, gate: gate))))
            case "Bidirectional":
                let fwd = lstm("forward_lstm", units: f.units, useBias: f.useBias, cudnn: f.cudnn, last: last, sequences: sequences, gate: gate)
                var bwd = fwd
                bwd.name = "backward_lstm"
                bwd.goBackwards = true
                layers.append(KerasLayerPlan(name: f.name, className: "Bidirectional", kind: .bidirectional(forward: fwd, backward: bwd, merge: .concat)))
            default:
                let td = f.className == "TimeDistributed"
                layers.append(KerasLayerPlan(name: f.name, className: f.className, kind: .dense(KerasDenseConfig(
                    name: td ? "dense" : f.name, units: f.units, activation: .linear, useBias: f.useBias, timeDistributedName: td ? f.name : nil))))
            }
            if k > 0, f.input != outputWidth(found[k - 1]) {
                throw KerasError.cannotInferArchitecture("'\(f.group)' takes \(f.input) features but '\(found[k - 1].group)' gives \(outputWidth(found[k - 1]))")
            }
        }
        guard !recurrent.isEmpty else { throw KerasError.cannotInferArchitecture("no LSTM layer found") }
        var notes = KerasPlanNotes()
        notes.assumedDefaults = [assumption(generation, version: version, gate: gateName)]
        return KerasModelPlan(modelName: "model", modelClass: modelClass, layers: layers, inputSize: found.first?.input, generation: generation, notes: notes)
    }

    /// Which Keras the defaults were taken from (K-D1).
    static func assumption(_ generation: KerasGeneration, version: String?, gate: String) -> String {
        switch generation {
        case .keras1: return "Keras 1 file\(version.map { " (keras_version \($0))" } ?? " (no keras_version)"): recurrent_activation default \(gate)"
        case .keras3: return "Keras 3 file: recurrent_activation default \(gate)"
        case .keras2:
            let v = version ?? "unknown"
            if v.hasSuffix("-tf") {
                return "keras_version \(v) (tf.keras): written by TensorFlow 1.x (default hard_sigmoid) or 2.x (default sigmoid); assumed \(gate)"
            }
            return "keras_version \(v): recurrent_activation default \(gate) (hard_sigmoid before Keras 2.3.0, sigmoid from 2.3.0)"
        }
    }

    static func outputWidth(_ f: Found) -> Int { f.className == "Bidirectional" ? 2 * f.units : f.units }

    /// Keras 1/2 `save_weights` files: kind from the weight names and shapes; LSTMs first, then the dense head,
    /// each ordered so that sizes chain (file order breaks ties).
    static func legacy(layerNames: [String], weightNames: [String: [String]], weights: [String: [Tensor]], generation: KerasGeneration, version: String?) throws -> KerasModelPlan {
        var recurrent: [Found] = []
        var dense: [Found] = []
        for name in layerNames {
            let names = weightNames[name] ?? []
            let arrays = weights[name] ?? []
            if arrays.isEmpty { continue }
            let isBidirectional = names.contains { $0.contains("forward_") } && names.contains { $0.contains("backward_") }
            let isRecurrent = names.contains { $0.contains("recurrent_kernel") } || (generation == .keras1 && names.contains { $0.contains("_U") })
            guard let kernel = arrays.first, kernel.shape.count == 2 else {
                throw KerasError.cannotInferArchitecture("layer '\(name)' has no 2-D kernel")
            }
            if isRecurrent {
                if generation == .keras1, arrays.count == 12, !isBidirectional {
                    let u = arrays[1].shape.first ?? 0
                    guard u > 0, kernel.shape == [kernel.shape[0], u] else { throw KerasError.cannotInferArchitecture("layer '\(name)' does not look like a Keras 1 LSTM (weights \(names))") }
                    recurrent.append(Found(group: name, className: "LSTM", units: u, input: kernel.shape[0], useBias: true))
                    continue
                }
                let per = isBidirectional ? arrays.count / 2 : arrays.count
                guard per == 2 || per == 3, kernel.shape[1] % 4 == 0 else {
                    throw KerasError.cannotInferArchitecture("layer '\(name)' does not look like an LSTM (weights \(names))")
                }
                let units = kernel.shape[1] / 4
                let cudnn = per == 3 && arrays[2].shape == [8 * units]
                recurrent.append(Found(group: name, className: isBidirectional ? "Bidirectional" : "LSTM", units: units, input: kernel.shape[0], useBias: per == 3, cudnn: cudnn))
            } else {
                guard arrays.count <= 2 else { throw KerasError.cannotInferArchitecture("layer '\(name)' has \(arrays.count) weights") }
                dense.append(Found(group: name, className: "Dense", units: kernel.shape[1], input: kernel.shape[0], useBias: arrays.count == 2))
            }
        }
        let stack = chain(recurrent, start: nil)
        let order = stack + chain(dense, start: stack.last.map(outputWidth))
        return try plan(order, generation: generation, version: version, modelClass: "Sequential")
    }

    /// Keras 3 weights (`.weights.h5`, a `.keras` archive's `model.weights.h5`): every weight group in the file,
    /// wherever it sits — class-named groups under `/layers` and the attribute-named groups of subclassed models
    /// (`/head/vars/…`) — recognised by its structure (K-A2): `cell/vars` is an LSTM, `forward_layer` +
    /// `backward_layer` a Bidirectional, `layer/vars` a TimeDistributed(Dense), `vars` with a 2-D kernel a Dense.
    /// Optimizer state is skipped. A group of any other structure is refused by name.
    static func keras3(_ file: HDF5File) throws -> KerasModelPlan {
        var recurrent: [Found] = []
        var dense: [Found] = []
        var claimed: [String] = []
        for group in try layerGroups(file) {
            let name = group.split(separator: "/").last.map(String.init) ?? group
            // Under /layers Keras names a group by its class: only these classes can be read from shapes alone.
            let base = name.replacingOccurrences(of: #"_[0-9]+$"#, with: "", options: .regularExpression)
            if group.hasPrefix("/layers/"), !["lstm", "bidirectional", "dense", "time_distributed", "rnn"].contains(base) {
                throw KerasError.unsupportedLayer(name: name, className: base, reason: "its architecture cannot be inferred from the weights alone")
            }
            func shape(_ path: String) throws -> [Int] { try file.datasetShape(path) }
            if file.isGroup("\(group)/cell/vars") || file.isGroup("\(group)/forward_layer/cell/vars") {
                let bidi = file.isGroup("\(group)/forward_layer")
                let cell = bidi ? "\(group)/forward_layer/cell/vars" : "\(group)/cell/vars"
                let s = try shape("\(cell)/0")
                guard s.count == 2, s[1] % 4 == 0, s[1] > 0 else { throw KerasError.cannotInferArchitecture("\(cell)/0 has shape \(s)") }
                recurrent.append(Found(group: group, className: bidi ? "Bidirectional" : "LSTM", units: s[1] / 4, input: s[0], useBias: file.isDataset("\(cell)/2")))
                claimed.append(group)
            } else if file.isDataset("\(group)/vars/0") || file.isDataset("\(group)/layer/vars/0") {
                let td = file.isDataset("\(group)/layer/vars/0")
                let vars = td ? "\(group)/layer/vars" : "\(group)/vars"
                let s = try shape("\(vars)/0")
                guard s.count == 2 else {
                    throw KerasError.unsupportedLayer(name: name, className: "?", reason: "its first weight has shape \(s), not a Dense kernel [in, out]; " + KerasConfig.refusalReason(""))
                }
                dense.append(Found(group: group, className: td ? "TimeDistributed" : "Dense", units: s[1], input: s[0], useBias: file.isDataset("\(vars)/1")))
                claimed.append(group)
            }
        }
        let stack = chain(recurrent.sorted(by: groupOrder), start: nil)
        let order = stack + chain(dense.sorted(by: groupOrder), start: stack.last.map(outputWidth))
        var plan = try plan(order, generation: .keras3, version: nil, modelClass: "Sequential")
        // Names carry the group path so that readWeights finds each layer where it was found.
        plan.inferredGroups = order.map(\.group)
        return plan
    }

    /// Groups that directly hold a layer's weights: `<g>/vars/0`, `<g>/cell/vars`, `<g>/layer/vars`,
    /// `<g>/forward_layer`; the optimizer's group is skipped.
    static func layerGroups(_ file: HDF5File) throws -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        for path in try KerasWeightsH5.datasets(file) where !KerasWeightsH5.isOptimizerState(path) {
            var parts = path.split(separator: "/").map(String.init)
            guard parts.count >= 3, parts[parts.count - 2] == "vars" else { continue }
            parts.removeLast(2)
            for suffix in [["cell"], ["layer"]] where parts.suffix(suffix.count).elementsEqual(suffix) { parts.removeLast(suffix.count) }
            if parts.last == "forward_layer" || parts.last == "backward_layer" { parts.removeLast() }
            let group = "/" + parts.joined(separator: "/")
            if seen.insert(group).inserted { out.append(group) }
        }
        return out
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
