import Foundation

/// Legacy Keras HDF5 files (`Spec/keras-mapping.md`, K-F4, K-F5): full models from `model.save("x.h5")` by
/// Keras 2 / tf.keras (`model_config`, `model_weights/<layer>/…/kernel:0`) or Keras 3 (no `:0` suffix,
/// `top_level_model_weights`), and Keras 2 `save_weights` files (layer groups at the root). The order of a
/// layer's arrays is its `weight_names` attribute; long `layer_names` / `weight_names` lists are split by
/// Keras into `layer_names0`, `layer_names1`, ….
enum KerasLegacyH5 {
    /// Root attributes and groups that mark a legacy Keras file.
    static func looksLike(_ marks: HDF5Marks) -> Bool {
        if marks.groups.contains("/model_weights") { return true }
        return marks.rootAttributes.contains { $0 == "model_config" || $0 == "layer_names" || $0 == "layer_names0" }
    }

    static func read(_ file: HDF5File, options: ReadOptions, formatName: String, byName: Bool = false) throws -> LSTMModel {
        let root = file.isGroup("/model_weights") ? "/model_weights" : "/"
        // tf_keras takes a weights group without keras_version for a Keras 1 file (hdf5_format, K-K1).
        let weightsVersion = try string(file, root, "keras_version") ?? string(file, "/", "keras_version")
        let version = try string(file, "/", "keras_version") ?? weightsVersion
        let weightsGeneration = weightsVersion.flatMap(KerasGeneration.init(version:)) ?? .keras1
        let generation = version.flatMap(KerasGeneration.init(version:)) ?? weightsGeneration
        let layerNames = try chunkedStrings(file, root, "layer_names")
        var weightsByLayer: [String: [Tensor]] = [:]
        var weightNamesByLayer: [String: [String]] = [:]
        for name in layerNames {
            let group = join(root, name)
            guard file.isGroup(group) else { throw KerasError.missingWeight(layer: name, path: group + " (listed in layer_names)") }
            let names = try chunkedStrings(file, group, "weight_names")
            weightNamesByLayer[name] = names
            weightsByLayer[name] = try names.map { wn in
                let path = join(group, wn)
                guard file.isDataset(path) else { throw KerasError.missingWeight(layer: name, path: path) }
                return try file.readTensor(path)
            }
        }
        if file.isGroup(join(root, "top_level_model_weights")) {
            let top = try chunkedStrings(file, join(root, "top_level_model_weights"), "weight_names")
            if !top.isEmpty { throw KerasError.unmappedWeights(top.map { join(join(root, "top_level_model_weights"), $0) }) }
        }
        var plan: KerasModelPlan
        var matchByName = byName
        if let config = try string(file, "/", "model_config") {
            plan = try KerasConfig.parse(Data(config.utf8), generation: generation)
        } else {
            plan = try options.kerasWeightsOnlyPlan(generation: generation) {
                try KerasShapeInference.legacy(layerNames: layerNames, weightNames: weightNamesByLayer, weights: weightsByLayer,
                                               generation: weightsGeneration, version: weightsVersion)
            }
            // Inferred layers are the file's layers, named after them and put in chain order: match them by name.
            if options.keras.config == nil { matchByName = true }
        }
        let fileLayers = layerNames.filter { !(weightNamesByLayer[$0] ?? []).isEmpty }
        let assigned = try KerasLegacyAssignment.assign(plan: plan, fileLayers: fileLayers, arrays: weightsByLayer, root: root,
                                                        byName: matchByName, keras1: weightsGeneration == .keras1)
        var metadata = ["source.format": formatName, "source.tool": generation.toolName]
        metadata["source.tool_version"] = version
        metadata["source.backend"] = try string(file, "/", "backend") ?? string(file, root, "backend")
        let model = try KerasModelBuilder.model(plan, weights: assigned.weights, metadata: metadata, fileLayers: assigned.fileLayers)
        KerasInferenceNotes.report(plan, options: options)  // K-N: only for a model that was read (bad input: its error alone)
        return model
    }

