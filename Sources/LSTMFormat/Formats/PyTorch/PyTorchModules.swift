import Foundation

/// The nn.LSTM and nn.Linear modules of a state dict (`Spec/pytorch-mapping.md`, P-M1), as recorded in the
/// metadata we write (`pytorch.modules`) and read back to restore the original key names.
struct PyTorchModule: Codable, Equatable, Sendable {
    enum Kind: String, Codable, Sendable { case LSTM, Linear }
    /// Key prefix including its final dot ("" for a bare nn.LSTM state dict, "lstm.", "encoder.rnn.").
    var prefix: String
    var type: Kind
    var inputSize: Int
    /// hidden_size (LSTM) or out_features (Linear).
    var outputSize: Int
    var numLayers: Int = 1
    var bidirectional: Bool = false
    var bias: Bool = true
    /// nn.LSTM `proj_size` (M24, P-M6); 0 for none, as in PyTorch.
    var projSize: Int = 0

    /// Width of the module's output at each step (proj_size when projected).
    var width: Int {
        let w = type == .LSTM && projSize > 0 ? projSize : outputSize
        return type == .LSTM && bidirectional ? 2 * w : w
    }

    enum CodingKeys: String, CodingKey {
        case prefix, type, inputSize = "input_size", outputSize = "output_size", numLayers = "num_layers", bidirectional, bias
        case projSize = "proj_size"
    }

    init(prefix: String, type: Kind, inputSize: Int, outputSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
         bias: Bool = true, projSize: Int = 0) {
        self.prefix = prefix
        self.type = type
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.bias = bias
        self.projSize = projSize
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(prefix: try c.decode(String.self, forKey: .prefix), type: try c.decode(Kind.self, forKey: .type),
                  inputSize: try c.decode(Int.self, forKey: .inputSize), outputSize: try c.decode(Int.self, forKey: .outputSize),
                  numLayers: try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 1,
                  bidirectional: try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? false,
                  bias: try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true,
                  projSize: try c.decodeIfPresent(Int.self, forKey: .projSize) ?? 0)
    }

    /// `proj_size` only when set, so the metadata of other modules keeps its bytes.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(prefix, forKey: .prefix)
        try c.encode(type, forKey: .type)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(outputSize, forKey: .outputSize)
        try c.encode(numLayers, forKey: .numLayers)
        try c.encode(bidirectional, forKey: .bidirectional)
        try c.encode(bias, forKey: .bias)
        if projSize > 0 { try c.encode(projSize, forKey: .projSize) }
    }

    static func json(_ modules: [PyTorchModule]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(modules)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func parse(_ json: String?) -> [PyTorchModule]? {
        guard let json else { return nil }
        return try? JSONDecoder().decode([PyTorchModule].self, from: Data(json.utf8))
    }

    /// nn.LSTM parameter names: weight_ih_l{k}[_reverse] and friends.
    static func lstmKey(_ prefix: String, _ kind: String, layer: Int, reverse: Bool) -> String {
        "\(prefix)\(kind)_l\(layer)\(reverse ? "_reverse" : "")"
    }
}

/// Finds the modules in a set of state-dict keys (P-M1, P-M6).
enum PyTorchModuleDiscovery {
    /// The modules in order of first appearance of their keys in `names`.
    static func modules(_ tensors: [String: Tensor], order names: [String]) throws -> [PyTorchModule] {
        var rnnPrefixes: [String] = [], linearPrefixes: [String] = []
        var claimed = Set<String>()
        for name in names {
            if let (prefix, _, _, _) = rnnParameter(name) {
                if !rnnPrefixes.contains(prefix) { rnnPrefixes.append(prefix) }
                claimed.insert(name)
            }
        }
        for name in names where !claimed.contains(name) {
            if name.hasSuffix("weight") || name.hasSuffix("bias") {
                let prefix = String(name.dropLast(name.hasSuffix("weight") ? 6 : 4))
                guard prefix.isEmpty || prefix.hasSuffix(".") else { throw PyTorchError.unknownTensor(name) }
                if !linearPrefixes.contains(prefix) { linearPrefixes.append(prefix) }
            } else {
                throw PyTorchError.unknownTensor(name)
            }
        }
        var modules: [(first: Int, module: PyTorchModule)] = []
        let position = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for prefix in rnnPrefixes {
            let m = try lstm(prefix, tensors)
            modules.append((position[PyTorchModule.lstmKey(prefix, "weight_ih", layer: 0, reverse: false)] ?? 0, m))
        }
        for prefix in linearPrefixes {
            let m = try linear(prefix, tensors)
            modules.append((position[prefix + "weight"] ?? 0, m))
        }
        return modules.sorted { $0.first < $1.first }.map(\.module)
    }

