import Foundation

/// The Keras 3 weights layout, used by `.weights.h5` files and by `model.weights.h5` inside `.keras` archives
/// (`Spec/keras-mapping.md`, K-F3): `/layers/<snake_case class name>[_<n>]/…/vars/<i>`, named by class, not by
/// layer name, numbered in model order.
enum KerasWeightsH5 {
    /// `to_snake_case` of Keras 3's saving_lib: "TimeDistributed" → "time_distributed", "LSTM" → "lstm".
    static func snakeCase(_ className: String) -> String {
        let chars = Array(className.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        var out = ""
        for (k, c) in chars.enumerated() {
            if c.isUppercase, k > 0 {
                let prev = chars[k - 1]
                let nextIsLower = k + 1 < chars.count && chars[k + 1].isLowercase
                if prev.isLowercase || prev.isNumber || (prev.isUppercase && nextIsLower) { out.append("_") }
            }
            out.append(c)
        }
        return out.lowercased()
    }

    /// The group of every layer of `plan`, as Keras 3's saving_lib names them (K-F3, K-O3): inside each container
    /// (the model's `layers`, a nested model's `layers`, a StackedRNNCells' `cells`) an object is named by the
    /// snake_case of its class, numbered `_1`, `_2`, … in order among objects of that class. Sequential models
    /// do not list their InputLayer; functional models do. Layer names play no part.
    static func groupNames(_ plan: KerasModelPlan) -> [(layer: KerasLayerPlan, group: String)] {
        var counters: [String: [String: Int]] = [:]
        var scopes: [String: String] = [:]
        func child(_ container: String, _ className: String) -> String {
            let base = snakeCase(className)
            let n = counters[container, default: [:]][base, default: -1] + 1
            counters[container, default: [:]][base] = n
            return "\(container)/\(n == 0 ? base : "\(base)_\(n)")"
        }
        var out: [(KerasLayerPlan, String)] = []
        for layer in plan.layers {
            var container = "/layers"
            var sequential = plan.modelClass == "Sequential"
            var key = ""
            for s in layer.scope {
                key += "/" + s.name
                let group = scopes[key] ?? child(container, s.className)
                scopes[key] = group
                switch s.kind {
                case .model(let seq):
                    container = group + "/layers"
                    sequential = seq
                case .stackedCells:
                    container = group + "/cell/cells"
                }
            }
            if sequential, layer.className == "InputLayer" { continue }
            out.append((layer, child(container, layer.className)))
        }
        return out
    }

    /// Dataset paths of one weighted layer's arrays, in Keras order.
    static func weightPaths(_ layer: KerasLayerPlan, group root: String) -> [String] {
        func cell(_ prefix: String, _ useBias: Bool) -> [String] {
            (0..<(useBias ? 3 : 2)).map { "\(prefix)/cell/vars/\($0)" }
        }
        switch layer.kind {
        case .lstm(let c):
            if layer.scope.last?.kind == .stackedCells { return (0..<(c.useBias ? 3 : 2)).map { "\(root)/vars/\($0)" } }
            return cell(root, c.useBias)
        case .bidirectional(let f, _, _): return cell("\(root)/forward_layer", f.useBias) + cell("\(root)/backward_layer", f.useBias)
        case .dense(let d):
            let base = d.timeDistributedName == nil ? root : "\(root)/layer"
            return (0..<(d.useBias ? 2 : 1)).map { "\(base)/vars/\($0)" }
        case .embedding: return ["\(root)/vars/0"]
        case .passThrough, .masking, .activation: return []
        }
    }

    /// Reads the weight arrays of every weighted layer of `plan` (K-O3) and checks that every array of the file
    /// is one of them, optimizer state (`/optimizer`) excepted (K-A1).
    static func readWeights(_ file: HDF5File, plan: KerasModelPlan) throws -> [[Tensor]] {
        var used: Set<String> = []
        let weighted = groupNames(plan).filter { $0.layer.hasWeights }
        let places = plan.inferredGroups.map { groups in zip(plan.weightedLayers, groups).map { ($0, $1) } } ?? weighted
        let weights = try places.map { layer, group in
            try weightPaths(layer, group: group).map { path in
                guard file.isDataset(path) else {
                    let held = (try? file.childNames("/layers")) ?? []
                    throw KerasError.missingWeight(layer: layer.name, path: "\(path) (Keras 3 finds a layer's weights by its class and position, "
                        + "not its name; /layers holds \(held.isEmpty ? "nothing" : held.joined(separator: ", ")))")
                }
                used.insert(path)
                return try file.readTensor(path)
            }
        }
        let unmapped = try datasets(file).filter { !used.contains($0) && !isOptimizerState($0) }
        if !unmapped.isEmpty { throw KerasError.unmappedWeights(unmapped) }
        return weights
    }

    /// Keras 3 keeps the optimizer's variables under `/optimizer` (model.save of a compiled model).
    static func isOptimizerState(_ path: String) -> Bool { path.hasPrefix("/optimizer/") }

    /// Every dataset path in the file, depth-first in name order (at most 64 levels, 1,000,000 objects).
    static func datasets(_ file: HDF5File, under root: String = "/") throws -> [String] {
        var out: [String] = []
        var visited = 0
        func walk(_ path: String, depth: Int) throws {
            guard depth < 64 else { throw KerasError.invalidConfig("groups nested deeper than 64 levels at \(path)") }
            for name in try file.childNames(path) {
                visited += 1
                guard visited <= 1_000_000 else { throw KerasError.invalidConfig("more than 1,000,000 objects in the weights file") }
                let child = path == "/" ? "/" + name : path + "/" + name
                if file.isDataset(child) { out.append(child) } else if file.isGroup(child) { try walk(child, depth: depth + 1) }
            }
        }
        try walk(root, depth: 0)
        return out
    }

    /// Writes `weights` (one list per weighted layer, `KerasWeightMapping.kerasWeightArrays` order, each array
    /// made as it is written) for `plan`, with the empty `vars` groups and `name` attributes Keras 3 writes.
    static func write(_ file: HDF5File, plan: KerasModelPlan, weights: [[TensorRows]], compress: Bool) throws {
        try file.createGroup("/layers")
        try varsGroup(file, "", name: plan.modelName)
        var remaining = weights[...]
        for (layer, group) in groupNames(plan) {
            let root = group
            try file.createGroup(root)
            try varsGroup(file, root, name: layer.name)
            switch layer.kind {
            case .lstm:
                try file.createGroup("\(root)/cell")
                try varsGroup(file, "\(root)/cell", name: "lstm_cell")
            case .bidirectional(let f, let b, _):
                for (side, inner) in [("forward_layer", f.name), ("backward_layer", b.name)] {
                    try file.createGroup("\(root)/\(side)")
                    try varsGroup(file, "\(root)/\(side)", name: inner)
                    try file.createGroup("\(root)/\(side)/cell")
                    try varsGroup(file, "\(root)/\(side)/cell", name: "lstm_cell")
                }
            case .dense(let d):
                if d.timeDistributedName != nil {
                    try file.createGroup("\(root)/layer")
                    try varsGroup(file, "\(root)/layer", name: d.name)
                }
            case .passThrough, .embedding, .masking, .activation: break
            }
            guard layer.hasWeights else { continue }
            guard let arrays = remaining.popFirst() else { throw KerasError.invalidConfig("fewer weight lists than weighted layers") }
            for (path, tensor) in zip(weightPaths(layer, group: group), arrays) {
                try file.writeTensor(path, rows: tensor, compress: compress, bfloat16AsOpaque: true)
            }
        }
    }

    private static func varsGroup(_ file: HDF5File, _ parent: String, name: String) throws {
        try file.createGroup("\(parent)/vars")
        try file.setStringAttribute("\(parent)/vars", "name", name)
    }
}
