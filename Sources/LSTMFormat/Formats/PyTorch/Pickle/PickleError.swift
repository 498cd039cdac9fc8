/// Why a pickle is refused (`Spec/pytorch-mapping.md`, P-P rules). The unpickler never calls anything: it
/// refuses what `torch.load(weights_only=True)` refuses, naming the opcode or global.
public enum PickleError: Error, CustomStringConvertible, Equatable, Sendable {
    /// P-P1: an opcode outside the weights-only set.
    case opcode(UInt8, name: String, offset: Int)
    /// P-P2: a global from a blocked module (os, posix, nt, sys).
    case blockedGlobal(String)
    /// P-P2: a global outside the weights-only allow list.
    case forbiddenGlobal(String)
    /// P-P3: a well-formedness problem (stack underflow, missing memo entry, truncated argument, …).
    case malformed(String, offset: Int)
    /// P-P3: a call, object construction or BUILD that weights-only loading does not allow.
    case forbiddenCall(String)

    public var description: String {
        switch self {
        case .opcode(let op, let name, let at): "pickle opcode \(name) (0x\(String(op, radix: 16))) at byte \(at) is not allowed in a weights-only file"
        case .blockedGlobal(let g): "pickle refers to \(g), whose module is blocked: the file tries to run code; nothing was run"
        case .forbiddenGlobal(let g): "pickle refers to global \(g), which weights-only loading does not allow (torch.load(weights_only=True) refuses it too); nothing was run"
        case .malformed(let why, let at): "malformed pickle at byte \(at): \(why)"
        case .forbiddenCall(let why): "pickle \(why), which weights-only loading does not allow; nothing was run"
        }
    }
}
