import Foundation

/// Orders the layers of a functional model's config into a straight chain, or refuses it
/// (`Spec/keras-mapping.md`, K-C3, K-C9).
extension KerasConfig {
    /// A layer of the chain and how it was called: `training` is the call's `training` argument when given.
    struct ChainLink {
        var entry: [String: Any]
        var training: Bool?
    }

    /// One input a node reads: the producing layer and which of its output tensors (0 = the main output;
    /// 1, 2 = the h and c states of a layer with return_state=True).
    struct TensorRef: Equatable {
        var layer: String
        var tensor: Int
    }

    static func chainOrder(_ entries: [[String: Any]], config: [String: Any]) throws -> [ChainLink] {
        var byName: [String: [String: Any]] = [:]
        var order: [String] = []
        for entry in entries {
            let cfg = entry["config"] as? [String: Any] ?? [:]
            guard let name = entry["name"] as? String ?? cfg["name"] as? String else {
                throw KerasError.invalidConfig("a functional layer has no name")
            }
            byName[name] = entry
            order.append(name)
        }
        var inbound: [String: [String]] = [:]
        var training: [String: Bool] = [:]
        for name in order {
            let nodes = byName[name]?["inbound_nodes"] as? [Any] ?? []
            if nodes.count > 1 {
                throw KerasError.notAChain(layer: name, reason: "the layer is called \(nodes.count) times")
            }
            var sources: [TensorRef] = []
            for node in nodes {
                collectHistory(node, into: &sources)
                if let t = trainingArgument(node) { training[name] = t }
            }
            if let state = sources.first(where: { $0.tensor != 0 }) {
                throw KerasError.unsupportedOption(layer: name, className: byName[name]?["class_name"] as? String ?? "?", option: "input",
                                                   value: "state output \(state.tensor) of '\(state.layer)'",
                                                   reason: "it reads an LSTM state returned by return_state=True; the canonical model passes on only the LSTM's output sequence")
            }
            inbound[name] = sources.map(\.layer)
        }
        let inputs = layerRefs(config["input_layers"])
        let outputs = layerRefs(config["output_layers"])
        guard inputs.count <= 1 else { throw KerasError.notAChain(layer: inputs.map(\.layer).joined(separator: ", "), reason: "the model has \(inputs.count) inputs") }
        guard outputs.count <= 1 else {
            let states = outputs.filter { $0.tensor != 0 }
            if let s = states.first {
                throw KerasError.unsupportedOption(layer: s.layer, className: byName[s.layer]?["class_name"] as? String ?? "?", option: "return_state", value: "true",
                                                   reason: "the model outputs the layer's states; the canonical model returns only the output sequence")
            }
            throw KerasError.notAChain(layer: outputs.map(\.layer).joined(separator: ", "), reason: "the model has \(outputs.count) outputs")
        }
        let roots = order.filter { inbound[$0]?.isEmpty ?? true }
        guard roots.count == 1, let root = roots.first else {
            throw KerasError.notAChain(layer: roots.joined(separator: ", "), reason: "\(roots.count) layers take no input from another layer")
        }
        var chain = [root]
        var current = root
        while true {
            let next = order.filter { inbound[$0]?.contains(current) ?? false }
            if next.isEmpty { break }
            guard next.count == 1, let n = next.first else {
                throw KerasError.notAChain(layer: current, reason: "its output feeds \(next.joined(separator: ", "))")
            }
            guard inbound[n] == [current] else {
                throw KerasError.notAChain(layer: n, reason: "it takes inputs from \(inbound[n]?.joined(separator: ", ") ?? "")")
            }
            chain.append(n)
            current = n
        }
        if chain.count != order.count {
            let stray = order.first { !chain.contains($0) } ?? "?"
            throw KerasError.notAChain(layer: stray, reason: "the layer is not on the path from the input to the output")
        }
        if let out = outputs.first, out.layer != current {
            throw KerasError.notAChain(layer: out.layer, reason: "the output layer is not the end of the chain")
        }
        return chain.compactMap { n in byName[n].map { ChainLink(entry: $0, training: training[n]) } }
    }

