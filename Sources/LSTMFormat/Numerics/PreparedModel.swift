/// A model loaded once into the verifier's fused layout, for repeated forward passes and gradients — the
/// gradient checker's loop: perturb one weight with `setParameter`, run `forward`, restore it.
///
/// Work buffers are kept between calls with the same batch size and sequence length. Not thread-safe: use one
/// instance per thread.
public final class PreparedModel {
    private enum Storage {
        case float32(Engine<Float>)
        case float64(Engine<Double>)
    }

    public let architecture: ModelArchitecture
    public let precision: Precision
    private let storage: Storage

    /// Loads `model`'s tensors (any dtype) converted to `precision`.
    public init(_ model: LSTMModel, precision: Precision) {
        architecture = model.architecture
        self.precision = precision
        switch precision {
        case .float32: storage = .float32(Engine(model))
        case .float64: storage = .float64(Engine(model))
        }
    }

    /// See `LSTMNumerics.forward`.
    public func forward(inputs: Tensor) throws(NumericsError) -> Tensor {
        try forward(.features(inputs))
    }

    /// See `LSTMNumerics.forward`: float features or token ids (M17).
    public func forward(_ inputs: ModelInput) throws(NumericsError) -> Tensor {
        switch storage {
        case .float32(let e): try e.forward(inputs)
        case .float64(let e): try e.forward(inputs)
        }
    }

    /// See `LSTMNumerics.gradients`.
    public func gradients(inputs: Tensor, targets: Tensor) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        try gradients(.features(inputs), targets: targets)
    }

    /// See `LSTMNumerics.gradients`: float features or token ids (M17).
    public func gradients(_ inputs: ModelInput, targets: Tensor) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        switch storage {
        case .float32(let e): try e.gradients(inputs, targets: targets)
        case .float64(let e): try e.gradients(inputs, targets: targets)
        }
    }

    /// Element `index` (flat, C order) of canonical tensor `name`, as held in this precision.
    public func parameter(_ name: String, at index: Int) throws(NumericsError) -> Double {
        switch storage {
        case .float32(let e): Double(try e.weights.element(name, index))
        case .float64(let e): try e.weights.element(name, index)
        }
    }

    /// Sets one element of a canonical tensor (rounded to float32 in `.float32`). O(1).
    public func setParameter(_ name: String, at index: Int, to value: Double) throws(NumericsError) {
        switch storage {
        case .float32(let e): try e.weights.setElement(name, index, to: Float(value))
        case .float64(let e): try e.weights.setElement(name, index, to: value)
        }
    }

    /// Replaces a whole canonical tensor (same shape, any dtype).
    public func replaceTensor(_ name: String, with tensor: Tensor) throws(NumericsError) {
        switch storage {
        case .float32(let e): try e.weights.replace(name, with: tensor)
        case .float64(let e): try e.weights.replace(name, with: tensor)
        }
    }

    // MARK: in-place access for the float64 gradient checker (no copies of model-sized arrays)

    private var float64Engine: Engine<Double> {
        guard case .float64(let e) = storage else { preconditionFailure("in-place access needs a .float64 model") }
        return e
    }

    /// `.float64` only: forward + BPTT, then `body` with the loss and every canonical tensor's gradient, read in
    /// place in the fused gradient buffers (C order, shaped like the tensor). The buffers are freed afterwards.
    func withGradients<R>(inputs: ModelInput, targets: Tensor,
                          _ body: (Double, [String: UnsafeMutableBufferPointer<Double>]) throws -> R) throws -> R {
        let engine = float64Engine
        defer { engine.releaseGradientBuffers() }
        let (loss, grads) = try RowParallel.withBLASThreads { threads throws(NumericsError) in
            let r = try engine.runGradients(inputs, targets: targets, threads: threads)
            return (r.loss, r.gradients)
        }
        let regions = engine.gradientRegions(grads)
        return try body(loss, regions.mapValues { UnsafeMutableBufferPointer(start: $0.buffer.p + $0.offset, count: $0.count) })
    }

    /// `.float64` only: canonical tensor `name`'s values in place. After writing, call `didUpdate(name)`.
    func float64Values(_ name: String) throws(NumericsError) -> UnsafeMutableBufferPointer<Double> {
        try float64Engine.weights.values(name)
    }

    /// Brings derived copies up to date after `float64Values(name)` was written to.
    func didUpdate(_ name: String) throws(NumericsError) {
        switch storage {
        case .float32(let e): try e.weights.didUpdate(name)
        case .float64(let e): try e.weights.didUpdate(name)
        }
    }
}
