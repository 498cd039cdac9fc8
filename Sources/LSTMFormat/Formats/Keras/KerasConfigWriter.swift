import Foundation

/// Canonical model → Keras layer plan and model config JSON (`Spec/keras-mapping.md`, K-W rules).
enum KerasConfigWriter {
    /// The Keras file a config is written for; decides the config dialect and what `hard_sigmoid` means.
    enum Target: String {
        /// `.keras` and `.weights.h5`: Keras 3 config, hard_sigmoid = clip(x/6 + 0.5).
        case keras3 = "Keras 3"
        /// Legacy `.h5`: Keras 2 config (loaded by tf_keras and by Keras 3), hard_sigmoid = clip(0.2x + 0.5).
        case legacyH5 = "legacy Keras .h5"
    }

    /// A Sequential plan for `model`, layer names from the `keras.*` metadata when present and unique.
    static func plan(_ model: LSTMModel, target: Target) throws -> KerasModelPlan {
        // K-W1: tf_keras's legacy .h5 loader reads float16/32/64 only; Keras 3 reads its own opaque bfloat16 (K-W6).
        if target == .legacyH5, let (name, _) = model.orderedTensors.first(where: { $0.tensor.dtype == .bfloat16 }) {
            throw KerasError.bfloat16(target: "Keras legacy .h5", tensor: name)
        }
        let arch = model.architecture
        // K-W1, M24: Keras's LSTM has no output projection; dropping W_hr would change every prediction.
        if let k = arch.layers.firstIndex(where: { $0.projectionSize != nil }) {
            throw KerasError.notExpressible(target: target.rawValue, place: "lstm.\(k)",
                                            reason: "has a projection (PyTorch proj_size, W_hr), which Keras's LSTM cannot express")
        }
        // M25: Keras's LSTM has no peephole connections; dropping P would change every prediction.
        if let k = arch.layers.firstIndex(where: \.peepholes) {
            throw KerasError.notExpressible(target: target.rawValue, place: "peephole weights P of layer \(k) (lstm.\(k).*.p_f, p_i, p_o)",
                                            reason: "cannot be expressed in Keras: its LSTM has no peephole connections")
        }
        let meta = model.metadata
        let generation: KerasGeneration = target == .keras3 ? .keras3 : .keras2
        var used: Set<String> = []
        var renamed: [String: String] = [:]
        var counters: [String: Int] = [:]
        // K-W6b: each written layer's source name (when its name is the source's) and its tensors' dtypes.
        var sources: [String: String] = [:]
        func name(_ preferred: String?, default base: String) -> String {
            // K-W5: Keras 3 refuses '/' in names (Operation.__init__); the original is kept in the file (renamedLayers).
            let valid = preferred.map { $0.replacingOccurrences(of: "/", with: "_") }
            if let p = valid, !p.isEmpty, !used.contains(p) {
                used.insert(p)
                if let original = preferred, original != p { renamed[p] = original }
                sources[p] = preferred
                return p
            }
            while true {
                let n = counters[base, default: 0]
                counters[base] = n + 1
                let candidate = n == 0 ? base : "\(base)_\(n)"
                if !used.contains(candidate) { used.insert(candidate); return candidate }
            }
        }
        func activation(_ a: Activation, _ place: String) throws -> Activation {
            switch (a, generation) {
            case (.hardSigmoidKeras2, .keras3), (.hardSigmoidKeras3, .keras2):
                throw KerasError.notExpressible(target: target.rawValue, place: place,
                    reason: "uses \(a.rawValue), which this Keras file cannot express (its hard_sigmoid is \(generation.hardSigmoid.rawValue))")
            default: return a
            }
        }
        var layers = [KerasLayerPlan(name: name(meta["keras.input_name"], default: "input_layer"), className: "InputLayer", kind: .passThrough)]
        if let e = arch.embedding {
            let n = name(meta["keras.embedding.name"], default: "embedding")
            layers.append(KerasLayerPlan(name: n, className: "Embedding", kind: .embedding(
                KerasEmbeddingConfig(name: n, inputDim: e.vocabularySize, outputDim: arch.inputSize, maskZero: e.maskZero))))
        }
        if let v = arch.maskValue {
            layers.append(KerasLayerPlan(name: name(meta["keras.masking.name"], default: "masking"), className: "Masking", kind: .masking(v)))
        }
        for (k, spec) in arch.layers.enumerated() {
            let last = k == arch.layers.count - 1
            let gate = try activation(spec.gateActivation, "lstm.\(k) gate activation")
            let cellAct = try activation(spec.cellActivation, "lstm.\(k) cell activation")
            func lstm(_ n: String, backwards: Bool) -> KerasLSTMConfig {
                KerasLSTMConfig(name: n, units: spec.hiddenSize, activation: cellAct, recurrentActivation: gate, useBias: true,
                                goBackwards: backwards, returnSequences: last ? arch.returnSequences : true, cudnn: false,
                                zeroOutputForMask: spec.zeroOutputForMask)
            }
            switch spec.direction {
            case .forward, .backward:
                let n = name(meta["keras.lstm.\(k).name"], default: "lstm")
                layers.append(KerasLayerPlan(name: n, className: "LSTM", kind: .lstm(lstm(n, backwards: spec.direction == .backward))))
            case .bidirectional:
                let n = name(meta["keras.lstm.\(k).name"], default: "bidirectional")
                let f = lstm(meta["keras.lstm.\(k).forward_name"].map { $0.replacingOccurrences(of: "/", with: "_") } ?? "forward_lstm", backwards: false)
                let b = lstm(meta["keras.lstm.\(k).backward_name"].map { $0.replacingOccurrences(of: "/", with: "_") } ?? "backward_lstm", backwards: true)
                layers.append(KerasLayerPlan(name: n, className: "Bidirectional", kind: .bidirectional(forward: f, backward: b, merge: spec.mergeMode ?? .concat)))
            }
        }
        // K-W6c: a folded Activation is written as its own layer, with its own policy, when the model records them.
        let layerPolicies = KerasLayerPolicies.recorded(model)
        for (j, d) in arch.dense.enumerated() {
            var act = try activation(d.activation, "dense.\(j) activation")
            let folded = act == .linear ? nil : layerPolicies?["dense.\(j).activation"]
            if folded != nil { act = .linear }
            defer {
                if let folded {
                    let n = name(folded.layer, default: "activation")
                    layers.append(KerasLayerPlan(name: n, className: "Activation", kind: .activation(d.activation)))
                }
            }
            let wrapper = arch.returnSequences ? meta["keras.dense.\(j).time_distributed"] : nil
            if let w = wrapper {
                let outer = name(w, default: "time_distributed")
                let inner = meta["keras.dense.\(j).name"].map { $0.replacingOccurrences(of: "/", with: "_") } ?? "dense"
                layers.append(KerasLayerPlan(name: outer, className: "TimeDistributed",
                                             kind: .dense(KerasDenseConfig(name: inner, units: d.outputSize, activation: act, useBias: true, timeDistributedName: outer))))
            } else {
                let n = name(meta["keras.dense.\(j).name"], default: "dense")
                layers.append(KerasLayerPlan(name: n, className: "Dense", kind: .dense(KerasDenseConfig(name: n, units: d.outputSize, activation: act, useBias: true, timeDistributedName: nil))))
            }
        }
        let modelName = (meta["keras.model_class"] == "Sequential" ? meta["keras.model_name"] ?? "sequential" : "sequential")
            .replacingOccurrences(of: "/", with: "_")
        var plan = KerasModelPlan(modelName: modelName, modelClass: "Sequential", layers: layers, inputSize: arch.inputSize, generation: generation)
        plan.renamedLayers = renamed
        // K-W6b, K-W6c: the source's dtype policies, carried per config object where they fit the tensors (the
        // InputLayer declares float32, as Keras writes it under any policy; a recorded input dtype is covered as K-W6c says).
        var carry: [KerasPolicyCarry.Layer] = []
        var lstmIndex = 0, denseIndex = 0
        func dtypes(_ names: [String]) -> Set<DType> { Set(names.compactMap { model.tensors[$0]?.dtype }) }
        for layer in layers.dropFirst() {
            typealias Object = KerasPolicyCarry.Object
            var objects: [Object] = []
            var outputFollowsCompute = true
            switch layer.kind {
            case .embedding:
                objects = [Object(key: layer.name, roles: ["embedding"], dtypes: dtypes([TensorName.embedding]), weighted: true)]
            case .masking:
                objects = [Object(key: layer.name, roles: ["masking"])]
            case .activation:
                objects = [Object(key: layer.name, roles: ["dense.\(denseIndex - 1).activation"])]
            case .lstm:
                let k = lstmIndex
                objects = [Object(key: layer.name, roles: ["lstm.\(k)", "lstm.\(k).cell"].filter { layerPolicies?[$0] != nil },
                                  dtypes: dtypes(model.tensors.keys.filter { $0.hasPrefix("lstm.\(k).") }), weighted: true,
                                  rnnAroundCell: layerPolicies?["lstm.\(k).cell"] != nil)]
                lstmIndex += 1
            case .bidirectional(let f, let b, _):
                let k = lstmIndex
                let fwd = dtypes(model.tensors.keys.filter { $0.hasPrefix("lstm.\(k).fwd.") })
                let bwd = dtypes(model.tensors.keys.filter { $0.hasPrefix("lstm.\(k).bwd.") })
                objects = [Object(key: layer.name, roles: ["lstm.\(k)"])]
                if target == .legacyH5 {  // Keras 2 dialect: no backward_layer, the forward's config serves both
                    objects.append(Object(key: "\(layer.name)/\(f.name)", roles: ["lstm.\(k).forward", "lstm.\(k).backward"], dtypes: fwd.union(bwd),
                                          roleDTypes: ["lstm.\(k).forward": fwd, "lstm.\(k).backward": bwd], weighted: true))
                } else {
                    objects.append(Object(key: "\(layer.name)/\(f.name)", roles: ["lstm.\(k).forward"], dtypes: fwd, weighted: true))
                    objects.append(Object(key: "\(layer.name)/\(b.name)", roles: ["lstm.\(k).backward"], dtypes: bwd, weighted: true))
                }
                lstmIndex += 1
            case .dense(let d):
                let j = denseIndex
                let weights = Object(key: d.timeDistributedName.map { "\($0)/\(d.name)" } ?? layer.name, roles: ["dense.\(j)"],
                                     dtypes: dtypes([TensorName.denseV(j), TensorName.denseC(j)]), weighted: true)
                objects = d.timeDistributedName == nil ? [weights] : [Object(key: layer.name, roles: ["dense.\(j).time_distributed"]), weights]
                outputFollowsCompute = d.timeDistributedName == nil
                denseIndex += 1
            case .passThrough:
                continue
            }
            carry.append(KerasPolicyCarry.Layer(written: layer.name, source: sources[layer.name], objects: objects, outputFollowsCompute: outputFollowsCompute))
        }
        let order = (try? JSONDecoder().decode([String].self, from: Data((meta["keras.layer_names"] ?? "[]").utf8))) ?? []
        let policies = KerasPolicyCarry.carry(layerPolicies, recorded: KerasPolicyCarry.recorded(model), layers: carry, order: order,
                                              fullPrecision: model.dtypes == [.float64] ? "float64" : "float32")
        plan.writtenPolicies = policies.carried
        let casts = Set((layerPolicies ?? [:]).filter { $0.key.hasPrefix("cast.") }.map(\.value.layer))
        plan.uncarriedPolicies = policies.uncarried.filter { !casts.contains($0.layer) }.map { "'\($0.layer)' (\($0.policy))" }
        plan.uncarriedCasts = policies.uncarried.filter { casts.contains($0.layer) }.map { "'\($0.layer)' (\($0.policy))" }
        plan.roundedPolicyWeights = policies.rounded.map { "'\($0.layer)' (\($0.dtype.rawValue))" }
        if layerPolicies == nil {
            // Recorded before K-W6c: which tensors stand for which source layer is not known, only that some are narrower.
            let v = Set(KerasPolicyCarry.recorded(model).compactMap { KerasPolicyCarry.variableDType($0.policy) })
            plan.roundedPolicyWeights = model.dtypes.filter { t in v.contains { !KerasPolicyCarry.holdsExactly(t, $0) } }
                .map(\.rawValue).sorted().map { "some layers (\($0))" }
        }
        return plan
    }

