/// A plan inferred from a weights-only file's shapes, completed with a given canonical architecture
/// (`Spec/layout.md`, O2; `Spec/keras-mapping.md`, K-F6).
extension KerasModelPlan {
    /// This plan with the directions, activations, merge modes, return_sequences and Dense activations of
    /// `architecture`. The layers found in the file must match it one for one (LSTM units, bidirectional or not,
    /// Dense widths); the model built from the plan is checked against `architecture` as a whole by the registry.
    ///
    /// - Throws: `KerasError.architectureMismatch` naming the first difference.
    func applying(_ architecture: ModelArchitecture) throws -> KerasModelPlan {
        var plan = self
        let recurrentCount = layers.filter { KerasConfig.isRecurrent($0) }.count
        let denseCount = layers.filter(\.kind.isDense).count
        guard recurrentCount == architecture.layers.count, denseCount == architecture.dense.count else {
            throw KerasError.architectureMismatch("the file has \(recurrentCount) LSTM and \(denseCount) Dense layers, "
                + "the architecture \(architecture.layers.count) and \(architecture.dense.count)")
        }
        var k = 0, j = 0
        for (index, layer) in layers.enumerated() {
            switch layer.kind {
            case .lstm(var cfg):
                let spec = architecture.layers[k]
                let last = k == architecture.layers.count - 1
                guard spec.direction != .bidirectional, spec.hiddenSize == cfg.units else {
                    throw KerasError.architectureMismatch("lstm.\(k) is a \(spec.direction.rawValue) layer of \(spec.hiddenSize) units, "
                        + "the file's layer '\(layer.name)' a single-direction LSTM of \(cfg.units)")
                }
                cfg.goBackwards = spec.direction == .backward
                cfg.activation = spec.cellActivation
                cfg.recurrentActivation = spec.gateActivation
                cfg.returnSequences = last ? architecture.returnSequences : true
                plan.layers[index].kind = .lstm(cfg)
                k += 1
            case .bidirectional(var f, var b, _):
                let spec = architecture.layers[k]
                let last = k == architecture.layers.count - 1
                guard spec.direction == .bidirectional, spec.hiddenSize == f.units, let merge = spec.mergeMode else {
                    throw KerasError.architectureMismatch("lstm.\(k) is a \(spec.direction.rawValue) layer of \(spec.hiddenSize) units, "
                        + "the file's layer '\(layer.name)' a Bidirectional LSTM of \(f.units)")
                }
                f.activation = spec.cellActivation; b.activation = spec.cellActivation
                f.recurrentActivation = spec.gateActivation; b.recurrentActivation = spec.gateActivation
                f.returnSequences = last ? architecture.returnSequences : true
                b.returnSequences = f.returnSequences
                plan.layers[index].kind = .bidirectional(forward: f, backward: b, merge: merge)
                k += 1
            case .dense(var cfg):
                let spec = architecture.dense[j]
                guard spec.outputSize == cfg.units else {
                    throw KerasError.architectureMismatch("dense.\(j) has \(spec.outputSize) outputs, the file's layer '\(layer.name)' \(cfg.units)")
                }
                cfg.activation = spec.activation
                plan.layers[index].kind = .dense(cfg)
                j += 1
            case .passThrough, .embedding, .masking, .activation:
                continue
            }
        }
        return plan
    }
}
