/// ONNX activation names and their alpha/beta ↔ canonical activations (O-R5, O-R9, O-W3).
enum ONNXActivations {
    /// Activations of the RNN operators that consume entries of `activation_alpha` / `activation_beta`
    /// (alpha, beta), per the ONNX operator documentation.
    private static let parameterCount: [String: (Int, Int)] = [
        "Affine": (1, 1), "LeakyRelu": (1, 0), "ThresholdedRelu": (1, 0), "ScaledTanh": (1, 1),
        "HardSigmoid": (1, 1), "Elu": (1, 0), "Softsign": (0, 0), "Softplus": (0, 0),
        "Sigmoid": (0, 0), "Tanh": (0, 0), "Relu": (0, 0),
    ]

    /// HardSigmoid's alpha for each canonical hard sigmoid, as the float32 an ONNX attribute holds.
    static let keras2Alpha = Float(0.2), keras3Alpha = Float(1.0 / 6.0), hardSigmoidBeta = Float(0.5)

    /// The canonical activation of an ONNX activation with its alpha and beta (nil when they do not apply).
    static func canonical(_ name: String, alpha: Float?, beta: Float?) -> Activation? {
        switch name {
        case "Sigmoid": return .sigmoid
        case "Tanh": return .tanh
        case "Relu": return .relu
        case "Affine": return (alpha ?? 1) == 1 && (beta ?? 0) == 0 ? .linear : nil
        case "HardSigmoid":
            guard (beta ?? hardSigmoidBeta) == hardSigmoidBeta else { return nil }
            switch alpha ?? keras2Alpha {
            case keras2Alpha: return .hardSigmoidKeras2
            case keras3Alpha: return .hardSigmoidKeras3
            default: return nil
            }
        default: return nil
        }
    }

    /// The gate and cell activations of an LSTM node: f, g, h per direction; g = h; both directions alike.
    static func parse(_ ctx: ONNXNodeContext, directions: Int) throws(ONNXError) -> (gate: Activation, cell: Activation) {
        let names = ctx.strings("activations") ?? Array(repeating: ["Sigmoid", "Tanh", "Tanh"], count: directions).flatMap { $0 }
        guard names.count == 3 * directions else { throw ctx.refuse("activations lists \(names.count) functions; \(3 * directions) are expected") }
        var alphas = ctx.floats("activation_alpha") ?? [], betas = ctx.floats("activation_beta") ?? []
        var mapped: [Activation] = []
        for name in names {
            guard let (na, nb) = parameterCount[name] else { throw ctx.refuse("activation \(name) is not supported") }
            let alpha = na > 0 && !alphas.isEmpty ? alphas.removeFirst() : nil
            let beta = nb > 0 && !betas.isEmpty ? betas.removeFirst() : nil
            guard let a = canonical(name, alpha: alpha, beta: beta) else {
                throw ctx.refuse("activation \(name)(alpha \(alpha.map { "\($0)" } ?? "default"), beta \(beta.map { "\($0)" } ?? "default")) has no canonical equivalent (only HardSigmoid with alpha 0.2 or 1/6 and beta 0.5, Affine(1, 0), Sigmoid, Tanh, Relu)")
            }
            mapped.append(a)
        }
        let first = Array(mapped[0..<3])
        if directions == 2, Array(mapped[3..<6]) != first {
            throw ctx.refuse("the two directions use different activations (\(names.joined(separator: ", "))); a canonical layer has one pair")
        }
        guard first[1] == first[2] else {
            throw ctx.refuse("the candidate activation \(names[1]) differs from the output activation \(names[2]); the canonical cell uses one for both")
        }
        guard first[0].isElementwise, first[1].isElementwise else { throw ctx.refuse("softmax cannot be a gate activation") }
        return (first[0], first[1])
    }

    /// The ONNX node for a canonical activation after a dense layer: op_type and HardSigmoid's attributes.
    static func onnx(_ a: Activation) -> (opType: String, alpha: Float?)? {
        switch a {
        case .linear: nil
        case .sigmoid: ("Sigmoid", nil)
        case .tanh: ("Tanh", nil)
        case .relu: ("Relu", nil)
        case .softmax: ("Softmax", nil)
        case .hardSigmoidKeras2: ("HardSigmoid", keras2Alpha)
        case .hardSigmoidKeras3: ("HardSigmoid", keras3Alpha)
        }
    }

    /// The LSTM `activations` entry for a canonical gate or cell activation, with its alpha and beta.
    static func lstmEntry(_ a: Activation) -> (name: String, alpha: Float?, beta: Float?) {
        switch a {
        case .linear: ("Affine", 1, 0)
        case .sigmoid: ("Sigmoid", nil, nil)
        case .tanh: ("Tanh", nil, nil)
        case .relu: ("Relu", nil, nil)
        case .softmax: ("Softmax", nil, nil)  // never valid: refused by ModelArchitecture.validate (M8)
        case .hardSigmoidKeras2: ("HardSigmoid", keras2Alpha, hardSigmoidBeta)
        case .hardSigmoidKeras3: ("HardSigmoid", keras3Alpha, hardSigmoidBeta)
        }
    }
}
