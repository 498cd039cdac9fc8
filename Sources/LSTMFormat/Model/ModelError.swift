/// A model that does not satisfy `Spec/canonical-model.md`.
public enum ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidArchitecture(String)
    case invalidActivation(place: String, activation: Activation)
    case missingTensor(String)
    case unexpectedTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unknownActivation(place: String, name: String)
    /// M25: a peephole value that is NaN or infinite.
    case nonFinite(tensor: String, index: Int, value: Double)

    public var description: String {
        switch self {
        case .invalidArchitecture(let why): "invalid architecture: \(why)"
        case .invalidActivation(let place, let a): "\(place) cannot be \(a.rawValue) (it must act elementwise)"
        case .missingTensor(let n): "tensor \(n) is missing"
        case .unexpectedTensor(let n): "tensor \(n) is not part of the architecture"
        case .shapeMismatch(let n, let e, let a): "tensor \(n) has shape \(a), expected \(e)"
        case .unknownActivation(let place, let name): "\(place): unknown activation '\(name)'"
        case .nonFinite(let n, let i, let v): "tensor \(n)[\(i)] is \(v); peephole weights must be finite (M25)"
        }
    }
}
