import Foundation
import LSTMFormat

/// Seeded random models and the list of architecture variants every numeric and format test can run over.
enum RandomModels {
    /// A named architecture, printed by `@Test(arguments:)`.
    struct Variant: CustomStringConvertible, Sendable {
        let name: String
        let architecture: ModelArchitecture
        var description: String { name }
    }

    /// A variant run plain or with masked, padded inputs (`NumericsMaskingTests.masked`), printed by
    /// `@Test(arguments:)` as the variant's name, `+mask-value` when masked.
    struct MaskedCase: CustomStringConvertible, Sendable {
        var variant: Variant
        var masked: Bool
        var description: String { variant.name + (masked ? "+mask-value" : "") }

        /// Each of `variants` plain, then masked.
        static func plainAndMasked(_ variants: [Variant]) -> [MaskedCase] {
            variants.flatMap { [MaskedCase(variant: $0, masked: false), MaskedCase(variant: $0, masked: true)] }
        }
    }

    /// Layers (direction, merge, peepholes, projection) with hidden 4, input 3, chained; a tanh dense head of
    /// width 2 unless `dense` is false. The projection and peephole suites build their variants with it.
    static func chained(_ layers: [(Direction, MergeMode?, Bool, Int?)], returnSequences: Bool = true,
                        dense: Bool = true, gate: Activation = .sigmoid, cell: Activation = .tanh) -> ModelArchitecture {
        var specs: [LSTMLayerSpec] = []
        var width = 3
        for (direction, merge, peepholes, p) in layers {
            let spec = LSTMLayerSpec(inputSize: width, hiddenSize: 4, direction: direction, mergeMode: merge,
                                     gateActivation: gate, cellActivation: cell, projectionSize: p, peepholes: peepholes)
            specs.append(spec)
            width = spec.outputSize
        }
        return ModelArchitecture(layers: specs, returnSequences: returnSequences,
                                 dense: dense ? [DenseLayerSpec(inputSize: width, outputSize: 2, activation: .tanh)] : [])
    }

    /// A model of `architecture` with every weight uniform in [-scale, scale) from `seed` (tensors drawn in
    /// canonical order), stored in `dtype`.
    static func make(architecture: ModelArchitecture, dtype: DType = .float32, seed: UInt64, scale: Double = 0.5) -> LSTMModel {
        var rng = SeededRandom(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in architecture.expectedTensors {
            let n = shape.reduce(1, *)
            tensors[name] = Tensor(shape: shape, values: rng.values(n, scale: scale), dtype: dtype)
        }
        do {
            return try LSTMModel(architecture: architecture, tensors: tensors)
        } catch {
            preconditionFailure("RandomModels.make: invalid architecture in a test: \(error)")
        }
    }

    /// A model with `architecture`, random weights in [-2, 2) and the given dtypes (cycled over the tensors in
    /// canonical order, so a list of several dtypes gives a mixed-dtype model).
    static func model(_ architecture: ModelArchitecture, dtypes: [DType], metadata: [String: String] = [:],
                      seed: UInt64) throws -> LSTMModel {
        var rng = SeededRandom(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (k, (name, shape)) in architecture.expectedTensors.enumerated() {
            let n = shape.reduce(1, *)
            let values = (0..<n).map { _ in Double.random(in: -2..<2, using: &rng) }
            tensors[name] = Tensor(shape: shape, values: values, dtype: dtypes[k % dtypes.count])
        }
        return try LSTMModel(architecture: architecture, tensors: tensors, metadata: metadata)
    }

    /// Inputs [batch, steps, features] uniform in [-1, 1), float64.
    static func inputs(batch: Int, steps: Int, features: Int, seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor(shape: [batch, steps, features], float64: rng.values(batch * steps * features))
    }

    /// A stack of LSTM layers with sizes chained, then dense layers.
    static func architecture(
        input: Int = 3, hidden: Int = 4, layers: [(Direction, MergeMode?)] = [(.forward, nil)],
        gate: Activation = .sigmoid, cell: Activation = .tanh, returnSequences: Bool = true,
        dense: [(Int, Activation)] = [(2, .linear)]
    ) -> ModelArchitecture {
        var specs: [LSTMLayerSpec] = []
        var width = input
        for (direction, merge) in layers {
            let spec = LSTMLayerSpec(inputSize: width, hiddenSize: hidden, direction: direction, mergeMode: merge,
                                     gateActivation: gate, cellActivation: cell)
            specs.append(spec)
            width = spec.outputSize
        }
        var heads: [DenseLayerSpec] = []
        for (out, activation) in dense {
            heads.append(DenseLayerSpec(inputSize: width, outputSize: out, activation: activation))
            width = out
        }
        return ModelArchitecture(layers: specs, returnSequences: returnSequences, dense: heads)
    }

    /// Every architecture feature the canonical model allows, each at least once, on small sizes (input 3,
    /// hidden 4): directions, the four merge modes, stacks of 2 and 3, many-to-one and many-to-many, every
    /// activation in gate, cell and dense positions (softmax in dense only), 0, 1 and 2 dense layers.
    static let variants: [Variant] = {
        var v: [Variant] = []
        func add(_ name: String, _ a: ModelArchitecture) { v.append(Variant(name: name, architecture: a)) }
        for m2m in [true, false] {
            let tag = m2m ? "m2m" : "m2o"
            add("forward-\(tag)", architecture(returnSequences: m2m))
            add("backward-\(tag)", architecture(layers: [(.backward, nil)], returnSequences: m2m))
            for merge in MergeMode.allCases {
                add("bidirectional-\(merge.rawValue)-\(tag)", architecture(layers: [(.bidirectional, merge)], returnSequences: m2m))
            }
            add("stack2-fwd-bwd-\(tag)", architecture(layers: [(.forward, nil), (.backward, nil)], returnSequences: m2m))
            add("stack3-bi-bwd-fwd-\(tag)", architecture(
                layers: [(.bidirectional, .concat), (.backward, nil), (.bidirectional, .mul)], returnSequences: m2m))
        }
        for gate in Activation.allCases where gate.isElementwise && gate != .sigmoid {
            add("gate-\(gate.rawValue)", architecture(gate: gate))
        }
        for cell in Activation.allCases where cell.isElementwise && cell != .tanh {
            add("cell-\(cell.rawValue)", architecture(cell: cell))
        }
        for act in Activation.allCases where act != .linear {
            add("dense-\(act.rawValue)", architecture(dense: [(3, act)]))
        }
        add("dense-none-m2m", architecture(dense: []))
        add("dense-none-bi-concat-m2o", architecture(layers: [(.bidirectional, .concat)], returnSequences: false, dense: []))
        add("dense-two-tanh-softmax", architecture(dense: [(5, .tanh), (3, .softmax)]))
        add("dense-two-m2o-relu-sigmoid", architecture(returnSequences: false, dense: [(5, .relu), (2, .sigmoid)]))
        return v
    }()
}

/// CRC-32 (ISO-HDLC), bit by bit: an implementation independent of zlib for building test files.
enum ReferenceCRC32 {
    static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }
}
