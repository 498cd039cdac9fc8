import Foundation

/// The verifier for one model in one precision: fused weights plus work buffers reused across calls with the
/// same (batch, steps).
final class Engine<T: BLASScalar> {
    let weights: Weights<T>
    private var cached: Workspace<T>?

    /// M18: the dtype the model's mask value is compared in (`LSTMModel.maskComparisonDType`).
    let maskDType: DType

    init(_ model: LSTMModel, transposedU: Bool = true, streamed: Bool = false) {
        weights = Weights(model, transposedU: transposedU, streamed: streamed)
        maskDType = model.maskComparisonDType
    }

    var architecture: ModelArchitecture { weights.architecture }

    /// The output shape for inputs [B, T, I]: [B, T, out] (many-to-many) or [B, out] (many-to-one).
    func outputShape(batch: Int, steps: Int) -> [Int] {
        architecture.returnSequences ? [batch, steps, architecture.outputSize] : [batch, architecture.outputSize]
    }

    /// The reused workspace for (batch, steps).
    private func workspace(batch: Int, steps: Int) -> Workspace<T> {
        if let c = cached, c.batch == batch, c.steps == steps { return c }
        let ws = Workspace<T>(architecture: architecture, batch: batch, steps: steps)
        cached = ws
        return ws
    }

    /// Validates `input`, fills the workspace's time-major inputs (looking token ids up in E, M17) and its mask
    /// (M18), and returns it.
    func prepare(_ input: ModelInput) throws(NumericsError) -> Workspace<T> {
        switch input {
        case .features(let x):
            guard architecture.embedding == nil else { throw .expectedTokenIDs }
            return try prepare(x)
        case .tokens(let ids):
            guard let embedding = architecture.embedding, let table = weights.embedding else { throw .expectedFeatures }
            return try prepare(ids, vocabulary: embedding.vocabularySize, table: table.p)
        }
    }

    /// M18: the workspace's time-major mask [t · batch + b] (1 computed, 0 masked) from `input.maskedSteps`.
    private func fillMask(_ ws: Workspace<T>, _ input: ModelInput) {
        guard let mask = ws.mask, let masked = input.maskedSteps(architecture, dtype: maskDType) else { return }
        for b in 0..<ws.batch {
            for t in 0..<ws.steps { mask[t * ws.batch + b] = masked[b * ws.steps + t] ? 0 : 1 }
        }
    }

    private func prepare(_ tokens: TokenIDs, vocabulary: Int, table: UnsafePointer<T>) throws(NumericsError) -> Workspace<T> {
        let batch = tokens.shape[0], steps = tokens.shape[1], width = architecture.inputSize
        guard batch >= 1, steps >= 1 else { throw .emptyInput(shape: tokens.shape) }
        for (k, id) in tokens.ids.enumerated() where id < 0 || id >= Int64(vocabulary) {
            throw .tokenOutOfRange(row: k / steps, step: k % steps, id: id, vocabulary: vocabulary)
        }
        try Workspace<T>.check(architecture: architecture, batch: batch, steps: steps, shape: tokens.shape)
        let ws = workspace(batch: batch, steps: steps)
        for b in 0..<batch {
            for t in 0..<steps {
                let id = Int(tokens.ids[b * steps + t])
                (ws.inputs.p + (t * batch + b) * width).update(from: table + id * width, count: width)
            }
        }
        fillMask(ws, .tokens(tokens))
        ws.tokenIDs = tokens.ids
        return ws
    }

    /// Validates float `inputs`, copies them time-major into the (reused) workspace and returns it.
    func prepare(_ inputs: Tensor) throws(NumericsError) -> Workspace<T> {
        let shape = inputs.shape
        guard shape.count == 3 else { throw .inputRank(actual: shape) }
        guard shape[2] == architecture.inputSize else {
            throw .inputFeatures(expected: architecture.inputSize, actual: shape[2])
        }
        guard shape[0] >= 1, shape[1] >= 1 else { throw .emptyInput(shape: shape) }
        let batch = shape[0], steps = shape[1], features = shape[2]
        try Workspace<T>.check(architecture: architecture, batch: batch, steps: steps, shape: shape)
        let ws = workspace(batch: batch, steps: steps)
        let row = features * MemoryLayout<T>.stride
        /// Row (b, t) of `src` (batch-major, T's bytes) to row t·B + b of the time-major workspace.
        func copyRows(from src: UnsafeRawBufferPointer) {
            guard let src = src.baseAddress else { return }
            for b in 0..<batch {
                for t in 0..<steps {
                    UnsafeMutableRawPointer(ws.inputs.p + (t * batch + b) * features)
                        .copyMemory(from: src + (b * steps + t) * row, byteCount: row)
                }
            }
        }
        // B50: inputs already in the workspace's precision are copied from their bytes (no decoded array between).
        if Self.hostLittleEndian && inputs.dtype == T.dtype {
            inputs.bytes.withUnsafeBytes(copyRows)
        } else {
            T.values(of: inputs).withUnsafeBytes(copyRows)
        }
        fillMask(ws, .features(inputs))
        return ws
    }