    /// Writes a Keras 2 dialect full-model file that tf_keras and Keras 3 both load (K-W3).
    static func write(_ model: LSTMModel, to file: HDF5File, compress: Bool) throws {
        let plan = try KerasConfigWriter.plan(model, target: .legacyH5)
        let config = try KerasConfigWriter.json(plan, model: model, target: .legacyH5)
        let version = "2.21.0"  // the Keras 2 layout and hard_sigmoid this file uses, as verified with tf_keras 2.21
        try file.setStringAttribute("/", "keras_version", version)
        try file.setStringAttribute("/", "backend", "tensorflow")
        try file.setStringAttribute("/", "model_config", String(decoding: config, as: UTF8.self))
        try file.createGroup("/model_weights")
        let layers = plan.layers.filter { $0.className != "InputLayer" }  // Sequential.layers omits it
        try file.setFixedStringArrayAttribute("/model_weights", "layer_names", layers.map(\.name))
        try file.setStringAttribute("/model_weights", "keras_version", version)
        try file.setStringAttribute("/model_weights", "backend", "tensorflow")
        var remaining = KerasWeightMapping.kerasWeightArrays(model)[...]
        for layer in layers {
            let group = join("/model_weights", layer.name)
            try file.createGroup(group)
            let names = weightNames(layer)
            try file.setFixedStringArrayAttribute(group, "weight_names", names)
            guard layer.hasWeights else { continue }
            guard let arrays = remaining.popFirst(), arrays.count == names.count else {
                throw KerasError.invalidConfig("weight lists do not match the layers")
            }
            for (n, t) in zip(names, arrays) { try file.writeTensor(join(group, n), rows: t, compress: compress) }
        }
    }

    /// Whether any activation of `model` is Keras 2's hard sigmoid (which Keras 3 reads differently, K-W3).
    static func usesKeras2HardSigmoid(_ model: LSTMModel) -> Bool {
        let arch = model.architecture
        return arch.layers.contains { $0.gateActivation == .hardSigmoidKeras2 || $0.cellActivation == .hardSigmoidKeras2 }
            || arch.dense.contains { $0.activation == .hardSigmoidKeras2 }
    }

    /// tf.keras weight names of one layer, in `get_weights()` order.
    static func weightNames(_ layer: KerasLayerPlan) -> [String] {
        let cell = ["kernel:0", "recurrent_kernel:0", "bias:0"]
        switch layer.kind {
        case .lstm: return cell.map { "\(layer.name)/lstm_cell/\($0)" }
        case .bidirectional(let f, let b, _):
            return cell.map { "\(layer.name)/\(f.name)/lstm_cell/\($0)" } + cell.map { "\(layer.name)/\(b.name)/lstm_cell/\($0)" }
        case .dense(let d):
            let prefix = d.timeDistributedName.map { "\($0)/\(d.name)" } ?? layer.name
            return ["\(prefix)/kernel:0", "\(prefix)/bias:0"]
        case .embedding: return ["\(layer.name)/embeddings:0"]
        case .passThrough, .masking, .activation: return []
        }
    }

    /// A string-list attribute that Keras may split into `name0`, `name1`, … when it exceeds HDF5's 64 KiB
    /// attribute header limit. An empty list (Keras writes it as an empty float array) reads as [].
    static func chunkedStrings(_ file: HDF5File, _ path: String, _ name: String) throws -> [String] {
        let names = try file.attributeNames(path)
        if names.contains(name) { return try strings(file, path, name) }
        var out: [String] = []
        var k = 0
        while names.contains("\(name)\(k)") {
            out += try strings(file, path, "\(name)\(k)")
            k += 1
        }
        return out
    }

    private static func strings(_ file: HDF5File, _ path: String, _ name: String) throws -> [String] {
        do {
            return try file.stringArrayAttribute(path, name) ?? []
        } catch {
            if try file.attributeNames(path).contains(name), (try? file.intAttribute(path, name)) == nil {
                return []  // a non-string empty array, as Keras writes for layers without weights
            }
            throw error
        }
    }

    private static func string(_ file: HDF5File, _ path: String, _ name: String) throws -> String? {
        guard try file.attributeNames(path).contains(name) else { return nil }
        return try file.stringAttribute(path, name)
    }

    static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }
}
