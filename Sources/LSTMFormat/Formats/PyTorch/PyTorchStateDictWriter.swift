import Foundation

/// The canonical model → a PyTorch state dict (`Spec/pytorch-mapping.md`, P-W rules).
extension PyTorchStateDict {
    /// The state dict in nn.Module order (per nn.LSTM: per layer weight_ih, weight_hh, bias_ih, bias_hh, then the
    /// `_reverse` ones; per nn.Linear: weight, bias), and the metadata that lets our reader and
    /// `scripts/lstm_format_torch.py` rebuild the model (P-W3).
    ///
    /// - Throws: `PyTorchError.notExpressible` for a backward-only layer, a merge mode other than concat, gates
    ///   other than sigmoid or a cell activation other than tanh (P-W2).
    static func stateDict(_ model: LSTMModel) throws -> (entries: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        let arch = model.architecture
        if arch.embedding != nil {
            throw PyTorchError.notExpressible(place: "the model starts with an embedding;", reason: "only nn.LSTM and nn.Linear modules are written")
        }
        if arch.maskValue != nil {
            throw PyTorchError.notExpressible(place: "the model masks its input;", reason: "nn.LSTM has no masking (PyTorch packs sequences instead)")
        }
        for (k, l) in arch.layers.enumerated() {
            if l.peepholes {
                // M25: dropping P would change every prediction.
                throw PyTorchError.notExpressible(place: "peephole weights P of layer \(k) (lstm.\(k).*.p_f, p_i, p_o)",
                                                  reason: "cannot be expressed in PyTorch: nn.LSTM has no peephole connections")
            }
            if l.direction == .backward {
                throw PyTorchError.notExpressible(place: "lstm.\(k) is backward-only (go_backwards);", reason: "nn.LSTM has no backward-only layer")
            }
            if let m = l.mergeMode, m != .concat {
                throw PyTorchError.notExpressible(place: "lstm.\(k) merges its directions by \(m.rawValue);", reason: "a bidirectional nn.LSTM concatenates them")
            }
            if l.gateActivation != .sigmoid || l.cellActivation != .tanh {
                throw PyTorchError.notExpressible(place: "lstm.\(k) uses \(l.gateActivation.rawValue)/\(l.cellActivation.rawValue);",
                                                  reason: "nn.LSTM computes sigmoid gates and a tanh cell")
            }
        }
        let modules = plan(model)
        var entries: [(String, Tensor)] = []
        var k = 0, j = 0
        for m in modules {
            switch m.type {
            case .LSTM:
                for l in 0..<m.numLayers {
                    for (reverse, cell) in (m.bidirectional ? [(false, CellDirection.fwd), (true, .bwd)] : [(false, .fwd)]) {
                        let f = GateLayout.pytorch.pack(CanonicalCell(model, layer: k, cell: cell))
                        func key(_ kind: String) -> String { PyTorchModule.lstmKey(m.prefix, kind, layer: l, reverse: reverse) }
                        entries.append((key("weight_ih"), f.input))
                        entries.append((key("weight_hh"), f.recurrent))
                        if m.bias {
                            entries.append((key("bias_ih"), f.biases[0]))
                            entries.append((key("bias_hh"), f.biases[1]))
                        }
                        // M24: W_hr is weight_hr_l{k} [P, H] as it is, after the biases (nn.LSTM's order).
                        if m.projSize > 0 { entries.append((key("weight_hr"), model.tensors[TensorName.projection(k, cell)]!)) }
                    }
                    k += 1
                }
            case .Linear:
                entries.append((m.prefix + "weight", model.tensors[TensorName.denseV(j)]!))
                if m.bias { entries.append((m.prefix + "bias", model.tensors[TensorName.denseC(j)]!)) }
                j += 1
            }
        }
        var meta = model.metadata
        meta[Key.sourceModules] = nil
        let metaJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
        let metadata = [Key.architecture: architectureJSON(arch), Key.modules: PyTorchModule.json(modules), Key.metadata: metaJSON]
        return (entries, metadata)
    }

    /// The canonical architecture as the compact snake_case JSON `ModelArchitecture.fromJSON` reads.
    static func architectureJSON(_ a: ModelArchitecture) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(a)) ?? Data(), as: UTF8.self)
    }

    /// P-W1: the modules to write — the ones the model was read from when they still fit (original keys), else
    /// one nn.LSTM per run of layers it can hold (same hidden size and direction) named `lstm`, `lstm_1`, …, and
    /// one nn.Linear per dense layer named `linear`, `linear_1`, ….
    static func plan(_ model: LSTMModel) -> [PyTorchModule] {
        let arch = model.architecture
        if let stored = PyTorchModule.parse(model.metadata[Key.sourceModules]), fits(stored, arch) {
            // A module read without bias is written without bias only while its biases are still zero.
            var k = 0, j = 0
            return stored.map { m in
                var m = m
                switch m.type {
                case .LSTM:
                    let layers = k..<(k + m.numLayers)
                    k += m.numLayers
                    if !m.bias { m.bias = !layers.allSatisfy { allZero(model, lstm: $0) } }
                case .Linear:
                    if !m.bias { m.bias = !(model.tensors[TensorName.denseC(j)]!.float64Values().allSatisfy { $0 == 0 }) }
                    j += 1
                }
                return m
            }
        }
        var modules: [PyTorchModule] = []
        var runs = 0
        for l in arch.layers {
            if var last = modules.last, last.outputSize == l.hiddenSize, last.bidirectional == (l.direction == .bidirectional),
               last.projSize == (l.projectionSize ?? 0) {
                last.numLayers += 1
                modules[modules.count - 1] = last
            } else {
                modules.append(PyTorchModule(prefix: runs == 0 ? "lstm." : "lstm_\(runs).", type: .LSTM, inputSize: l.inputSize, outputSize: l.hiddenSize,
                                             numLayers: 1, bidirectional: l.direction == .bidirectional, bias: true,
                                             projSize: l.projectionSize ?? 0))
                runs += 1
            }
        }
        for (j, d) in arch.dense.enumerated() {
            modules.append(PyTorchModule(prefix: j == 0 ? "linear." : "linear_\(j).", type: .Linear, inputSize: d.inputSize, outputSize: d.outputSize))
        }
        return modules
    }

    private static func allZero(_ model: LSTMModel, lstm k: Int) -> Bool {
        model.architecture.layers[k].cells.allSatisfy { cell in
            Gate.allCases.allSatisfy { model.tensors[TensorName.lstm(k, cell, .b, $0)]!.float64Values().allSatisfy { $0 == 0 } }
        }
    }

    /// Whether recorded modules still describe the architecture layer for layer.
    private static func fits(_ modules: [PyTorchModule], _ arch: ModelArchitecture) -> Bool {
        var k = 0, j = 0
        for m in modules {
            switch m.type {
            case .LSTM:
                for l in 0..<max(m.numLayers, 0) {
                    guard k < arch.layers.count else { return false }
                    let spec = arch.layers[k]
                    guard spec.hiddenSize == m.outputSize, (spec.direction == .bidirectional) == m.bidirectional,
                          (spec.projectionSize ?? 0) == m.projSize,
                          spec.inputSize == (l == 0 ? m.inputSize : m.width) else { return false }
                    k += 1
                }
            case .Linear:
                guard j < arch.dense.count, arch.dense[j].inputSize == m.inputSize, arch.dense[j].outputSize == m.outputSize else { return false }
                j += 1
            }
        }
        return k == arch.layers.count && j == arch.dense.count && modules.allSatisfy { $0.numLayers >= 1 }
    }
}
