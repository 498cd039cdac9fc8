import Foundation

/// The canonical in-memory LSTM model (`Spec/canonical-model.md`): an architecture, one tensor per canonical
/// name, and a string metadata map. Every file format reads into this and writes from it.
///
/// A value of this type is always valid: the initializer checks that the architecture is consistent and that
/// exactly the expected tensors are present with the expected shapes (dtypes may differ per tensor).
public struct LSTMModel: Sendable, Equatable {
    public let architecture: ModelArchitecture
    /// Keyed by canonical name (`lstm.0.fwd.W_f`, `dense.0.V`, …).
    public let tensors: [String: Tensor]
    /// Source format, source tool and version, names in the source file, user annotations.
    public var metadata: [String: String]

    public init(architecture: ModelArchitecture, tensors: [String: Tensor], metadata: [String: String] = [:]) throws(ModelError) {
        try architecture.validate()
        let expected = architecture.expectedTensors
        for (name, shape) in expected {
            guard let t = tensors[name] else { throw .missingTensor(name) }
            guard t.shape == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: t.shape) }
        }
        // M25: peepholes must be finite (3H values per cell, so checking them costs nothing).
        for (k, layer) in architecture.layers.enumerated() where layer.peepholes {
            for cell in layer.cells {
                for g in Gate.peepholed {
                    let name = TensorName.peephole(k, cell, g)
                    if let (i, v) = tensors[name]?.float64Values().enumerated().first(where: { !$0.element.isFinite }) {
                        throw .nonFinite(tensor: name, index: i, value: v)
                    }
                }
            }
        }
        if tensors.count != expected.count {
            let known = Set(expected.map(\.name))
            if let extra = tensors.keys.sorted().first(where: { !known.contains($0) }) { throw .unexpectedTensor(extra) }
        }
        self.architecture = architecture
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Tensors in canonical order (layer by layer, fwd before bwd, W then U then b, gates f, i, c, o; then the
    /// dense layers).
    public var orderedTensors: [(name: String, tensor: Tensor)] {
        architecture.expectedTensors.map { ($0.name, tensors[$0.name]!) }
    }

    public func tensor(_ name: String) -> Tensor? { tensors[name] }

    /// The distinct dtypes the model uses, in `DType.allCases` order.
    public var dtypes: [DType] {
        let used = Set(tensors.values.map(\.dtype))
        return DType.allCases.filter(used.contains)
    }

    /// The same model with every tensor converted to `dtype` (round to nearest-even).
    public func converted(to dtype: DType) -> LSTMModel {
        try! LSTMModel(architecture: architecture, tensors: tensors.mapValues { $0.converted(to: dtype) }, metadata: metadata)
    }

    /// The same model with some tensors replaced (shapes are re-checked).
    public func replacing(_ replacements: [String: Tensor]) throws(ModelError) -> LSTMModel {
        var t = tensors
        for (name, tensor) in replacements {
            guard t[name] != nil else { throw .unexpectedTensor(name) }
            t[name] = tensor
        }
        return try LSTMModel(architecture: architecture, tensors: t, metadata: metadata)
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.elementCount } }
}