    /// K-W6a: the note for the source layers whose dtype policy (`keras.dtype_policy` and `keras.layer_policies`,
    /// recorded on read) the written file does not carry (K-W6b: the layer's tensors no longer have the policy's
    /// variable dtype, e.g. after `--dtype`, or bfloat16 in a legacy .h5; K-W6c: folded layers computed differently;
    /// K-W6d: a float64 / float32 layer; K-W6e: a Dropout-style layer, not written, that cast). Keras computes those layers in the dtype the file declares, no longer as the
    /// source did; the note says whether the weights are the source's (exact) or were rounded by a conversion. nil
    /// when every recorded policy is carried or there is none.
    static func uncarriedPolicyNote(_ model: LSTMModel, target: Target) -> String? {
        guard model.metadata["keras.dtype_policy"] != nil || model.metadata[KerasLayerPolicies.key] != nil,
              let plan = try? plan(model, target: target), !plan.uncarriedPolicies.isEmpty || !plan.uncarriedCasts.isEmpty else { return nil }
        // How far, by the computes involved (K-W6a): float16 about 1e-3 relative, bfloat16 1e-2, float32 / float64 1e-7.
        func size(_ named: [String]) -> String {
            let policies = Set(named.compactMap { $0.split(separator: "(").last?.dropLast() }.map(String.init))
            var sizes: [String] = []
            if policies.contains(where: { KerasPolicyCarry.computeDType($0) == "float16" }) { sizes.append("1e-3 (float16 policies)") }
            if policies.contains(where: { KerasPolicyCarry.computeDType($0) == "bfloat16" }) { sizes.append("1e-2 (bfloat16 policies)") }
            if policies.contains(where: { ["float32", "float64"].contains($0) }) { sizes.append("1e-7 (float32 / float64 policies)") }
            return sizes.isEmpty ? "by an amount that depends on the policy" : "by about \(sizes.joined(separator: ", ")) relative"
        }
        let declared = model.dtypes == [.float64] ? "float64" : "float32"
        var parts: [String] = []
        if !plan.uncarriedPolicies.isEmpty {
            let why = KerasLayerPolicies.recorded(model) == nil
                ? "the model was recorded without keras.layer_policies (by an lstm-format before K-W6c), so which of its folded layers computed in float32 is not known"
                : "the converted tensors' dtype is not the policy's variable dtype, or source layers folded into one written layer computed in different dtypes"
            let weights = plan.roundedPolicyWeights.isEmpty
                ? "the weights are exact (the source's values)"
                : "the weights of \(plan.roundedPolicyWeights.joined(separator: ", ")) are not the source's: a dtype conversion (--dtype) "
                    + "rounded them to that dtype, which moves the predictions further"
            parts.append("the source computed \(plan.uncarriedPolicies.joined(separator: ", ")) under a Keras dtype policy that this file does not "
                + "carry (\(why)); it declares \(declared) there, so Keras computes those layers in \(declared) and its predictions differ "
                + "from the source's \(size(plan.uncarriedPolicies)); \(weights) (K-W6a)")
        }
        if !plan.uncarriedCasts.isEmpty {
            // K-W6e: a layer that is not written (the identity at inference) but cast its input to its policy's dtype.
            parts.append("in the source, Keras casts the input of \(plan.uncarriedCasts.joined(separator: ", ")) to that dtype (Dropout-style or "
                + "linear Activation layers: the identity at inference, which this file does not hold), rounding the values there; this "
                + "file does not round there, so Keras's predictions of it differ from the source's \(size(plan.uncarriedCasts)) (K-W6e)")
        }
        return parts.joined(separator: "; ")
    }

