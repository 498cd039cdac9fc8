/// The verifier: forward pass (eq. 8.24) and exact BPTT for the loss of eq. 8.25, for every architecture of
/// `Spec/canonical-model.md`. The rules are in `Spec/bptt.md`.
///
/// Shapes: inputs [batch, steps, features] (features = the first LSTM layer's input size); outputs and
/// targets [batch, steps, out] for many-to-many, [batch, out] for many-to-one. h(-1) = C(-1) = 0. Gates in the
/// canonical order f, i, c, o. Matrix products go through OpenBLAS (`BLASThreads` sets its thread count).
///
/// Precision: `.float32` computes in float32 with fast vectorized exp/tanh (within ~4e-7 of the exact
/// function), `.float64` with libm; float16 and bfloat16 tensors widen exactly. float32 results agree with
/// float64 to a relative error of about 1e-5 on well-conditioned models of moderate size.
public enum LSTMNumerics {
    /// Returns [batch, steps, out] (many-to-many) or [batch, out] (many-to-one), dtype per precision.
    public static func forward(_ model: LSTMModel, inputs: Tensor, precision: Precision) throws -> Tensor {
        try checkMemory(model.architecture, inputShape: inputs.shape)
        return try PreparedModel(model, precision: precision).forward(inputs: inputs)
    }

    /// The same for float features or, for a model with an embedding, token ids [batch, steps]
    /// (`Spec/canonical-model.md` M17–M22: masked steps carry the state over). Throws `NumericsError`
    /// (`.expectedTokenIDs`, `.expectedFeatures`, `.tokenOutOfRange` naming the row and step, …).
    public static func forward(_ model: LSTMModel, input: ModelInput, precision: Precision) throws -> Tensor {
        try checkMemory(model.architecture, inputShape: input.shape)
        return try PreparedModel(model, precision: precision).forward(input)
    }

    /// Loss eq. 8.25, L = Σ over batch, steps and outputs of ½ (y − Y)² (many-to-one: the last step only), its
    /// exact gradient with respect to every canonical tensor (keyed by canonical name, shaped like the tensor,
    /// dtype per precision), and the outputs of the forward pass.
    public static func gradients(_ model: LSTMModel, inputs: Tensor, targets: Tensor, precision: Precision) throws
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        try checkMemory(model.architecture, inputShape: inputs.shape)
        return try PreparedModel(model, precision: precision).gradients(inputs: inputs, targets: targets)
    }

    /// The same for float features or token ids; with an embedding the gradient of `embedding.E` is the sum of
    /// the input gradients over the steps where each id occurs (rows of unused ids are 0, `Spec/bptt.md` B21).
    public static func gradients(_ model: LSTMModel, input: ModelInput, targets: Tensor, precision: Precision) throws
        -> (loss: Double, outputs: Tensor, gradients: [String: Tensor]) {
        try checkMemory(model.architecture, inputShape: input.shape)
        return try PreparedModel(model, precision: precision).gradients(input, targets: targets)
    }
}
