import Foundation

/// Which file layer's arrays each config layer takes in a legacy `.h5` file (`Spec/keras-mapping.md`, K-O1,
/// K-O2), as tf_keras's `load_weights_from_hdf5_group` does: the file's layers that have weights (in
/// `layer_names` order) go to the model's layers that have weights, by position, whatever their names; with
/// `byName` (`load_weights(by_name=True)`) by name. A nested model or an `RNN(StackedRNNCells)` is one layer
/// of the file whose arrays are its sub-layers' arrays in order (trainable weights first, as Keras lists them).
enum KerasLegacyAssignment {
    struct Result {
        /// Arrays per weighted plan layer, in Keras order (Keras 1 arrays already converted, K-K1).
        var weights: [[Tensor]]
        /// The file layer each weighted plan layer took its arrays from.
        var fileLayers: [String]
    }

    static func assign(plan: KerasModelPlan, fileLayers: [String], arrays: [String: [Tensor]], root: String,
                       byName: Bool, keras1: Bool) throws -> Result {
        // The model's layers with weights, as Keras sees them: nested models and stacked cells are one.
        var units: [(name: String, layers: [KerasLayerPlan])] = []
        for layer in plan.weightedLayers {
            if let last = units.last, last.name == layer.weightGroupName, !layer.scope.isEmpty { units[units.count - 1].layers.append(layer) }
            else { units.append((layer.weightGroupName, [layer])) }
        }
        var sources: [String] = []
        if byName {
            for unit in units {
                guard fileLayers.contains(unit.name) else {
                    throw KerasError.missingWeight(layer: unit.name, path: "\(LegacyPaths.join(root, unit.name)) (matching by name; the file's layers with weights are \(fileLayers.joined(separator: ", ")))")
                }
                sources.append(unit.name)
            }
            let unused = fileLayers.filter { !sources.contains($0) }
            if !unused.isEmpty { throw KerasError.unmappedWeights(unused.map { LegacyPaths.join(root, $0) }) }
        } else {
            guard fileLayers.count == units.count else {
                throw KerasError.invalidConfig("layer count mismatch: the config has \(units.count) layers with weights (\(units.map(\.name).joined(separator: ", "))), "
                    + "the file \(fileLayers.count) (\(fileLayers.joined(separator: ", "))); Keras assigns legacy .h5 weights to layers by position")
            }
            sources = fileLayers
        }
        var weights: [[Tensor]] = []
        var fileNames: [String] = []
        for (unit, source) in zip(units, sources) {
            var rest = arrays[source] ?? []
            if unit.layers.count == 1 {
                var own = rest
                if keras1, case .lstm = unit.layers[0].kind, own.count == 12 { own = KerasKeras1Weights.lstm(own) }
                weights.append(own)
                fileNames.append(source)
                continue
            }
            for layer in unit.layers {
                let n = expectedCount(layer)
                guard rest.count >= n else {
                    throw KerasError.positionalMismatch(configLayer: layer.name, fileLayer: source,
                        detail: "the file layer holds \(arrays[source]?.count ?? 0) arrays, fewer than its \(unit.layers.count) sub-layers need")
                }
                weights.append(Array(rest.prefix(n)))
                rest.removeFirst(n)
                fileNames.append(source)
            }
            if !rest.isEmpty {
                throw KerasError.positionalMismatch(configLayer: unit.name, fileLayer: source,
                    detail: "the file layer holds \(arrays[source]?.count ?? 0) arrays, \(rest.count) more than the config's sub-layers take")
            }
        }
        return Result(weights: weights, fileLayers: fileNames)
    }

    static func expectedCount(_ layer: KerasLayerPlan) -> Int {
        switch layer.kind {
        case .lstm(let c): c.useBias ? 3 : 2
        case .bidirectional(let f, _, _): f.useBias ? 6 : 4
        case .dense(let d): d.useBias ? 2 : 1
        case .embedding: 1
        case .passThrough, .activation, .masking: 0
        }
    }
}

enum LegacyPaths {
    static func join(_ a: String, _ b: String) -> String { a.hasSuffix("/") ? a + b : a + "/" + b }
}

/// Keras 1 LSTM weights as tf_keras converts them on load (`hdf5_format.preprocess_weights_for_loading`,
/// original_keras_version "1"; `Spec/keras-mapping.md`, K-K1): twelve arrays W_i, U_i, b_i, W_c, U_c, b_c,
/// W_f, U_f, b_f, W_o, U_o, b_o become kernel = [W_i W_f W_c W_o], recurrent_kernel = [U_i U_f U_c U_o],
/// bias = [b_i b_f b_c b_o], joined along the last axis. Bytes are copied unchanged.
enum KerasKeras1Weights {
    static func lstm(_ w: [Tensor]) -> [Tensor] {
        [hstack([w[0], w[6], w[3], w[9]]), hstack([w[1], w[7], w[4], w[10]]), hstack([w[2], w[8], w[5], w[11]])]
    }

    /// Tensors of equal leading shape and dtype joined along their last axis (numpy's concatenate(axis=-1)).
    /// Mismatched parts are returned as given so the shape check names them.
    static func hstack(_ parts: [Tensor]) -> Tensor {
        guard let first = parts.first, parts.allSatisfy({ $0.dtype == first.dtype && $0.shape.dropLast() == first.shape.dropLast() && !$0.shape.isEmpty }) else {
            return parts[0]
        }
        let size = first.dtype.byteSize
        let rows = first.shape.dropLast().reduce(1, *)
        let widths = parts.map { $0.shape.last! }
        let sources = parts.map { [UInt8]($0.bytes) }
        var out = Data(capacity: rows * widths.reduce(0, +) * size)
        for r in 0..<rows {
            for (src, w) in zip(sources, widths) {
                out.append(contentsOf: src[(r * w * size)..<((r + 1) * w * size)])
            }
        }
        return try! Tensor(dtype: first.dtype, shape: Array(first.shape.dropLast()) + [widths.reduce(0, +)], bytes: out)
    }
}
