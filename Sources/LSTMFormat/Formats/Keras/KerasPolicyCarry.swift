import Foundation

/// Which source dtype policies the written Keras layers carry (`Spec/keras-mapping.md`, K-W6b, K-W6c, K-W6a).
///
/// The reader records the effective policy of every source layer a written layer stands for (`keras.layer_policies`,
/// K-W6c) and the lower-precision ones of every layer (`keras.dtype_policy`, K-N2). Each written config object (a
/// layer, a wrapper, a wrapper's inner layer) carries the lower-precision policy of the source layer it stands for
/// when its tensors have the dtype Keras keeps that policy's variables in; where it stands for two source layers
/// (an RNN and its cell, a legacy `.h5` Bidirectional's LSTMs) only when they compute alike. What is not carried is
/// named in K-W6a's note.
enum KerasPolicyCarry {
    /// One written config object: `key` is how the writer looks it up (the layer's name, `outer/inner` for a wrapper's
    /// inner layer), `roles` the `keras.layer_policies` roles it stands for (wrapper first), `dtypes` its tensors'.
    struct Object {
        var key: String
        var roles: [String]
        var dtypes: Set<DType> = []
        /// Where one config stands for several source layers' tensors (a legacy `.h5` Bidirectional's one LSTM config
        /// for both directions), each role's own tensor dtypes; a role not listed has `dtypes`. K-W6a names a layer's
        /// weights rounded only by its own tensors.
        var roleDTypes: [String: Set<DType>] = [:]
        /// Computes with weights (an LSTM, Dense or Embedding).
        var weighted = false
        /// `roles[0]` is an RNN around `roles[1]`, its cell: a float32 RNN only casts to float32, which the cell's
        /// own cast then repeats (Keras 3 predicts `RNN(LSTMCell(P))` bit for bit as `LSTM(P)`, K-N2b).
        var rnnAroundCell = false
    }

    /// One written layer: its name, its source layer's name (nil when made up) and its config objects, the layer (or
    /// wrapper) itself first.
    struct Layer {
        var written: String
        var source: String?
        var objects: [Object]
        /// Its output has the dtype its objects compute in (false for TimeDistributed: Keras 3 and tf_keras differ).
        var outputFollowsCompute = true
    }

    /// The dtype Keras keeps a policy's variables in: float32 for `mixed_*` (computed in float16 / bfloat16),
    /// else the policy's own dtype (float16, bfloat16, float32, float64, K-W6d); nil for a policy this writer does not know.
    static func variableDType(_ policy: String) -> DType? {
        switch policy {
        case "mixed_float16", "mixed_bfloat16", "float32": .float32
        case "float16": .float16
        case "bfloat16": .bfloat16
        case "float64": .float64
        default: nil
        }
    }

