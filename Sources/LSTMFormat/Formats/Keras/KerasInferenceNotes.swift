import Foundation

/// What a Keras config says about inference that the canonical model does not carry: dropout left on at
/// inference and lower-precision dtype policies (`Spec/keras-mapping.md`, K-N1, K-N2). The reader turns these
/// into notes and metadata (`KerasPlanNotes`).
enum KerasInferenceNotes {
    /// Dtype policies whose compute dtype is lower than float32.
    static let lowPrecisionPolicies: Set<String> = ["mixed_float16", "float16", "mixed_bfloat16", "bfloat16"]

    /// Records a layer's dtype policy (`"dtype": {"class_name": "DTypePolicy" | "Policy", "config": {"name": …}}`,
    /// or a plain dtype string) when it computes in lower precision.
    static func policy(_ cfg: [String: Any], layer: String, notes: inout KerasPlanNotes) {
        if let name = policyName(cfg), lowPrecisionPolicies.contains(name) { notes.dtypePolicies.append((layer, name)) }
    }

    /// A config's dtype policy name (a `DTypePolicy` / `Policy` object's `config.name`, or a plain dtype string).
    static func policyName(_ cfg: [String: Any]) -> String? {
        switch cfg["dtype"] {
        case let s as String: s
        case let d as [String: Any]: (d["config"] as? [String: Any])?["name"] as? String
        default: nil
        }
    }

    /// A wrapper's inner layer configs by role (K-N2b, K-W6c): a Bidirectional's "forward" (`layer`) and "backward"
    /// (`backward_layer`; without it Keras copies the forward config, policy included), a TimeDistributed's "layer",
    /// an RNN's "cell", or one "stacked" entry per cell of a `StackedRNNCells`. Empty for other layers.
    static func innerConfigs(of className: String, _ cfg: [String: Any]) -> [(role: String, config: [String: Any])] {
        func config(_ key: String, in c: [String: Any]) -> [String: Any]? { (c[key] as? [String: Any])?["config"] as? [String: Any] }
        switch className {
        case "Bidirectional":
            guard let forward = config("layer", in: cfg) else { return [] }
            return [("forward", forward), ("backward", config("backward_layer", in: cfg) ?? forward)]
        case "TimeDistributed":
            return config("layer", in: cfg).map { [("layer", $0)] } ?? []
        case "RNN":
            guard let cell = cfg["cell"] as? [String: Any] else { return [] }
            if cell["class_name"] as? String == "StackedRNNCells" {
                return (config("cell", in: cfg)?["cells"] as? [[String: Any]] ?? []).compactMap { $0["config"] as? [String: Any] }.map { ("stacked", $0) }
            }
            return (cell["config"] as? [String: Any]).map { [("cell", $0)] } ?? []
        default:
            return []
        }
    }

    /// K-N2b: the lower-precision policies of a wrapper's inner layers that differ from the wrapper's own, recorded
    /// under `wrapper/inner` (Bidirectional's forward and backward LSTM, TimeDistributed's layer), the RNN's name
    /// (one `LSTMCell`) or the cell's name (`StackedRNNCells`). `forward` / `backward` are the Bidirectional's inner
    /// LSTM names as the plan has them.
    static func innerPolicies(_ className: String, _ cfg: [String: Any], layer: String,
                              lstmNames: (forward: String, backward: String)?, notes: inout KerasPlanNotes) {
        let own = policyName(cfg)
        for (role, inner) in innerConfigs(of: className, cfg) {
            guard let p = policyName(inner), lowPrecisionPolicies.contains(p), p != own else { continue }
            switch role {
            case "forward", "backward":
                guard let names = lstmNames else { return }
                notes.dtypePolicies.append(("\(layer)/\(role == "forward" ? names.forward : names.backward)", p))
            case "layer":
                let key = "\(layer)/\(inner["name"] as? String ?? "dense")"
                notes.dtypePolicies.append((key, p))
                notes.timeDistributedInner.append((key, own ?? "float32"))
            case "stacked":
                notes.dtypePolicies.append((inner["name"] as? String ?? "lstm_cell", p))
            default:
                notes.dtypePolicies.append((layer, p))
            }
        }
    }

    /// A layer called with training=True: dropout-style layers and LSTM dropout / recurrent_dropout are
    /// random at inference (Monte-Carlo dropout).
    static func trainingCall(_ entry: [String: Any], notes: inout KerasPlanNotes) {
        let className = entry["class_name"] as? String ?? "?"
        let cfg = entry["config"] as? [String: Any] ?? [:]
        let name = KerasConfig.layerName(entry)
        func number(_ key: String) -> Double { (cfg[key] as? NSNumber)?.doubleValue ?? 0 }
        switch className {
        case "Dropout", "SpatialDropout1D", "GaussianDropout", "AlphaDropout":
            notes.inferenceDropout.append((name, "\(className)(rate=\(number("rate")))"))
        case "GaussianNoise":
            notes.inferenceDropout.append((name, "GaussianNoise(stddev=\(number("stddev")))"))
        case "LSTM", "RNN", "Bidirectional":
            // The LSTM's own config, else the wrapped LSTM's or the cells' (innerConfigs).
            for inner in [cfg] + innerConfigs(of: className, cfg).map(\.config) {
                let d = (inner["dropout"] as? NSNumber)?.doubleValue ?? 0, r = (inner["recurrent_dropout"] as? NSNumber)?.doubleValue ?? 0
                guard d > 0 || r > 0 else { continue }
                notes.inferenceDropout.append((name, "\(className)(dropout=\(d), recurrent_dropout=\(r))"))
                break
            }
        default:
            break
        }
    }

