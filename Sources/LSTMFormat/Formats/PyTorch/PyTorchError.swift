/// Why a PyTorch state dict cannot be read into the canonical model or written from it
/// (`Spec/pytorch-mapping.md`, P-M and P-W rules).
public enum PyTorchError: HintedError, Equatable, Sendable {
    /// P-M6: a recurrent module that is not an nn.LSTM (nn.GRU, nn.RNN), or an LSTM option we cannot express.
    case unsupportedModule(prefix: String, module: String, reason: String)
    /// P-M1: a tensor that belongs to no nn.LSTM or nn.Linear.
    case unknownTensor(String)
    /// P-M1: an nn.LSTM or nn.Linear whose tensors are incomplete or do not fit together.
    case invalidModule(prefix: String, reason: String)
    /// P-M3: the modules cannot be put in one order (none, or several).
    case ambiguous(String)
    /// P-M4: the given architecture does not fit the state dict.
    case architectureMismatch(String)
    /// P-W1: the canonical model uses something nn.LSTM / nn.Linear cannot express.
    case notExpressible(place: String, reason: String)
    /// P-C1: no state dict found in a checkpoint dict.
    case noStateDict(keys: [String])
    /// P-C1: the requested entry does not exist or is not a state dict.
    case badKey(String, reason: String)
    /// P-M1: no nn.LSTM at all.
    case noLSTM

    public var problem: String {
        switch self {
        case .unsupportedModule(let p, let m, let r): "module '\(p.isEmpty ? "(root)" : String(p.dropLast()))' is \(m): \(r)"
        case .unknownTensor(let n): "tensor '\(n)' belongs to no nn.LSTM or nn.Linear; other modules cannot be converted"
        case .invalidModule(let p, let r): "module '\(p.isEmpty ? "(root)" : String(p.dropLast()))': \(r)"
        case .ambiguous(let why): "cannot tell how the modules connect: \(why)"
        case .architectureMismatch(let why): "the given architecture does not fit the state dict: \(why)"
        case .notExpressible(let p, let r): "cannot write a PyTorch state dict: \(p) \(r)"
        case .noStateDict(let keys): "no state dict of tensors found in the checkpoint (top-level keys: \(keys.joined(separator: ", ")))"
        case .badKey(let k, let r): "checkpoint entry '\(k)' \(r)"
        case .noLSTM: "the state dict has no nn.LSTM weights (weight_ih_l0, weight_hh_l0)"
        }
    }

    public var hint: CallerHint? {
        switch self {
        case .ambiguous, .architectureMismatch: .architecture
        case .noStateDict, .badKey: .key
        default: nil
        }
    }
}