    /// K-C9: an LSTM whose initial state comes from other layers (`initial_state=` in Keras 3 call kwargs, or
    /// extra inbound tensors / `initial_state` kwargs in Keras 2) is refused for that reason, before the classes
    /// of the layers that compute the state are judged.
    static func checkStates(_ entries: [[String: Any]]) throws {
        for entry in entries {
            let className = entry["class_name"] as? String ?? "?"
            guard ["LSTM", "RNN", "CuDNNLSTM", "Bidirectional"].contains(className) else { continue }
            let name = layerName(entry)
            for node in entry["inbound_nodes"] as? [Any] ?? [] {
                var sources: [TensorRef] = []
                collectHistory(node, into: &sources)
                var stateSources: [TensorRef] = []
                if let state = findKey("initial_state", in: node) { collectHistory(state, into: &stateSources) }
                let hasStateKwarg = findKey("initial_state", in: node) != nil
                if hasStateKwarg || sources.count > 1 {
                    let from = (stateSources.isEmpty ? Array(sources.dropFirst()) : stateSources).map(\.layer)
                    throw KerasError.unsupportedOption(layer: name, className: className, option: "initial_state",
                                                       value: from.isEmpty ? "given" : "from \(from.joined(separator: ", "))",
                                                       reason: "initial states fed from other layers are not supported; the canonical model starts every sequence from zero state")
                }
            }
        }
    }

    private static func findKey(_ key: String, in value: Any) -> Any? {
        if let dict = value as? [String: Any] {
            if let v = dict[key], !(v is NSNull) { return v }
            for k in dict.keys.sorted() { if let v = findKey(key, in: dict[k] as Any) { return v } }
        } else if let list = value as? [Any] {
            for item in list { if let v = findKey(key, in: item) { return v } }
        }
        return nil
    }

    /// The `training` argument of a call: Keras 3 `{"kwargs": {"training": true}}`, Keras 2
    /// `[["lstm", 0, 0, {"training": true}]]`.
    private static func trainingArgument(_ node: Any) -> Bool? {
        if let dict = node as? [String: Any] {
            return (dict["kwargs"] as? [String: Any])?["training"] as? Bool
        }
        if let list = node as? [Any] {
            for item in list {
                if let call = item as? [Any], call.count >= 4, let kwargs = call[3] as? [String: Any], let t = kwargs["training"] as? Bool { return t }
            }
        }
        return nil
    }

    /// Tensors a node refers to: Keras 2 nodes are `[[name, node, tensor, kwargs], …]`, Keras 3 nodes are
    /// `{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}]}`.
    /// Keras 2 kwargs (the 4th element) are not inputs of the chain and are not searched.
    static func collectHistory(_ value: Any, into refs: inout [TensorRef]) {
        if let dict = value as? [String: Any] {
            if let history = dict["keras_history"] as? [Any], let n = history.first as? String {
                refs.append(TensorRef(layer: n, tensor: history.count > 2 ? history[2] as? Int ?? 0 : 0))
                return
            }
            // A `mask` keyword names the mask computation (checked by `droppingMaskNodes`), not a data input;
            // `initial_state` is checked by `checkStates`.
            for key in dict.keys.sorted() where key != "mask" && key != "initial_state" { collectHistory(dict[key] as Any, into: &refs) }
        } else if let list = value as? [Any] {
            if list.count >= 3, let n = list.first as? String, list[1] is Int {
                refs.append(TensorRef(layer: n, tensor: list[2] as? Int ?? 0))
                return
            }
            for item in list { collectHistory(item, into: &refs) }
        }
    }

    /// `[["inp", 0, 0]]` or `["inp", 0, 0]` → [("inp", 0)].
    private static func layerRefs(_ value: Any?) -> [TensorRef] {
        guard let list = value as? [Any] else { return [] }
        if let n = list.first as? String { return [TensorRef(layer: n, tensor: list.count > 2 ? list[2] as? Int ?? 0 : 0)] }
        return list.compactMap { item in
            guard let l = item as? [Any], let n = l.first as? String else { return nil }
            return TensorRef(layer: n, tensor: l.count > 2 ? l[2] as? Int ?? 0 : 0)
        }
    }
}
