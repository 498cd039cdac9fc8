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
        /// H11: present exactly when the model has a mask value (float64).
        static let maskValue = "mask_value"
        static let attributes: Set<String> = [format, version, returnSequences, lstmCount, denseCount]
        /// Groups the root holds (H3): `/dense` may be absent without dense layers, `/metadata` when empty;
        /// `/embedding` exactly when the model has an embedding (H11).
        static let groups: Set<String> = ["lstm", "dense", "metadata", "embedding"]
    }

    enum Layer {
        static let inputSize = "input_size"
        static let hiddenSize = "hidden_size"
        static let direction = "direction"
        static let mergeMode = "merge_mode"
        static let gateActivation = "gate_activation"
        static let cellActivation = "cell_activation"
        /// H11: present (= 1) exactly when the layer has `zero_output_for_mask`.
        static let zeroOutputForMask = "zero_output_for_mask"
        /// H12: present exactly when the layer has a projection (M24), with the dataset `W_hr` in each cell.
        static let projectionSize = "projection_size"
        /// H13: present (= 1) exactly when the layer has peepholes (M25), with the datasets `p_f`, `p_i`, `p_o`.
        static let peepholes = "peepholes"
        static let attributes: Set<String> = [inputSize, hiddenSize, direction, mergeMode, gateActivation, cellActivation,
                                              zeroOutputForMask, projectionSize, peepholes]
    }

    enum Dense {
        static let inputSize = "input_size"
        static let outputSize = "output_size"
        static let activation = "activation"
        static let attributes: Set<String> = [inputSize, outputSize, activation]
    }

    /// H11: `/embedding` with attributes `vocabulary_size`, `mask_zero` (0 | 1) and the dataset `E` [V, I].
    enum Embedding {
        static let group = "/embedding"
        static let vocabularySize = "vocabulary_size"
        static let maskZero = "mask_zero"
        static let table = "/embedding/E"
        static let attributes: Set<String> = [vocabularySize, maskZero]
    }

    static let lstmGroup = "/lstm"
    static let denseGroup = "/dense"
    static let metadataGroup = "/metadata"

    static func layer(_ k: Int) -> String { "/lstm/\(k)" }
    static func cell(_ k: Int, _ cell: CellDirection) -> String { "/lstm/\(k)/\(cell.rawValue)" }
    /// `/lstm/{k}/{fwd|bwd}/p_{f|i|o}` (H13).
    static func peephole(_ k: Int, _ cell: CellDirection, _ gate: Gate) -> String {
        "\(self.cell(k, cell))/p_\(gate.rawValue)"
    }
    /// `/lstm/{k}/{fwd|bwd}/{W|U|b}_{f|i|c|o}` (H4).
    static func tensor(_ k: Int, _ cell: CellDirection, _ kind: TensorName.Kind, _ gate: Gate) -> String {
        "\(self.cell(k, cell))/\(kind.rawValue)_\(gate.rawValue)"
    }
    static func dense(_ j: Int) -> String { "/dense/\(j)" }

    /// The twelve dataset names of a cell in canonical order.
    static let cellDatasets: [(TensorName.Kind, Gate)] = TensorName.Kind.allCases.flatMap { kind in Gate.allCases.map { (kind, $0) } }
}
