import Foundation
@testable import LSTMFormat

/// Builds canonical-layout HDF5 files object by object, as `Spec/hdf5-layout.md` lays them out, independently of
/// the writer under test (only the HDF5 layer is shared). Every attribute, group and dataset can be changed or
/// removed to break one rule.
///
/// `minimal()` is one forward layer (input 2, hidden 3, sigmoid/tanh), one dense layer 3 → 2 (linear),
/// `return_sequences` 1, metadata {"note": "n"}; tensor n of canonical order holds element i = n + i/8.
struct HDF5CanonicalFileBuilder {
    enum Value { case int(Int), string(String), fixed(String) }

    /// Attributes by object path, then name.
    var attributes: [String: [String: Value]]
    var groups: [String]
    var datasets: [String: Tensor]

    static func minimal() -> HDF5CanonicalFileBuilder {
        var datasets: [String: Tensor] = [:]
        var n = 0
        for kind in ["W", "U", "b"] {
            for gate in ["f", "i", "c", "o"] {
                let shape = kind == "W" ? [3, 2] : kind == "U" ? [3, 3] : [3]
                datasets["/lstm/0/fwd/\(kind)_\(gate)"] = tensor(n, shape)
                n += 1
            }
        }
        datasets["/dense/0/V"] = tensor(n, [2, 3])
        datasets["/dense/0/c"] = tensor(n + 1, [2])
        return HDF5CanonicalFileBuilder(
            attributes: [
                "/": ["lstm_format": .string("canonical-lstm"), "lstm_format_version": .int(1), "return_sequences": .int(1),
                      "num_lstm_layers": .int(1), "num_dense_layers": .int(1)],
                "/lstm/0": ["input_size": .int(2), "hidden_size": .int(3), "direction": .string("forward"),
                            "gate_activation": .string("sigmoid"), "cell_activation": .string("tanh")],
                "/dense/0": ["input_size": .int(3), "output_size": .int(2), "activation": .string("linear")],
                "/metadata": ["note": .string("n")],
            ],
            groups: ["/lstm/0/fwd", "/dense/0", "/metadata"],
            datasets: datasets)
    }

    /// Tensor number `n` of canonical order: element i is n + i/8.
    static func tensor(_ n: Int, _ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, float32: (0..<count).map { Float(n) + Float($0) / 8 })
    }

    func write(to url: URL) throws {
        let file = try HDF5File.create(url)
        for g in groups { try file.createGroup(g) }
        for (path, t) in datasets.sorted(by: { $0.key < $1.key }) { try file.writeTensor(path, t, compress: false) }
        for (path, attrs) in attributes.sorted(by: { $0.key < $1.key }) {
            for (name, value) in attrs.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .int(let v): try file.setIntAttribute(path, name, v)
                case .string(let s): try file.setStringAttribute(path, name, s)
                case .fixed(let s): try file.setFixedStringAttribute(path, name, s)
                }
            }
        }
        try file.close()
    }
}