    /// The model config as JSON: Keras 3's `config.json` dialect or Keras 2's `model_config` dialect.
    static func json(_ plan: KerasModelPlan, model: LSTMModel, target: Target) throws -> Data {
        let k3 = target == .keras3
        // Without a carried policy a layer declares float32 (float64 for an all-float64 model): Keras widens float16
        // and bfloat16 weights exactly into float32 variables on load.
        let dtypeName = model.dtypes == [.float64] ? "float64" : "float32"
        // K-W6b: a carried policy: in .keras Keras 3's DTypePolicy object; in a legacy .h5 the policy's name as a plain
        // string, which tf_keras and Keras 3 both load (Keras 3 cannot load tf_keras's own Policy object for mixed_*).
        func dtypeValue(_ policy: String?) -> Any {
            let name = policy ?? dtypeName
            return k3 ? ["module": "keras", "class_name": "DTypePolicy", "config": ["name": name], "registered_name": NSNull()] as [String: Any] : name
        }
        let arch = model.architecture
        var width = arch.inputSize
        var sequence = true
        func wrap(_ className: String, _ config: [String: Any], input: [Any]?) -> [String: Any] {
            var out: [String: Any] = ["module": "keras.layers", "class_name": className, "config": config, "registered_name": NSNull()]
            if let input, k3 { out["build_config"] = ["input_shape": input] }
            return out
        }
        func lstmConfig(_ c: KerasLSTMConfig, policy: String?) -> [String: Any] {
            var out = lstmBase(c, dtype: dtypeValue(policy))
            // M19: written only when set, so unmasked models keep their bytes (Keras 3 and tf_keras take it).
            if c.zeroOutputForMask { out["zero_output_for_mask"] = true }
            // TensorFlow's QR (the default Orthogonal initializer) has no bfloat16 kernel: building a bfloat16
            // LSTM fails before its weights are loaded. The initializer is overwritten by the weights anyway.
            if policy == "bfloat16" { out["recurrent_initializer"] = ["module": "keras.initializers", "class_name": "GlorotUniform", "config": ["seed": NSNull()], "registered_name": NSNull()] as [String: Any] }
            return out
        }
        func lstmBase(_ c: KerasLSTMConfig, dtype: Any) -> [String: Any] {
            ["name": c.name, "trainable": true, "dtype": dtype, "return_sequences": c.returnSequences, "return_state": false,
             "go_backwards": c.goBackwards, "stateful": false, "unroll": false, "units": c.units,
             "activation": kerasName(c.activation), "recurrent_activation": kerasName(c.recurrentActivation),
             "use_bias": c.useBias, "unit_forget_bias": true, "dropout": 0.0, "recurrent_dropout": 0.0]
        }
        func denseConfig(_ d: KerasDenseConfig, dtype: Any) -> [String: Any] {
            ["name": d.name, "trainable": true, "dtype": dtype, "units": d.units, "activation": kerasName(d.activation), "use_bias": d.useBias]
        }
        var layers: [[String: Any]] = []
        // M17: a model with an embedding reads int32 token ids [batch, steps].
        let inputShape: [Any] = arch.embedding == nil ? [NSNull(), NSNull(), arch.inputSize] : [NSNull(), NSNull()]
        for layer in plan.layers {
            let policy = plan.writtenPolicies[layer.name], dtype = dtypeValue(policy)
            let shape: [Any] = sequence ? [NSNull(), NSNull(), width] : [NSNull(), width]
            switch layer.kind {
            case .activation(let a):
                // K-W6c: the source's folded Activation, with its own policy.
                let c: [String: Any] = ["name": layer.name, "trainable": true, "dtype": dtype, "activation": kerasName(a)]
                layers.append(wrap("Activation", c, input: shape))
            case .passThrough:
                var c: [String: Any] = ["dtype": arch.embedding == nil ? dtypeName : "int32", "sparse": false, "ragged": false, "name": layer.name]
                c[k3 ? "batch_shape" : "batch_input_shape"] = inputShape
                layers.append(wrap("InputLayer", c, input: nil))
            case .embedding(let e):
                let c: [String: Any] = ["name": e.name, "trainable": true, "dtype": dtype, "input_dim": e.inputDim,
                                        "output_dim": e.outputDim, "mask_zero": e.maskZero]
                layers.append(wrap("Embedding", c, input: inputShape))
                width = e.outputDim
            case .masking(let v):
                layers.append(wrap("Masking", ["name": layer.name, "trainable": true, "dtype": dtype, "mask_value": v], input: inputShape))
            case .lstm(let c):
                layers.append(wrap("LSTM", lstmConfig(c, policy: policy), input: shape))
                width = c.units
                sequence = c.returnSequences
            case .bidirectional(let f, let b, let merge):
                // K-W6c: the wrapper and each inner LSTM declare their own source's policy (the source's own form).
                var c: [String: Any] = ["name": layer.name, "trainable": true, "dtype": dtype, "merge_mode": merge.rawValue,
                                        "layer": wrap("LSTM", lstmConfig(f, policy: plan.writtenPolicies["\(layer.name)/\(f.name)"]), input: nil)]
                if k3 { c["backward_layer"] = wrap("LSTM", lstmConfig(b, policy: plan.writtenPolicies["\(layer.name)/\(b.name)"]), input: nil) }
                layers.append(wrap("Bidirectional", c, input: shape))
                width = merge == .concat ? 2 * f.units : f.units
                sequence = f.returnSequences
            case .dense(let d):
                if let w = d.timeDistributedName {
                    // K-W6c: the wrapper and the inner Dense declare their own source's policy (the source's own form).
                    let innerDType = dtypeValue(plan.writtenPolicies["\(w)/\(d.name)"])
                    let c: [String: Any] = ["name": w, "trainable": true, "dtype": dtype, "layer": wrap("Dense", denseConfig(d, dtype: innerDType), input: nil)]
                    layers.append(wrap("TimeDistributed", c, input: shape))
                } else {
                    layers.append(wrap("Dense", denseConfig(d, dtype: dtype), input: shape))
                }
                width = d.units
            }
        }
        var config: [String: Any] = ["name": plan.modelName, "trainable": true, "layers": layers]
        var top: [String: Any] = ["class_name": "Sequential", "config": config]
        if k3 {
            config["dtype"] = dtypeValue(nil)
            config["build_input_shape"] = inputShape
            top = ["module": "keras", "class_name": "Sequential", "config": config, "registered_name": NSNull(),
                   "build_config": ["input_shape": inputShape]]
        }
        return try JSONSerialization.data(withJSONObject: top, options: [.sortedKeys])
    }

    /// The Keras name of a canonical activation (both hard sigmoids are Keras's `hard_sigmoid`).
    static func kerasName(_ a: Activation) -> String {
        switch a {
        case .hardSigmoidKeras2, .hardSigmoidKeras3: "hard_sigmoid"
        default: a.rawValue
        }
    }
}