    /// Whether every value of dtype `v` (a policy's variables) is exactly a value of `t` (the written tensor's).
    static func holdsExactly(_ t: DType, _ v: DType) -> Bool {
        t == v || t == .float64 || (t == .float32 && v != .float64)
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

    /// K-W6b, K-W6c, K-W6d: written object key → the policy it carries, and the source (layer, policy) pairs the file does
    /// not carry. Every recorded policy other than `fullPrecision` (lower precision, or float64 / float32, K-W6d) is
    /// carried where it fits and named otherwise. `policies` is `keras.layer_policies` (nil: a model recorded before K-W6c, which carries nothing),
    /// `recorded` `keras.dtype_policy`, `order` the source layer names in data-flow order (`keras.layer_names`),
    /// `fullPrecision` what an object without a carried policy declares (float32, float64). `rounded` names the
    /// uncarried source layers whose written tensors are narrower than the policy's variables (K-W6a: rounded by a
    /// `--dtype` conversion, not the source's values), with that narrower dtype.
    static func carry(_ policies: [String: KerasSourcePolicy]?, recorded: [(layer: String, policy: String)], layers: [Layer],
                      order: [String], fullPrecision: String = "float32")
        -> (carried: [String: String], uncarried: [(layer: String, policy: String)], rounded: [(layer: String, dtype: DType)]) {
        guard let policies else { return ([:], recorded, []) }
        var carried: [String: String] = [:], placed: Set<String> = []
        var uncarried: [(layer: String, policy: String)] = [], rounded: [(layer: String, dtype: DType)] = []
        for layer in layers {
            // A layer whose policies do not all fit declares full precision throughout (its wrapper too), as K-W6b says.
            var fits = true, mine: [String: String] = [:], other: [KerasSourcePolicy] = [], narrowed: [(layer: String, dtype: DType)] = []
            for object in layer.objects {
                let entries = object.roles.compactMap { policies[$0] }
                placed.formUnion(entries.map(\.layer))
                // What the file declares by default computes these as the source did; any other policy must be carried.
                other += entries.filter { $0.policy != fullPrecision }
                for role in object.roles {
                    guard let e = policies[role], let v = variableDType(e.policy) else { continue }
                    narrowed += (object.roleDTypes[role] ?? object.dtypes).filter { !holdsExactly($0, v) }
                        .sorted { $0.rawValue < $1.rawValue }.map { (e.layer, $0) }
                }
                guard entries.contains(where: { $0.policy != fullPrecision }) else { continue }
                var alike = entries
                if object.rnnAroundCell, alike.count == 2, computeDType(alike[0].policy) == "float32" { alike.removeFirst() }
                // One config for several source layers: only when they compute in one dtype, and then in the innermost's policy.
                let policy = alike[alike.count - 1].policy
                if Set(alike.map { computeDType($0.policy) }).count == 1, let v = variableDType(policy), object.dtypes.allSatisfy({ $0 == v }) {
                    mine[object.key] = policy
                } else {
                    fits = false
                }
            }
            if fits { carried.merge(mine) { a, _ in a } } else { uncarried += other.map { ($0.layer, $0.policy) }; rounded += narrowed }
        }
        // Recorded layers without a written counterpart (InputLayers, Dropout-style layers, nested models) only cast.
        func compute(_ object: Object) -> String { computeDType(carried[object.key] ?? fullPrecision) }
        func output(_ layer: Layer) -> String? {
            let inner = Set((layer.objects.count > 1 ? Array(layer.objects.dropFirst()) : layer.objects).map(compute))
            return layer.outputFollowsCompute && inner.count == 1 ? inner.first : nil
        }
        let index = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let positioned = layers.compactMap { l in l.source.flatMap { index[$0] }.map { (at: $0, layer: l) } }.sorted { $0.at < $1.at }
        let weightedComputes = Set(layers.flatMap(\.objects).filter(\.weighted).map(compute))
        // K-W6e: layers that are not written but cast (`cast.{name}`), unless keras.dtype_policy has them already.
        let listed = Set(recorded.map(\.layer))
        let casts = policies.filter { $0.key.hasPrefix("cast.") && !listed.contains($0.value.layer) }.map { (layer: $0.value.layer, policy: $0.value.policy) }
            .sorted { (index[$0.layer] ?? Int.max, $0.layer) < (index[$1.layer] ?? Int.max, $1.layer) }
        for entry in recorded + casts where !placed.contains(entry.layer) {
            let c = computeDType(entry.policy)
            let covered: Bool
            if let i = index[entry.layer] {
                // The next written layer casts its input to the same dtype, or the one before outputs it already or
                // outputs a dtype that c holds exactly (a widening cast changes no value).
                let next = positioned.first { $0.at > i }?.layer, before = positioned.last { $0.at < i }?.layer
                let widens = before.flatMap(output).flatMap(DType.init(rawValue:)).map { o in DType(rawValue: c).map { holdsExactly($0, o) } ?? false } ?? false
                covered = next.map { compute($0.objects[0]) } == c || before.flatMap(output) == c || widens
            } else {
                covered = weightedComputes == [c]
            }
            if !covered { uncarried.append(entry) }
        }
        var seen: Set<[String]> = [], seenRounded: Set<[String]> = []
        return (carried, uncarried.filter { seen.insert([$0.layer, $0.policy]).inserted },
                rounded.filter { seenRounded.insert([$0.layer, $0.dtype.rawValue]).inserted })
    }
}
