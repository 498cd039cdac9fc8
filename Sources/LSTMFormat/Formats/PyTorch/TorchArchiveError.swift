/// Why a torch.save file cannot be read (`Spec/pytorch-mapping.md`, P-Z rules).
public enum TorchArchiveError: Error, CustomStringConvertible, Equatable, Sendable {
    /// P-Z4: the pre-1.6 pickle-stream format.
    case legacyFormat
    /// P-Z4: a TorchScript archive (torch.jit.save).
    case torchScript
    /// P-Z1: not exactly one `<dir>/data.pkl`, a big-endian archive, or a member over the limit.
    case layout(String)
    /// P-Z2: a storage record that is missing or shorter than its elements.
    case storage(key: String, reason: String)
    /// P-Z3: a tensor whose view does not fit its storage, or whose dtype the canonical model cannot hold.
    case tensor(name: String, reason: String)

    public var description: String {
        switch self {
        case .legacyFormat:
            "a torch.save file in the legacy (pre-1.6) format, which is not supported; load it in PyTorch and save it again with torch.save (zip format)"
        case .torchScript:
            "a TorchScript archive (torch.jit.save): it holds code, not a state dict; save model.state_dict() with torch.save instead"
        case .layout(let why): "not a readable torch.save archive: \(why)"
        case .storage(let k, let r): "storage data/\(k): \(r)"
        case .tensor(let n, let r): "tensor '\(n)': \(r)"
        }
    }
}
