/// Names of the canonical HDF5 layout (`Spec/hdf5-layout.md`): group paths, attribute names and values.
enum CanonicalHDF5Layout {
    static let formatName = "canonical-lstm"
    static let version = 1

    enum Root {
        static let format = "lstm_format"
        static let version = "lstm_format_version"
        static let returnSequences = "return_sequences"
        static let lstmCount = "num_lstm_layers"
        static let denseCount = "num_dense_layers"
        static let attributes: Set<String> = [format, version, returnSequences, lstmCount, denseCount]
        /// Groups the root holds (H3): `/dense` may be absent without dense layers, `/metadata` when empty.
        static let groups: Set<String> = ["lstm", "dense", "metadata"]
    }

    enum Layer {
        static let inputSize = "input_size"
        static let hiddenSize = "hidden_size"
        static let direction = "direction"
        static let mergeMode = "merge_mode"
        static let gateActivation = "gate_activation"
        static let cellActivation = "cell_activation"
        static let attributes: Set<String> = [inputSize, hiddenSize, direction, mergeMode, gateActivation, cellActivation]
    }

    enum Dense {
        static let inputSize = "input_size"
        static let outputSize = "output_size"
        static let activation = "activation"
        static let attributes: Set<String> = [inputSize, outputSize, activation]
    }

    static let lstmGroup = "/lstm"
    static let denseGroup = "/dense"
    static let metadataGroup = "/metadata"

    static func layer(_ k: Int) -> String { "/lstm/\(k)" }
    static func cell(_ k: Int, _ cell: CellDirection) -> String { "/lstm/\(k)/\(cell.rawValue)" }
    /// `/lstm/{k}/{fwd|bwd}/{W|U|b}_{f|i|c|o}` (H4).
    static func tensor(_ k: Int, _ cell: CellDirection, _ kind: TensorName.Kind, _ gate: Gate) -> String {
        "\(self.cell(k, cell))/\(kind.rawValue)_\(gate.rawValue)"
    }
    static func dense(_ j: Int) -> String { "/dense/\(j)" }

    /// The twelve dataset names of a cell in canonical order.
    static let cellDatasets: [(TensorName.Kind, Gate)] = TensorName.Kind.allCases.flatMap { kind in Gate.allCases.map { (kind, $0) } }
}
