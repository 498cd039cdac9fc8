import Foundation

/// The effective dtype policy of every source layer a written layer stands for (`Spec/keras-mapping.md`, K-W6c):
/// the reader sets `KerasLayerPlan.policies` per config entry and records them in `keras.layer_policies` when the
/// model has any lower-precision policy (K-N2); the writers read them back (`KerasPolicyCarry`).
enum KerasLayerPolicies {
    /// The metadata key: a JSON object from role (`lstm.{k}`, `lstm.{k}.forward`, `.backward`, `.cell`, `dense.{j}`,
    /// `dense.{j}.time_distributed`, `dense.{j}.activation`, `embedding`, `masking`, and `cast.{layer name}` for a
    /// Dropout-style or linear Activation layer, which is not written but casts, K-W6e) to `{"layer", "policy"}`.
    static let key = "keras.layer_policies"

    /// A config's effective policy: its `dtype` (K-N2's `policyName`), float32 when absent (what Keras builds then).
    static func effective(_ cfg: [String: Any]) -> String { KerasInferenceNotes.policyName(cfg) ?? "float32" }

    /// Sets the policies of the plan layers one config entry became: the layer's own ("") for every layer class with
    /// a written counterpart, and its inner layers' (`KerasInferenceNotes.innerConfigs`) under their roles.
    static func assign(_ layers: inout [KerasLayerPlan], className: String, cfg: [String: Any], name: String) {
        let own = KerasSourcePolicy(layer: name, policy: effective(cfg))
        let inner = KerasInferenceNotes.innerConfigs(of: className, cfg)
        switch className {
        case "LSTM", "CuDNNLSTM", "Dense", "Embedding", "Masking", "Activation":
            for i in layers.indices { layers[i].policies[""] = own }
        case "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout":
            // K-W6e: the identity at inference, not written, but Keras still casts its input to its compute dtype.
            for i in layers.indices { layers[i].policies[""] = own }
        case "Bidirectional":
            guard let i = layers.indices.first, case .bidirectional(let f, let b, _) = layers[i].kind else { return }
            layers[i].policies[""] = own
            for (role, config) in inner {
                layers[i].policies[role] = KerasSourcePolicy(layer: "\(name)/\(role == "forward" ? f.name : b.name)", policy: effective(config))
            }
        case "TimeDistributed":
            guard let i = layers.indices.first, let (_, config) = inner.first else { return }
            layers[i].policies[""] = KerasSourcePolicy(layer: "\(name)/\(config["name"] as? String ?? "dense")", policy: effective(config))
            layers[i].policies["time_distributed"] = own
        case "RNN":
            // One LSTMCell: the cell under the RNN's name (K-N2b); StackedRNNCells: each cell under its own name.
            for (i, (role, config)) in zip(layers.indices, inner) {
                layers[i].policies[""] = own
                layers[i].policies["cell"] = KerasSourcePolicy(layer: role == "stacked" ? layers[i].name : name, policy: effective(config))
            }
        default:
            break
        }
    }

    /// The metadata entries of one weighted or masking plan layer, `prefix` its role (`lstm.0`, `dense.1`, `embedding`).
    static func entries(_ layer: KerasLayerPlan, prefix: String) -> [String: KerasSourcePolicy] {
        Dictionary(uniqueKeysWithValues: layer.policies.map { role, p in (role.isEmpty ? prefix : "\(prefix).\(role)", p) })
    }

    /// The JSON of `keras.layer_policies`.
    static func json(_ policies: [String: KerasSourcePolicy]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(policies)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// `keras.layer_policies` of a model, nil when absent or unreadable.
    static func recorded(_ model: LSTMModel) -> [String: KerasSourcePolicy]? {
        guard let text = model.metadata[key] else { return nil }
        return try? JSONDecoder().decode([String: KerasSourcePolicy].self, from: Data(text.utf8))
    }
}
