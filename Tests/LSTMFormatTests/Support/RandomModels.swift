import Foundation
@testable import LSTMFormat

/// Seeded random models for round-trip tests.
enum RandomModels {
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
