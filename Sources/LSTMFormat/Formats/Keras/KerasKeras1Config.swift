import Foundation

/// Keras 1 layer configs in Keras 2 terms, as Keras 2.0's legacy interfaces converted them when loading
/// Keras 1 models (`keras/legacy/interfaces.py`: `legacy_recurrent_support`, `legacy_dense_support`,
/// `legacy_dropout_support`; `Spec/keras-mapping.md`, K-K2).
enum KerasKeras1Config {
    /// Keras 1 → Keras 2 option names, per layer class.
    static let recurrent = [("output_dim", "units"), ("inner_activation", "recurrent_activation"),
                            ("dropout_W", "dropout"), ("dropout_U", "recurrent_dropout")]
    static let dense = [("output_dim", "units"), ("bias", "use_bias")]
    static let dropout = [("p", "rate")]

    /// Whether a layer entry uses Keras 1 option names (`output_dim` where Keras 2 has `units`).
    static func isKeras1(_ entry: [String: Any]) -> Bool {
        guard let cfg = entry["config"] as? [String: Any] else { return false }
        return cfg["output_dim"] != nil && cfg["units"] == nil
    }

    /// The entry with Keras 2 option names; wrappers (Bidirectional, TimeDistributed) are upgraded inside.
    static func upgrade(_ entry: [String: Any]) -> [String: Any] {
        guard var cfg = entry["config"] as? [String: Any] else { return entry }
        let className = entry["class_name"] as? String ?? ""
        let renames: [(String, String)] = switch className {
        case "LSTM", "GRU", "SimpleRNN": recurrent
        case "Dense": dense
        case "Dropout", "SpatialDropout1D", "GaussianDropout": dropout
        default: []
        }
        for (old, new) in renames where cfg[old] != nil && cfg[new] == nil {
            cfg[new] = cfg.removeValue(forKey: old)
        }
        if className == "LSTM", cfg["recurrent_activation"] == nil {
            cfg["recurrent_activation"] = "hard_sigmoid"  // Keras 1's inner_activation default
        }
        if let inner = cfg["layer"] as? [String: Any] { cfg["layer"] = upgrade(inner) }
        var out = entry
        out["config"] = cfg
        return out
    }
}
