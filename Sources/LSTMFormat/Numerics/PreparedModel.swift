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
    public convenience init(_ model: LSTMModel, precision: Precision) {
        self.init(model, precision: precision, transposedU: true)
    }

    /// `transposedU: false` keeps no transposed copy of U (one model-sized buffer less, slightly slower steps):
    /// for the checks, which hold a float64 copy of a model that may be large. `streamed` (float64 only, B31):
    /// the LSTM layers are converted from `model` one at a time, when a pass reaches them, into one buffer the
    /// size of the largest layer; the model must then stay unchanged, and tensors change only through
    /// `setAdjustment` and `setParameter`.
    init(_ model: LSTMModel, precision: Precision, transposedU: Bool, streamed: Bool = false) {
        architecture = model.architecture
        self.precision = precision
        switch precision {
        case .float32: storage = .float32(Engine(model, transposedU: transposedU))
        case .float64: storage = .float64(Engine(model, transposedU: transposedU, streamed: streamed))
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

    /// Forward + BPTT whose gradients are formed one tensor at a time (`Spec/bptt.md` B30): no model-sized
    /// gradient buffer exists unless the caller makes one. The result is valid until the next call on this model.
    func gradientsByTensor(_ inputs: ModelInput, targets: Tensor) throws(NumericsError)
        -> (loss: Double, outputs: Tensor, gradients: TensorGradients) {
        switch storage {
        case .float32(let e):
            let r = try RowParallel.withBLASThreads { threads throws(NumericsError) in try e.runGradients(inputs, targets: targets, threads: threads) }
            return (r.loss, r.outputs, .float32(r.gradients))
        case .float64(let e):
            let r = try RowParallel.withBLASThreads { threads throws(NumericsError) in try e.runGradients(inputs, targets: targets, threads: threads) }
            return (r.loss, r.outputs, .float64(r.gradients))
        }
    }

    /// Streamed `.float64` only (B31): every parameter becomes θ from the model passed through `adjust(name,
    /// start, values)` (nil: θ), applied to each tensor's float64 values as they are converted — `values` are
    /// the tensor's elements from index `start` on, and parts of one tensor may be adjusted on several threads at
    /// once (B39); parameters set before are forgotten.
    func setAdjustment(_ adjust: ((String, Int, UnsafeMutableBufferPointer<Double>) -> Void)?) {
        float64Engine.weights.setAdjustment(adjust)
    }

    /// Streamed `.float64` only (B31): room for `count` values that holds no parameter now (the streamed layers'
    /// buffer), or nil when it is smaller than `count`.
    func float64Scratch(count: Int) -> UnsafeMutableBufferPointer<Double>? {
        float64Engine.weights.scratch(count: count)
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

/// The gradients of one forward + BPTT, formed per canonical tensor when asked for (`GradientState`).
enum TensorGradients {
    case float32(GradientState<Float>)
    case float64(GradientState<Double>)

    /// Tensor `name`'s gradient as float64 values (exact for either precision) in a buffer of its own.
    func float64Values(_ name: String) throws(NumericsError) -> [Double] {
        switch self {
        case .float64(let s):
            guard let shape = s.shape(name) else { throw .unknownTensor(name) }
            var values = [Double](repeating: 0, count: shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { (b) throws(NumericsError) in
                if let base = b.baseAddress { try s.write(name, into: base) }
            }
            return values
        case .float32(let s):
            return try s.tensor(name).float64Values()
        }
    }
}
