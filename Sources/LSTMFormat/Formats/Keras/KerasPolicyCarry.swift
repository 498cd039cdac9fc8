import Foundation

/// Which source dtype policies the written Keras layers carry (`Spec/keras-mapping.md`, K-W6b, K-W6a).
///
/// The reader records a lower-precision policy per source layer in `keras.dtype_policy` (K-N2: float16,
/// mixed_float16, mixed_bfloat16, bfloat16). A written layer carries the policy recorded under its source name when
/// every canonical tensor of the layer has the dtype Keras keeps that policy's variables in; a layer without weights
/// always fits. What is not carried is named in K-W6a's note.
enum KerasPolicyCarry {
    /// One written layer: its source name (nil when the writer had to make a name up) and its tensors' dtypes.
    struct Layer {
        var written: String
        var source: String?
        var dtypes: Set<DType>
        /// K-N2b: a wrapper's inner layers (Bidirectional's LSTMs, TimeDistributed's Dense), each recorded as
        /// `source` (`wrapper/inner`) and written as `written` (`outer/inner`): when the wrapper has no policy of
        /// its own, an inner layer's policy goes on that inner layer only, the source's own form.
        var inner: [(written: String, source: String)] = []
        /// The inner layers can only share one policy (a legacy `.h5` Bidirectional: its backward LSTM is the
        /// forward's config).
        var innerShared = false
    }

    /// The dtype Keras keeps a policy's variables in: float32 for `mixed_*` (computed in float16 / bfloat16),
    /// else the policy's own dtype; nil for a policy this writer does not know.
    static func variableDType(_ policy: String) -> DType? {
        switch policy {
        case "mixed_float16", "mixed_bfloat16": .float32
        case "float16": .float16
        case "bfloat16": .bfloat16
        default: nil
        }
    }

    /// The dtype Keras computes a policy in ("float16" for float16 and mixed_float16, …).
    static func computeDType(_ policy: String) -> String {
        policy.hasPrefix("mixed_") ? String(policy.dropFirst("mixed_".count)) : policy
    }

    /// `keras.dtype_policy` (a JSON array of "layer: policy") as pairs, in source order.
    static func recorded(_ model: LSTMModel) -> [(layer: String, policy: String)] {
        guard let text = model.metadata["keras.dtype_policy"], !text.isEmpty,
              let entries = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return [] }
        return entries.compactMap { entry in
            guard let cut = entry.range(of: ": ", options: .backwards) else { return nil }
            return (String(entry[..<cut.lowerBound]), String(entry[cut.upperBound...]))
        }
    }

    /// K-W6b: written layer name → the policy it carries, and the recorded (layer, policy) pairs it does not carry.
    /// A recorded layer the written model has no counterpart for (an InputLayer's dtype, Dropout-style layers,
    /// folded Activations, flattened nested models) is covered when every written layer with weights carries a
    /// policy that computes in the same dtype: Keras then casts to that dtype where the source did.
    static func carry(_ recorded: [(layer: String, policy: String)], layers: [Layer],
                      weighted: Set<String>) -> (carried: [String: String], uncarried: [(layer: String, policy: String)]) {
        let bySource = Dictionary(recorded.map { ($0.layer, $0.policy) }, uniquingKeysWith: { a, _ in a })
        var carried: [String: String] = [:]
        var placed: Set<String> = [], covered: Set<String> = []
        for layer in layers {
            let own = layer.source.flatMap { bySource[$0] }
            let innerPolicies = layer.inner.map { bySource[$0.source] }
            let keys = ([layer.source].compactMap { $0 } + layer.inner.map(\.source)).filter { bySource[$0] != nil }
            guard !keys.isEmpty else { continue }
            placed.formUnion(keys)
            // Where the policies go: the layer's own on the layer (and its inner layers); with none of its own, each
            // inner layer's on that inner layer only (K-N2b). Inner policies that differ from the layer's own, or from
            // each other where they can only be one, are not carried (K-W6a).
            var placements: [(key: String, policy: String)] = []
            if let own {
                if innerPolicies.allSatisfy({ $0 == nil || $0 == own }) { placements = [(layer.written, own)] }
            } else if !layer.innerShared || Set(innerPolicies.map { $0 ?? "" }).count == 1 {
                placements = zip(layer.inner, innerPolicies).compactMap { inner, p in p.map { (inner.written, $0) } }
            }
            // A legacy .h5 never gets here with bfloat16 tensors (K-W1 refuses them), so bfloat16 is never carried there.
            guard !placements.isEmpty, placements.allSatisfy({ p in variableDType(p.policy).map { v in layer.dtypes.allSatisfy { $0 == v } } ?? false })
            else { continue }
            for p in placements { carried[p.key] = p.policy }
            covered.formUnion(keys)
        }
        let computes = Set(layers.filter { weighted.contains($0.written) }
            .map { l in (carried[l.written] ?? l.inner.lazy.compactMap { carried[$0.written] }.first).map(computeDType) ?? "" })
        let uncarried = recorded.filter { entry in
            if placed.contains(entry.layer) { return !covered.contains(entry.layer) }
            return computes != [computeDType(entry.policy)]
        }
        return (carried, uncarried)
    }
}
