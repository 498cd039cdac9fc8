import Foundation

/// Keras 3 functional configs record how a mask is computed as op nodes beside the chain: `Embedding(mask_zero)`
/// adds `NotEqual(input, 0)`, `Masking(v)` adds `NotEqual(input, v)` → `Any(axis=-1)`, and every LSTM that gets
/// the mask names that node in its `mask` keyword (`Spec/keras-mapping.md`, K-E3). These nodes compute exactly
/// the mask of M18, so they are dropped; any other op node, or a `mask` keyword naming anything else, is refused.
extension KerasConfig {
    static func droppingMaskNodes(_ entries: [[String: Any]]) throws -> [[String: Any]] {
        func name(_ e: [String: Any]) -> String { layerName(e) }
        func node(_ e: [String: Any]) -> [String: Any]? { (e["inbound_nodes"] as? [Any])?.first as? [String: Any] }
        func args(_ e: [String: Any]) -> [Any] { node(e)?["args"] as? [Any] ?? [] }
        func source(_ arg: Any?) -> String? {
            ((arg as? [String: Any])?["config"] as? [String: Any]).flatMap { ($0["keras_history"] as? [Any])?.first as? String }
        }
        func number(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }
        var maskProducers: Set<String> = []
        var dropped: Set<String> = []
        for e in entries where e["class_name"] as? String == "NotEqual" {
            let a = args(e)
            guard a.count == 2, let input = source(a[0]), let value = number(a[1]) else { continue }
            // Embedding(mask_zero) on the same input, value 0.
            let embedding = entries.contains { other in
                other["class_name"] as? String == "Embedding" && source(args(other).first) == input
                    && ((other["config"] as? [String: Any])?["mask_zero"] as? Bool ?? false) && value == 0
            }
            if embedding { maskProducers.insert(name(e)); dropped.insert(name(e)); continue }
            // Masking(v) on the same input, followed by Any(axis=-1) over this node.
            let masking = entries.contains { other in
                other["class_name"] as? String == "Masking" && source(args(other).first) == input
                    && number((other["config"] as? [String: Any])?["mask_value"] ?? 0.0) == value
            }
            guard masking else { continue }
            for any in entries where any["class_name"] as? String == "Any" && source(args(any).first) == name(e) {
                let cfg = any["config"] as? [String: Any] ?? [:]
                guard (cfg["axis"] as? Int) == -1, !((cfg["keepdims"] as? Bool) ?? false) else { continue }
                dropped.formUnion([name(e), name(any)])
                maskProducers.insert(name(any))
            }
        }
        // Every `mask` keyword must name a recognised mask node.
        for e in entries {
            for n in (e["inbound_nodes"] as? [Any]) ?? [] {
                guard let kwargs = (n as? [String: Any])?["kwargs"] as? [String: Any], let m = kwargs["mask"], !(m is NSNull) else { continue }
                guard let producer = source(m), maskProducers.contains(producer) else {
                    throw KerasError.notAChain(layer: name(e), reason: "its mask comes from '\(source(m) ?? "?")', not from an Embedding(mask_zero) or Masking layer")
                }
            }
        }
        return entries.filter { !dropped.contains(name($0)) }
    }
}
