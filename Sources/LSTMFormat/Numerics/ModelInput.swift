/// Integer token ids [batch, steps] for a model with an input embedding (`Spec/canonical-model.md` M17).
/// Values are kept as read (int32 or int64 arrays widen exactly); the numerics check each against the
/// vocabulary.
public struct TokenIDs: Sendable, Equatable {
    /// [batch, steps].
    public let shape: [Int]
    /// C order, batch-major: ids[b · steps + t].
    public let ids: [Int64]

    /// Throws `NumericsError.tokenShape` unless `shape` is [batch, steps] holding `ids.count` values.
    public init(shape: [Int], ids: [Int64]) throws(NumericsError) {
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }), Tensor.elementCount(shape) == ids.count else {
            throw .tokenShape(actual: shape)
        }
        self.shape = shape
        self.ids = ids
    }
}

/// What a model reads: float features [batch, steps, features] (a model without an embedding) or token ids
/// [batch, steps] (a model with one). M17: giving the other kind is an error.
public enum ModelInput: Sendable, Equatable {
    case features(Tensor)
    case tokens(TokenIDs)

    /// [batch, steps, features] or [batch, steps].
    public var shape: [Int] {
        switch self {
        case .features(let t): t.shape
        case .tokens(let ids): ids.shape
        }
    }
}

extension ModelInput {
    /// M18 (`Spec/canonical-model.md`), the one place its rule is written: which steps of this input `architecture`
    /// masks, batch-major [b · steps + t], true where masked. An embedding with `maskZero` masks a step whose id is 0;
    /// a mask value v masks a step whose every feature equals it, compared as Keras compares them: the features
    /// rounded to the model's compute dtype (`LSTMModel.maskComparisonDType`: float64 for a float64 model, else
    /// float32) and v rounded to float32 once (Keras keeps the mask value as a float32 constant). So a float64 or
    /// float16 input file masks the steps it masks in a float32 pass and in a float64 one. nil when the model masks
    /// nothing. Expects a validated input (features [batch, steps, features]); `Engine.prepare` (the numerics) and
    /// B19c's masked loss (`LossConvention`) both take their mask from here.
    func maskedSteps(_ architecture: ModelArchitecture, dtype: DType) -> [Bool]? {
        switch self {
        case .tokens(let ids):
            guard architecture.embedding?.maskZero == true else { return nil }
            return ids.ids.map { $0 == 0 }
        case .features(let x):
            guard let v = architecture.maskValue, x.shape.count == 3 else { return nil }
            let (batch, steps, features) = (x.shape[0], x.shape[1], x.shape[2])
            let compared = dtype == .float64 ? DType.float64 : .float32
            let rounded = (x.dtype == compared ? x : x.converted(to: compared)).float64Values()
            let value = Double(Float(v))
            return (0..<(batch * steps)).map { k in (0..<features).allSatisfy { rounded[k * features + $0] == value } }
        }
    }
}

extension LSTMModel {
    /// M18: the dtype the mask value is compared in: float64 when the first LSTM layer's W is float64 (a float64
    /// Keras model), else float32 (Keras casts a float32 model's inputs to float32 before `Masking`; float16 and
    /// bfloat16 models compute in float32 here).
    public var maskComparisonDType: DType {
        let a = architecture
        guard let first = a.layers.first?.cells.first,
              let w = tensors[TensorName.lstm(0, first, .W, .f)] else { return .float32 }
        return w.dtype == .float64 ? .float64 : .float32
    }
}
