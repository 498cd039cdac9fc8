/// Orders the layers of a functional model's config into a straight chain, or refuses it
/// (`Spec/keras-mapping.md`, K-C3).
extension KerasConfig {
    static func chainOrder(_ entries: [[String: Any]], config: [String: Any]) throws -> [[String: Any]] {
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
        for name in order {
            let nodes = byName[name]?["inbound_nodes"] as? [Any] ?? []
            if nodes.count > 1 {
                throw KerasError.notAChain(layer: name, reason: "the layer is called \(nodes.count) times")
            }
            var sources: [String] = []
            for node in nodes { collectHistory(node, into: &sources) }
            inbound[name] = sources
        }
        let inputs = layerNames(config["input_layers"])
        let outputs = layerNames(config["output_layers"])
        guard inputs.count <= 1 else { throw KerasError.notAChain(layer: inputs.joined(separator: ", "), reason: "the model has \(inputs.count) inputs") }
        guard outputs.count <= 1 else { throw KerasError.notAChain(layer: outputs.joined(separator: ", "), reason: "the model has \(outputs.count) outputs") }
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
        if let out = outputs.first, out != current {
            throw KerasError.notAChain(layer: out, reason: "the output layer is not the end of the chain")
        }
        return chain.compactMap { byName[$0] }
    }

    /// Layer names a node refers to: Keras 2 nodes are `[[name, node, tensor, kwargs], …]`, Keras 3 nodes are
    /// `{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, tensor]}}]}`.
    private static func collectHistory(_ value: Any, into names: inout [String]) {
        if let dict = value as? [String: Any] {
            if let history = dict["keras_history"] as? [Any], let n = history.first as? String {
                names.append(n)
                return
            }
            // A `mask` keyword names the mask computation (checked by `droppingMaskNodes`), not a data input.
            for key in dict.keys.sorted() where key != "mask" { collectHistory(dict[key] as Any, into: &names) }
        } else if let list = value as? [Any] {
            if list.count >= 3, let n = list.first as? String, list[1] is Int {
                names.append(n)
                return
            }
            for item in list { collectHistory(item, into: &names) }
        }
    }

    /// `[["inp", 0, 0]]` or `["inp", 0, 0]` → ["inp"].
    private static func layerNames(_ value: Any?) -> [String] {
        guard let list = value as? [Any] else { return [] }
        if let n = list.first as? String { return [n] }
        return list.compactMap { ($0 as? [Any])?.first as? String }
    }
}
