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
    /// K-C10: a subclassed model's config (no layer list) whose weights do not show the architecture either.
    case subclassedModel(className: String)
    /// K-A1: weight arrays in the file that no layer of the model takes.
    case unmappedWeights([String])
    /// K-O1: a config layer's weights assigned by position got arrays of another shape (names both sides).
    case positionalMismatch(configLayer: String, fileLayer: String, detail: String)

    /// The layer a shape or count error is about.
    var layerName: String? {
        switch self {
        case .weightShape(let l, _, _, _): l
        case .invalidConfig(let why) where why.hasPrefix("layer '"): String(why.dropFirst(7).prefix { $0 != "'" })
        default: nil
        }
    }

    /// The problem without the layer's name.
    var detail: String {
        switch self {
        case .weightShape(_, let w, let e, let a): "\(w) has shape \(a), the config's layer needs \(e)"
        case .invalidConfig(let why): why.drop { $0 != ":" }.dropFirst().trimmingCharacters(in: .whitespaces)
        default: problem
        }
    }

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
        case .subclassedModel(let c):
            "the model is a subclassed model ('\(c)'): its config has no layer list"
        case .unmappedWeights(let paths):
            "weight arrays that no layer of the model takes: \(paths.prefix(6).joined(separator: ", "))\(paths.count > 6 ? " and \(paths.count - 6) more" : ""); every array must map into the model (only optimizer state is skipped)"
        case .positionalMismatch(let c, let f, let d):
            "the config's layer '\(c)' takes the weights of the file's layer '\(f)' (Keras assigns legacy .h5 weights by position): \(d)"
        }
    }

    public var hint: CallerHint? {
        switch self {
        case .cannotInferArchitecture, .subclassedModel: .kerasConfig
        case .bfloat16: .dtype(.float32)
        default: nil
        }
    }
}
