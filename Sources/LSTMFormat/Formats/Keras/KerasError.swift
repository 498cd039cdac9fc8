/// Why a Keras file or model cannot be read or written (`Spec/keras-mapping.md`).
public enum KerasError: HintedError, Equatable, Sendable {
    /// K-R1: a layer class the canonical model cannot express.
    case unsupportedLayer(name: String, className: String, reason: String)
    /// K-R2: a supported layer class with an option the canonical model cannot express.
    case unsupportedOption(layer: String, className: String, option: String, value: String, reason: String)
    /// K-R3: a functional model whose graph is not a straight chain.
    case notAChain(layer: String, reason: String)
    /// The config JSON is not a Keras model config.
    case invalidConfig(String)
    /// A weight the config names is absent from the file.
    case missingWeight(layer: String, path: String)
    /// A weight has a shape the config does not allow.
    case weightShape(layer: String, weight: String, expected: [Int], actual: [Int])
    /// The file lacks a piece its layout requires (e.g. `config.json` in a `.keras` archive).
    case missingEntry(String)
    /// A weights-only file whose layers cannot be ordered into a model from their shapes alone.
    case cannotInferArchitecture(String)
    /// K-W1: the canonical model uses something the target Keras file cannot express.
    case notExpressible(target: String, place: String, reason: String)
    /// K-W1: Keras cannot load bfloat16 weights.
    case bfloat16(target: String, tensor: String)
    /// O2: the architecture given for a weights-only file does not fit its weights.
    case architectureMismatch(String)

    public var problem: String {
        switch self {
        case .unsupportedLayer(let n, let c, let r):
            "layer '\(n)' (\(c)) is not supported: \(r)"
        case .unsupportedOption(let l, let c, let o, let v, let r):
            "layer '\(l)' (\(c)): \(o)=\(v) is not supported: \(r)"
        case .notAChain(let l, let r):
            "layer '\(l)': the functional model is not a straight chain (\(r)); only chains of layers are supported"
        case .invalidConfig(let why):
            "not a usable Keras model config: \(why)"
        case .missingWeight(let l, let p):
            "layer '\(l)': weight \(p) is missing from the file"
        case .weightShape(let l, let w, let e, let a):
            "layer '\(l)': weight \(w) has shape \(a), expected \(e)"
        case .missingEntry(let what):
            "not a complete Keras file: \(what) is missing"
        case .cannotInferArchitecture(let why):
            "cannot infer the architecture from the weight shapes (\(why))"
        case .notExpressible(let t, let p, let r):
            "cannot write a \(t) file: \(p) \(r)"
        case .bfloat16(let t, let n):
            "cannot write a \(t) file: \(n) is bfloat16: Keras cannot load bfloat16 weights"
        case .architectureMismatch(let why):
            "the given architecture does not fit the weights in the file: \(why)"
        }
    }

    public var hint: CallerHint? {
        switch self {
        case .cannotInferArchitecture: .kerasConfig
        case .bfloat16: .dtype(.float32)
        default: nil
        }
    }
}
