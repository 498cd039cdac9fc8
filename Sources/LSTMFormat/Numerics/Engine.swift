/// The verifier for one model in one precision: fused weights plus work buffers reused across calls with the
/// same (batch, steps).
final class Engine<T: BLASScalar> {
    let weights: Weights<T>
    private var cached: Workspace<T>?

    init(_ model: LSTMModel) {
        weights = Weights(model)
    }

    var architecture: ModelArchitecture { weights.architecture }

    /// The output shape for inputs [B, T, I]: [B, T, out] (many-to-many) or [B, out] (many-to-one).
    func outputShape(batch: Int, steps: Int) -> [Int] {
        architecture.returnSequences ? [batch, steps, architecture.outputSize] : [batch, architecture.outputSize]
    }

    /// Validates `inputs`, copies them time-major into the (reused) workspace and returns it.
    func prepare(_ inputs: Tensor) throws(NumericsError) -> Workspace<T> {
        let shape = inputs.shape
        guard shape.count == 3 else { throw .inputRank(actual: shape) }
        guard shape[2] == architecture.inputSize else {
            throw .inputFeatures(expected: architecture.inputSize, actual: shape[2])
        }
        guard shape[0] >= 1, shape[1] >= 1 else { throw .emptyInput(shape: shape) }
        let batch = shape[0], steps = shape[1], features = shape[2]
        try Workspace<T>.check(architecture: architecture, batch: batch, steps: steps, shape: shape)
        let ws: Workspace<T>
        if let c = cached, c.batch == batch, c.steps == steps {
            ws = c
        } else {
            ws = Workspace(architecture: architecture, batch: batch, steps: steps)
            cached = ws
        }
        let values = T.values(of: inputs)
        values.withUnsafeBufferPointer { src in
            guard let src = src.baseAddress else { return }
            for b in 0..<batch {
                for t in 0..<steps {
                    (ws.inputs.p + (t * batch + b) * features).update(from: src + (b * steps + t) * features, count: features)
                }
            }
        }
        return ws
    }

    /// Copies the head's time-major rows into a batch-major output tensor.
    func outputTensor(_ head: UnsafePointer<T>, _ ws: Workspace<T>) -> Tensor {
        let out = architecture.outputSize
        let shape = outputShape(batch: ws.batch, steps: ws.steps)
        if !architecture.returnSequences {
            return T.tensor(shape: shape, values: UnsafeBufferPointer(start: head, count: ws.batch * out))
        }
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

    func forward(_ inputs: Tensor) throws(NumericsError) -> Tensor {
        try RowParallel.withBLASThreads { threads throws(NumericsError) in
            let ws = try prepare(inputs)
            ws.parts = threads
            return outputTensor(runForward(ws), ws)
        }
    }

    func gradients(_ inputs: Tensor, targets: Tensor) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        try RowParallel.withBLASThreads { threads throws(NumericsError) in
            try gradients(inputs, targets: targets, threads: threads)
        }
    }

    private func gradients(_ inputs: Tensor, targets: Tensor, threads: Int) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
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
        return (loss, outputs, gradientTensors(grads))
    }

    /// The fused gradients cut back into canonical tensors (same ranges as `Weights.locations`).
    private func gradientTensors(_ g: GradientWorkspace<T>) -> [String: Tensor] {
        var match: [ObjectIdentifier: Buffer<T>] = [:]
        for (k, cells) in weights.cells.enumerated() {
            for (c, cell) in cells.enumerated() {
                match[ObjectIdentifier(cell.W)] = g.cells[k][c].W
                match[ObjectIdentifier(cell.U)] = g.cells[k][c].U
                match[ObjectIdentifier(cell.b)] = g.cells[k][c].b
            }
        }
        for j in weights.denseV.indices {
            match[ObjectIdentifier(weights.denseV[j])] = g.denseV[j]
            match[ObjectIdentifier(weights.denseC[j])] = g.denseC[j]
        }
        var out: [String: Tensor] = [:]
        for (name, loc) in weights.locations {
            // Every weight buffer has a gradient buffer of the same size (both built from the architecture).
            if let buffer = match[ObjectIdentifier(loc.buffer)] {
                out[name] = buffer.tensor(shape: loc.shape, offset: loc.offset, count: loc.count)
            }
        }
        return out
    }
}