    /// The notes a reader prints (one line each) for a plan.
    static func messages(_ notes: KerasPlanNotes) -> [String] {
        var out: [String] = []
        if !notes.inferenceDropout.isEmpty {
            let list = notes.inferenceDropout.map { "'\($0.layer)' (\($0.what))" }.joined(separator: ", ")
            out.append("dropout is active at inference (called with training=True) in \(list): Keras's predictions are random there "
                       + "(tf_keras applies it in predict; Keras 3's predict does not); the converted model is the deterministic, "
                       + "expected-value version (dropout as identity)")
        }
        if !notes.dtypePolicies.isEmpty {
            let policies = Array(Set(notes.dtypePolicies.map(\.policy))).sorted().joined(separator: ", ")
            let list = notes.dtypePolicies.map { "'\($0.layer)' (\($0.policy))" }.joined(separator: ", ")
            out.append("dtype policy \(policies) on \(list): Keras computes these layers in lower precision (about 1e-3 relative from "
                       + "float32 arithmetic, 1e-2 for bfloat16); the weights convert exactly and lstm-format computes in float32/float64, "
                       + "so compare with Keras's own predictions at a relative tolerance of about 1e-2 (README: precision policies)")
        }
        for (layer, wrapper) in notes.timeDistributedInner {
            out.append("'\(layer)': the policy is on the layer inside a TimeDistributed whose own policy is \(wrapper); Keras 3's "
                       + "TimeDistributed calls that layer without the policy's casting and computes it in "
                       + "\(KerasPolicyCarry.computeDType(wrapper)) (the wrapper's), tf_keras computes it in the policy (K-N2b)")
        }
        return out
    }

    /// Tells the user every note of `plan` through `options.warn`, one line each.
    static func report(_ plan: KerasModelPlan, options: ReadOptions) {
        for message in messages(plan.notes) { options.warn(message) }
    }

    /// Metadata keys recording the notes (M16).
    static func metadata(_ notes: KerasPlanNotes) -> [String: String] {
        var out: [String: String] = [:]
        if !notes.inferenceDropout.isEmpty {
            out["keras.inference_dropout"] = KerasModelBuilder.jsonArray(notes.inferenceDropout.map { "\($0.layer): \($0.what)" })
        }
        if !notes.dtypePolicies.isEmpty {
            out["keras.dtype_policy"] = KerasModelBuilder.jsonArray(notes.dtypePolicies.map { "\($0.layer): \($0.policy)" })
        }
        if !notes.rewrites.isEmpty {
            out["keras.rewrites"] = KerasModelBuilder.jsonArray(notes.rewrites.map { "\($0.layer): \($0.what)" })
        }
        if !notes.assumedDefaults.isEmpty {
            out["keras.assumed_defaults"] = KerasModelBuilder.jsonArray(notes.assumedDefaults)
        }
        return out
    }
}

/// Folding of standalone `Activation` layers into the Dense before them (`Spec/keras-mapping.md`, K-C5).
enum KerasLayerFolding {
    static func foldActivations(_ layers: [KerasLayerPlan], notes: inout KerasPlanNotes) throws -> [KerasLayerPlan] {
        var out: [KerasLayerPlan] = []
        for layer in layers {
            guard case .activation(let act) = layer.kind else { out.append(layer); continue }
            if act == .linear {  // the identity, which still casts to its policy's compute dtype (K-W6e)
                var identity = KerasLayerPlan(name: layer.name, className: layer.className, kind: .passThrough, scope: layer.scope)
                identity.policies[""] = layer.policies[""]
                out.append(identity)
                continue
            }
            // Dropout-style layers between are the identity at inference; look through them.
            guard let k = out.lastIndex(where: { $0.hasWeights }) else {
                throw KerasError.unsupportedLayer(name: layer.name, className: "Activation", reason: "an Activation before any LSTM layer changes the input; the canonical model applies activations only inside LSTM cells and Dense heads")
            }
            let previous = out[k]
            guard case .dense(var dense) = previous.kind else {
                throw KerasError.unsupportedLayer(name: layer.name, className: "Activation",
                    reason: "it follows the \(previous.className) layer '\(previous.name)'; the canonical model has no activation between an LSTM's output and the next layer, and only an Activation right after a Dense with linear activation can be folded into that Dense")
            }
            guard dense.activation == .linear else {
                throw KerasError.unsupportedLayer(name: layer.name, className: "Activation",
                    reason: "it follows the Dense layer '\(previous.name)', which already has activation \(dense.activation.rawValue); two activations in a row cannot be folded into one Dense")
            }
            dense.activation = act
            out[k].kind = .dense(dense)
            out[k].policies["activation"] = layer.policies[""]  // K-W6c: the Activation computed in its own policy
            out.append(KerasLayerPlan(name: layer.name, className: layer.className, kind: .passThrough, scope: layer.scope))
            notes.rewrites.append((layer.name, "Activation(\(act.rawValue)) folded into Dense '\(previous.name)'"))
        }
        return out
    }
}
