import Foundation

/// A PyTorch state dict ↔ the canonical model (`Spec/pytorch-mapping.md`, P-M rules). Pure: no files.
///
/// nn.LSTM keys `<prefix>weight_ih_l{k}[_reverse]` [4H, in], `weight_hh_l{k}` [4H, H], `bias_ih_l{k}`,
/// `bias_hh_l{k}` [4H] map through `GateLayout.pytorch` (rows i, f, g, o; b = bias_ih + bias_hh, one rounding);
/// nn.Linear `<prefix>weight` [out, in] is V and `<prefix>bias` is c.
enum PyTorchStateDict {
    /// Metadata keys of the files we write (P-W3).
    enum Key {
        static let architecture = "lstm_format.architecture"
        static let modules = "lstm_format.pytorch_modules"
        static let metadata = "lstm_format.metadata"
        /// In the canonical model's metadata: the modules the weights came from, for writing them back.
        static let sourceModules = "pytorch.modules"
    }

    /// The canonical model of a state dict. `orderKnown`: `entries` are in the module's registration order (a
    /// pickled dict); otherwise (safetensors) the order comes from our metadata or from how the shapes chain.
    /// `stored` is the metadata map of the file (safetensors `__metadata__`, or `_metadata["lstm_format"]`).
    static func model(_ entries: [(name: String, tensor: Tensor)], orderKnown: Bool, stored: [String: String],
                      options: ReadOptions, format: String) throws -> LSTMModel {
        var tensors: [String: Tensor] = [:]
        for (name, t) in entries { tensors[name] = t }
        let found = try PyTorchModuleDiscovery.modules(tensors, order: entries.map(\.name))
        guard found.contains(where: { $0.type == .LSTM }) else { throw PyTorchError.noLSTM }
        let modules = try order(found, stored: PyTorchModule.parse(stored[Key.modules]), orderKnown: orderKnown)
        var layers: [LSTMLayerSpec] = []
        var dense: [DenseLayerSpec] = []
        var canonical: [String: Tensor] = [:]
        for m in modules {
            switch m.type {
            case .LSTM:
                for l in 0..<m.numLayers {
                    let k = layers.count
                    let input = l == 0 ? m.inputSize : m.width
                    layers.append(LSTMLayerSpec(inputSize: input, hiddenSize: m.outputSize, direction: m.bidirectional ? .bidirectional : .forward,
                                                mergeMode: m.bidirectional ? .concat : nil, projectionSize: m.projSize > 0 ? m.projSize : nil))
                    for (reverse, cell) in (m.bidirectional ? [(false, CellDirection.fwd), (true, .bwd)] : [(false, .fwd)]) {
                        func t(_ kind: String) -> Tensor? { tensors[PyTorchModule.lstmKey(m.prefix, kind, layer: l, reverse: reverse)] }
                        let framework = FrameworkCell(input: t("weight_ih")!, recurrent: t("weight_hh")!,
                                                      biases: m.bias ? [t("bias_ih")!, t("bias_hh")!] : [])
                        do {
                            canonical.merge(try GateLayout.pytorch.unpack(framework, hidden: m.outputSize, state: m.projSize > 0 ? m.projSize : nil)
                                .tensors(layer: k, cell: cell)) { a, _ in a }
                            // M24: weight_hr_l{k} [P, H] is W_hr as it is.
                            if m.projSize > 0 { canonical[TensorName.projection(k, cell)] = t("weight_hr")! }
                        } catch {
                            throw PyTorchError.invalidModule(prefix: m.prefix, reason: "layer \(l)\(reverse ? " (reverse)" : ""): \(error)")
                        }
                    }
                }
            case .Linear:
                let j = dense.count
                let w = tensors[m.prefix + "weight"]!
                canonical[TensorName.denseV(j)] = w
                canonical[TensorName.denseC(j)] = tensors[m.prefix + "bias"] ?? Tensor.zeros(shape: [m.outputSize], dtype: w.dtype)
                dense.append(DenseLayerSpec(inputSize: m.inputSize, outputSize: m.outputSize))
            }
        }
        let inferred = ModelArchitecture(layers: layers, returnSequences: true, dense: dense)
        let architecture: ModelArchitecture
        if let given = options.architecture {
            architecture = try applying(given, to: inferred)
        } else if let json = stored[Key.architecture], let ours = try? ModelArchitecture.fromJSON(Data(json.utf8)) {
            architecture = try applying(ours, to: inferred)
        } else {
            architecture = inferred
            options.note("no architecture in the file: nn.LSTM gates sigmoid/tanh, outputs at every step (many-to-many), "
                         + "linear activations after each nn.Linear", hint: .architecture)
        }
        var metadata: [String: String] = [:]
        if let json = stored[Key.metadata], let restored = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) {
            metadata = restored
        } else {
            metadata = ["source.format": format, "source.tool": "pytorch"]
        }
        metadata[Key.sourceModules] = PyTorchModule.json(modules)
        do {
            return try LSTMModel(architecture: architecture, tensors: canonical, metadata: metadata)
        } catch {
            throw PyTorchError.ambiguous("the modules do not form one chain: \(error)")
        }
    }

    /// P-M3: the order of the modules — our metadata's, the file's, or the only one in which the shapes chain.
    static func order(_ found: [PyTorchModule], stored: [PyTorchModule]?, orderKnown: Bool) throws -> [PyTorchModule] {
        if let stored, stored.count == found.count, Set(stored.map(\.prefix)) == Set(found.map(\.prefix)) {
            let byPrefix = Dictionary(uniqueKeysWithValues: found.map { ($0.prefix, $0) })
            let ordered = stored.map { byPrefix[$0.prefix]! }
            if chains(ordered) { return ordered }
        }
        if orderKnown, chains(found) { return found }
        guard found.count <= 10 else { throw PyTorchError.ambiguous("\(found.count) modules in a file that does not record their order") }
        var solutions: [[PyTorchModule]] = []
        func search(_ chain: [PyTorchModule], _ rest: [PyTorchModule]) {
            if solutions.count > 1 { return }
            if rest.isEmpty { solutions.append(chain); return }
            for (i, m) in rest.enumerated() {
                let next = chain + [m]
                if chains(next, partial: true) {
                    var r = rest
                    r.remove(at: i)
                    search(next, r)
                }
            }
        }
        search([], found)
        if solutions.count == 1 { return solutions[0] }
        let names = found.map { $0.prefix.isEmpty ? "(root)" : String($0.prefix.dropLast()) }.joined(separator: ", ")
        throw PyTorchError.ambiguous(solutions.isEmpty
            ? "the modules \(names) cannot be chained (LSTMs first, each taking the previous output width, then Linear layers)"
            : "the modules \(names) chain in more than one order")
    }

    /// LSTMs first, every module's input width equal to the previous module's output width.
    static func chains(_ modules: [PyTorchModule], partial: Bool = false) -> Bool {
        guard let first = modules.first, first.type == .LSTM else { return modules.isEmpty }
        var width = first.width
        var seenLinear = false
        for m in modules.dropFirst() {
            if m.type == .LSTM && seenLinear { return false }
            if m.type == .Linear { seenLinear = true }
            guard m.inputSize == width else { return false }
            width = m.width
        }
        return true
    }

    /// P-M4: the given architecture, when the state dict's layers are exactly its layers (sizes, and directions
    /// nn.LSTM can have: forward, or bidirectional with concat).
    static func applying(_ given: ModelArchitecture, to inferred: ModelArchitecture) throws -> ModelArchitecture {
        guard given.layers.count == inferred.layers.count, given.dense.count == inferred.dense.count else {
            throw PyTorchError.architectureMismatch("the state dict has \(inferred.layers.count) LSTM layers and \(inferred.dense.count) Linear layers, "
                + "the architecture \(given.layers.count) and \(given.dense.count)")
        }
        if given.embedding != nil || given.maskValue != nil {
            throw PyTorchError.architectureMismatch("it has an embedding or masking, which a state dict of nn.LSTM and nn.Linear modules does not")
        }
        for (k, (g, f)) in zip(given.layers, inferred.layers).enumerated() {
            guard g.inputSize == f.inputSize, g.hiddenSize == f.hiddenSize, g.direction == f.direction, g.mergeMode == f.mergeMode,
                  g.projectionSize == f.projectionSize else {
                throw PyTorchError.architectureMismatch("lstm.\(k) is \(g.direction.rawValue) \(g.inputSize)->\(g.hiddenSize)\(g.mergeMode.map { " merge \($0.rawValue)" } ?? "")\(g.projectionSize.map { " proj_size \($0)" } ?? ""), "
                    + "the state dict's \(f.direction.rawValue) \(f.inputSize)->\(f.hiddenSize)\(f.mergeMode.map { " merge \($0.rawValue)" } ?? "")\(f.projectionSize.map { " proj_size \($0)" } ?? "")")
            }
        }
        if let k = given.layers.firstIndex(where: \.peepholes) {
            throw PyTorchError.architectureMismatch("lstm.\(k) has peephole weights P (M25), which nn.LSTM does not have")
        }
        if let (k, g) = given.layers.enumerated().first(where: { $0.element.gateActivation != .sigmoid || $0.element.cellActivation != .tanh }) {
            throw PyTorchError.architectureMismatch("lstm.\(k) has \(g.gateActivation.rawValue)/\(g.cellActivation.rawValue) activations; nn.LSTM computes sigmoid/tanh")
        }
        for (j, (g, f)) in zip(given.dense, inferred.dense).enumerated() where g.inputSize != f.inputSize || g.outputSize != f.outputSize {
            throw PyTorchError.architectureMismatch("dense.\(j) is \(g.inputSize)->\(g.outputSize), the state dict's nn.Linear \(f.inputSize)->\(f.outputSize)")
        }
        return given
    }
}