    /// Whether tensor bytes (little-endian, `Tensor.bytes`) are the host's own representation of T.
    private static var hostLittleEndian: Bool {
        #if _endian(little)
        true
        #else
        false
        #endif
    }

    /// Copies the head's time-major rows into a batch-major output tensor.
    func outputTensor(_ head: UnsafePointer<T>, _ ws: Workspace<T>) -> Tensor {
        let out = architecture.outputSize
        let shape = outputShape(batch: ws.batch, steps: ws.steps)
        if !architecture.returnSequences {
            return T.tensor(shape: shape, values: UnsafeBufferPointer(start: head, count: ws.batch * out))
        }
        let row = out * MemoryLayout<T>.stride
        guard Self.hostLittleEndian else {
            var values = [T](repeating: 0, count: ws.batch * ws.steps * out)
            values.withUnsafeMutableBufferPointer { dst in
                for b in 0..<ws.batch {
                    for t in 0..<ws.steps {
                        (dst.baseAddress! + (b * ws.steps + t) * out).update(from: head + (t * ws.batch + b) * out, count: out)
                    }
                }
            }
            return values.withUnsafeBufferPointer { T.tensor(shape: shape, values: $0) }
        }
        // B50: the batch-major rows written straight into the tensor's bytes (one buffer, one copy).
        var bytes = Data(count: ws.batch * ws.steps * row)
        bytes.withUnsafeMutableBytes { raw in
            guard let dst = raw.baseAddress else { return }
            for b in 0..<ws.batch {
                for t in 0..<ws.steps {
                    (dst + (b * ws.steps + t) * row).copyMemory(from: head + (t * ws.batch + b) * out, byteCount: row)
                }
            }
        }
        return try! Tensor(dtype: T.dtype, shape: shape, bytes: bytes)
    }

    func forward(_ inputs: ModelInput) throws(NumericsError) -> Tensor {
        try RowParallel.withBLASThreads { threads throws(NumericsError) in
            let ws = try prepare(inputs)
            ws.parts = threads
            return outputTensor(runForward(ws), ws)
        }
    }

    func gradients(_ inputs: ModelInput, targets: Tensor) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        try RowParallel.withBLASThreads { threads throws(NumericsError) in
            try gradients(inputs, targets: targets, threads: threads)
        }
    }

    private func gradients(_ inputs: ModelInput, targets: Tensor, threads: Int) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        let (loss, outputs, state) = try runGradients(inputs, targets: targets, threads: threads)
        // B45: every tensor at once, a cell's W and U gradients from one product each.
        let all = state.allTensors(threads: threads)
        var tensors: [String: Tensor] = [:]
        for name in weights.locations.keys {
            if let t = all[name] { tensors[name] = t } else { tensors[name] = try state.tensor(name, threads: threads) }
        }
        return (loss, outputs, tensors)
    }

    /// Forward + BPTT; the gradients are formed from the returned state one tensor at a time (B30). The state
    /// shares the cached workspace: it is valid until the next call.
    func runGradients(_ inputs: ModelInput, targets: Tensor, threads: Int) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: GradientState<T>) {
        let ws = try prepare(inputs)
        ws.parts = threads
        let expected = outputShape(batch: ws.batch, steps: ws.steps)
        guard targets.shape == expected else { throw .targetsShape(expected: expected, actual: targets.shape) }
        let head = runForward(ws)
        let outputs = outputTensor(head, ws)
        let grads: GradientWorkspace<T>
        if let g = ws.gradients {
            grads = g
        } else {
            grads = GradientWorkspace(architecture: architecture, batch: ws.batch, steps: ws.steps)
            ws.gradients = grads
        }
        let loss = runBackward(ws, grads, head: head, targets: T.values(of: targets))
        return (loss, outputs, GradientState(architecture: architecture, workspace: ws, gradients: grads))
    }
}