    /// (prefix, kind, layer, reverse) of an nn.RNN-family parameter name.
    static func rnnParameter(_ name: String) -> (String, String, Int, Bool)? {
        for kind in ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"] {
            guard let range = name.range(of: kind + "_l", options: .backwards) else { continue }
            let prefix = String(name[..<range.lowerBound])
            guard prefix.isEmpty || prefix.hasSuffix(".") else { continue }
            var rest = String(name[range.upperBound...])
            let reverse = rest.hasSuffix("_reverse")
            if reverse { rest.removeLast(8) }
            guard !rest.isEmpty, rest.allSatisfy(\.isASCII), rest.allSatisfy(\.isNumber), rest.count < 7, let k = Int(rest) else { continue }
            return (prefix, kind, k, reverse)
        }
        return nil
    }

    private static func lstm(_ prefix: String, _ t: [String: Tensor]) throws -> PyTorchModule {
        func key(_ kind: String, _ k: Int, _ r: Bool) -> String { PyTorchModule.lstmKey(prefix, kind, layer: k, reverse: r) }
        guard let ih0 = t[key("weight_ih", 0, false)], let hh0 = t[key("weight_hh", 0, false)],
              ih0.shape.count == 2, hh0.shape.count == 2, hh0.shape[1] > 0 else {
            throw PyTorchError.invalidModule(prefix: prefix, reason: "weight_ih_l0 and weight_hh_l0 (two matrices) are required")
        }
        // P-M6: proj_size P: weight_hr_l{k} [P, H] and weight_hh_l{k} [4H, P].
        var h = hh0.shape[1]
        var proj = 0
        if let hr0 = t[key("weight_hr", 0, false)] {
            guard hr0.shape.count == 2, hr0.shape[0] > 0, hr0.shape[1] > hr0.shape[0], hr0.shape[0] == hh0.shape[1] else {
                throw PyTorchError.invalidModule(prefix: prefix, reason: "weight_hr_l0 has shape \(hr0.shape), expected [proj_size, hidden_size] with proj_size \(hh0.shape[1]) < hidden_size")
            }
            h = hr0.shape[1]
            proj = hr0.shape[0]
        }
        let gates = hh0.shape[0] / h
        guard hh0.shape[0] % h == 0, gates == 4 else {
            let module = gates == 3 ? "an nn.GRU" : gates == 1 ? "an nn.RNN" : "not an nn.LSTM"
            throw PyTorchError.unsupportedModule(prefix: prefix, module: module,
                                                 reason: "weight_hh_l0 has \(hh0.shape[0]) rows for hidden size \(h); only nn.LSTM (4 gates) is supported")
        }
        var layers = 0
        while t[key("weight_ih", layers, false)] != nil { layers += 1 }
        let bidirectional = t[key("weight_ih", 0, true)] != nil
        let bias = t[key("bias_ih", 0, false)] != nil
        var expected = Set<String>()
        for k in 0..<layers {
            for r in bidirectional ? [false, true] : [false] {
                for kind in ["weight_ih", "weight_hh"] + (bias ? ["bias_ih", "bias_hh"] : []) + (proj > 0 ? ["weight_hr"] : []) {
                    expected.insert(key(kind, k, r))
                }
            }
        }
        let present = Set(t.keys.filter { rnnParameter($0)?.0 == prefix })
        if let missing = expected.subtracting(present).sorted().first {
            throw PyTorchError.invalidModule(prefix: prefix, reason: "\(missing) is missing")
        }
        if let extra = present.subtracting(expected).sorted().first {
            throw PyTorchError.invalidModule(prefix: prefix, reason: "\(extra) does not belong to an nn.LSTM of \(layers) layers (bias=\(bias), bidirectional=\(bidirectional))")
        }
        return PyTorchModule(prefix: prefix, type: .LSTM, inputSize: ih0.shape[1], outputSize: h, numLayers: layers, bidirectional: bidirectional,
                             bias: bias, projSize: proj)
    }

    private static func linear(_ prefix: String, _ t: [String: Tensor]) throws -> PyTorchModule {
        guard let w = t[prefix + "weight"] else { throw PyTorchError.unknownTensor(prefix + "bias") }
        guard w.shape.count == 2, w.shape[0] > 0, w.shape[1] > 0 else {
            throw PyTorchError.invalidModule(prefix: prefix, reason: "weight has shape \(w.shape); an nn.Linear weight is [out_features, in_features]")
        }
        if let b = t[prefix + "bias"], b.shape != [w.shape[0]] {
            throw PyTorchError.invalidModule(prefix: prefix, reason: "bias has shape \(b.shape), expected [\(w.shape[0])]")
        }
        return PyTorchModule(prefix: prefix, type: .Linear, inputSize: w.shape[1], outputSize: w.shape[0], bias: t[prefix + "bias"] != nil)
    }
}
