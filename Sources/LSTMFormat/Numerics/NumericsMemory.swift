extension LSTMNumerics {
    /// An upper estimate of the bytes the verifier allocates for one model and inputs [batch, steps, features]
    /// (`Spec/reliability.md`, M1): four float64 copies of the parameters (the widened model, the fused
    /// weights, their gradients, the gradient tensors returned) and twice the per-step activations of every
    /// cell and head (forward state and BPTT scratch). nil when the count overflows.
    public static func workspaceBytes(_ architecture: ModelArchitecture, batch: Int, steps: Int) -> UInt64? {
        guard let parameters = MemoryBudget.bytes(shapes: architecture.expectedTensors.map(\.shape), elementSize: 8) else { return nil }
        var width = architecture.inputSize
        for layer in architecture.layers {
            // A projected cell (M24) also keeps m(t) [H] and dh(t) [P] per step.
            for _ in layer.cells { width += 8 * layer.hiddenSize + (layer.projectionSize.map { layer.hiddenSize + $0 } ?? 0) }
            width += layer.outputSize
        }
        for d in architecture.dense { width += d.outputSize }
        guard let activations = MemoryBudget.bytes(shapes: [[steps + 1, batch, width]], elementSize: 8 * 2) else { return nil }
        let (p, o1) = parameters.multipliedReportingOverflow(by: 4)
        let (total, o2) = p.addingReportingOverflow(activations)
        return o1 || o2 ? nil : total
    }

    /// Throws `MemoryBudgetError.exceeded` when `workspaceBytes` is over `MemoryBudget.bytes`.
    public static func checkMemory(_ architecture: ModelArchitecture, batch: Int, steps: Int) throws {
        try MemoryBudget.check(workspaceBytes(architecture, batch: batch, steps: steps), for: "model's forward pass and BPTT")
    }

    /// `checkMemory` for inputs of `shape` [batch, steps, features] or token ids [batch, steps] (other ranks are left to the shape checks).
    static func checkMemory(_ architecture: ModelArchitecture, inputShape shape: [Int]) throws {
        guard shape.count >= 2, shape[0] >= 0, shape[1] >= 0 else { return }
        try checkMemory(architecture, batch: shape[0], steps: shape[1])
    }
}
