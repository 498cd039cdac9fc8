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

    /// The `/layers/…` group of every layer that Keras 3 lists in `model.layers` (Sequential models do not list
    /// their InputLayer), in model order.
    static func groupNames(_ plan: KerasModelPlan) -> [(layer: KerasLayerPlan, group: String)] {
        var used: [String: Int] = [:]
        var out: [(KerasLayerPlan, String)] = []
        for layer in plan.layers {
            if plan.modelClass == "Sequential", layer.className == "InputLayer" { continue }
            let base = snakeCase(layer.className)
            let n = used[base, default: 0]
            used[base] = n + 1
            out.append((layer, n == 0 ? base : "\(base)_\(n)"))
        }
        return out
    }

    /// Dataset paths of one weighted layer's arrays, in Keras order.
    static func weightPaths(_ layer: KerasLayerPlan, group: String) -> [String] {
        let root = "/layers/\(group)"
        func cell(_ prefix: String, _ useBias: Bool) -> [String] {
            (0..<(useBias ? 3 : 2)).map { "\(prefix)/cell/vars/\($0)" }
        }
        switch layer.kind {
        case .lstm(let c): return cell(root, c.useBias)
        case .bidirectional(let f, _, _): return cell("\(root)/forward_layer", f.useBias) + cell("\(root)/backward_layer", f.useBias)
        case .dense(let d):
            let base = d.timeDistributedName == nil ? root : "\(root)/layer"
            return (0..<(d.useBias ? 2 : 1)).map { "\(base)/vars/\($0)" }
        case .embedding: return ["\(root)/vars/0"]
        case .passThrough, .masking: return []
        }
    }

    /// Reads the weight arrays of every weighted layer of `plan`.
    static func readWeights(_ file: HDF5File, plan: KerasModelPlan) throws -> [[Tensor]] {
        try groupNames(plan).filter { $0.layer.hasWeights }.map { layer, group in
            try weightPaths(layer, group: group).map { path in
                guard file.isDataset(path) else { throw KerasError.missingWeight(layer: layer.name, path: path) }
                return try file.readTensor(path)
            }
        }
    }

    /// Writes `weights` (one list per weighted layer, `KerasWeightMapping.kerasWeights` order) for `plan`, with
    /// the empty `vars` groups and `name` attributes Keras 3 writes.
    static func write(_ file: HDF5File, plan: KerasModelPlan, weights: [[Tensor]], compress: Bool) throws {
        try file.createGroup("/layers")
        try varsGroup(file, "", name: plan.modelName)
        var remaining = weights[...]
        for (layer, group) in groupNames(plan) {
            let root = "/layers/\(group)"
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
            case .passThrough, .embedding, .masking: break
            }
            guard layer.hasWeights else { continue }
            guard let arrays = remaining.popFirst() else { throw KerasError.invalidConfig("fewer weight lists than weighted layers") }
            for (path, tensor) in zip(weightPaths(layer, group: group), arrays) {
                try file.writeTensor(path, tensor, compress: compress)
            }
        }
    }

    private static func varsGroup(_ file: HDF5File, _ parent: String, name: String) throws {
        try file.createGroup("\(parent)/vars")
        try file.setStringAttribute("\(parent)/vars", "name", name)
    }
}
