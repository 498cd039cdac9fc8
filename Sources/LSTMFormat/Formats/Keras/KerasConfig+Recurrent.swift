import Foundation

/// LSTM-like layers of a Keras config: `LSTM`, `CuDNNLSTM`, `RNN(LSTMCell)` and `RNN(StackedRNNCells)`
/// (`Spec/keras-mapping.md`, K-C2, K-C7, K-C8).
extension KerasConfig {
    static func parseLSTM(_ cfg: [String: Any], name: String, className: String, generation: KerasGeneration) throws -> KerasLSTMConfig {
        for option in ["stateful", "time_major"] where try flag(cfg, option, layer: name, default: false) {
            let reason = option == "time_major"
                ? "the layer reads its input as [steps, batch, features]; the canonical model reads [batch, steps, features]. The weights are the same: rebuild the model with time_major=False (or without it), load these weights, and save it again"
                : "the canonical model starts every sequence from zero state and returns only h"
            throw KerasError.unsupportedOption(layer: name, className: className, option: option, value: "true", reason: reason)
        }
        // return_state=True is accepted here; the functional graph check refuses any use of the states (K-C9).
        guard let units = cfg["units"] as? Int, units > 0 else { throw KerasError.invalidConfig("layer '\(name)': units missing or not positive") }
        let cudnn = className == "CuDNNLSTM"
        let gateDefault = KerasDefaults.recurrentActivation(generation)
        return KerasLSTMConfig(
            name: name, units: units,
            activation: cudnn ? .tanh : try activation(cfg["activation"] ?? "tanh", place: "layer '\(name)' (\(className)) activation", generation: generation),
            recurrentActivation: cudnn ? .sigmoid : try activation(cfg["recurrent_activation"] ?? gateDefault, place: "layer '\(name)' (\(className)) recurrent_activation", generation: generation),
            useBias: cudnn ? true : try flag(cfg, "use_bias", layer: name, default: true),
            goBackwards: try flag(cfg, "go_backwards", layer: name, default: false),
            returnSequences: try flag(cfg, "return_sequences", layer: name, default: false),
            cudnn: cudnn,
            zeroOutputForMask: try flag(cfg, "zero_output_for_mask", layer: name, default: false))
    }

    /// `RNN(LSTMCell(...))` is an LSTM layer; `RNN(StackedRNNCells([LSTMCell, ...]))` is a stack of LSTM layers,
    /// each cell reading the previous cell's output at the same step, exactly as stacked LSTM layers with
    /// return_sequences=True do (K-C7). The RNN's options apply to the (last) cell.
    static func parseRNN(_ cfg: [String: Any], name: String, generation: KerasGeneration, scope: [KerasScope]) throws -> [KerasLayerPlan] {
        let cell = cfg["cell"] as? [String: Any] ?? [:]
        let cellClass = cell["class_name"] as? String ?? "?"
        var rnn = cfg
        rnn.removeValue(forKey: "cell")
        func lstm(_ cellEntry: [String: Any], returnSequences: Bool) throws -> KerasLSTMConfig {
            let cls = cellEntry["class_name"] as? String ?? "?"
            guard cls == "LSTMCell" else {
                throw KerasError.unsupportedLayer(name: name, className: "RNN(\(cls))", reason: refusalReason(cls))
            }
            var merged = cellEntry["config"] as? [String: Any] ?? [:]
            for key in ["stateful", "time_major", "go_backwards"] { merged[key] = rnn[key] }
            merged["return_sequences"] = returnSequences
            var c = try parseLSTM(merged, name: merged["name"] as? String ?? "lstm_cell", className: "RNN(LSTMCell)", generation: generation)
            c.name = name
            return c
        }
        let returnSequences = try flag(cfg, "return_sequences", layer: name, default: false)
        switch cellClass {
        case "LSTMCell":
            return [KerasLayerPlan(name: name, className: "RNN", kind: .lstm(try lstm(cell, returnSequences: returnSequences)), scope: scope)]
        case "StackedRNNCells":
            let cells = (cell["config"] as? [String: Any])?["cells"] as? [[String: Any]] ?? []
            guard !cells.isEmpty else { throw KerasError.invalidConfig("layer '\(name)': StackedRNNCells without cells") }
            if cells.count > 1, try flag(cfg, "go_backwards", layer: name, default: false) {
                throw KerasError.unsupportedOption(layer: name, className: "RNN(StackedRNNCells)", option: "go_backwards", value: "true",
                                                   reason: "stacked cells read the reversed sequence together; stacked backward layers would reverse it again between layers")
            }
            let stack = scope + [KerasScope(name: name, className: "RNN", kind: .stackedCells)]
            return try cells.enumerated().map { k, entry in
                var c = try lstm(entry, returnSequences: k == cells.count - 1 ? returnSequences : true)
                c.name = (entry["config"] as? [String: Any])?["name"] as? String ?? "lstm_cell"
                return KerasLayerPlan(name: c.name, className: "LSTMCell", kind: .lstm(c), scope: stack)
            }
        default:
            throw KerasError.unsupportedLayer(name: name, className: "RNN(\(cellClass))", reason: refusalReason(cellClass))
        }
    }
}

/// Defaults of LSTM options that a file may leave out, by the Keras version that wrote it (K-D1).
enum KerasDefaults {
    /// LSTM's default gate activation: `hard_sigmoid` in Keras 1 (`inner_activation`) and Keras 2 before 2.3.0,
    /// `sigmoid` from Keras 2.3.0 (release notes: "Change default recurrent activation to sigmoid (from
    /// hard_sigmoid) in all RNN layers") and in tf.keras 2.x and Keras 3.
    static func recurrentActivation(_ generation: KerasGeneration, version: String? = nil) -> String {
        switch generation {
        case .keras1: return "hard_sigmoid"
        case .keras3: return "sigmoid"
        case .keras2:
            guard let v = version, !v.hasSuffix("-tf") else { return "sigmoid" }
            let parts = v.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
            return parts.count == 2 && parts[0] == 2 && parts[1] < 3 ? "hard_sigmoid" : "sigmoid"
        }
    }
}
