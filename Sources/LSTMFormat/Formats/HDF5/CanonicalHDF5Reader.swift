import Foundation

/// Reads a file in the canonical HDF5 layout (`Spec/hdf5-layout.md`), checking every rule: the file must hold
/// exactly the groups, datasets and attributes the layout defines for its architecture, with canonical shapes
/// (H8). Every error names the HDF5 path.
enum CanonicalHDF5Reader {
    typealias L = CanonicalHDF5Layout

    static func read(_ url: URL, readsTensorData: Bool = true) throws -> LSTMModel {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        file.readsTensorData = readsTensorData
        return try read(file)
    }

    static func read(_ file: HDF5File) throws -> LSTMModel {
        let format = try file.stringAttribute("/", L.Root.format)
        guard format == L.formatName else { throw CanonicalHDF5Error.notCanonical(found: format) }
        let version = try int(file, "/", L.Root.version)
        guard version == L.version else { throw CanonicalHDF5Error.unsupportedVersion(version) }
        try onlyAttributes(file, "/", L.Root.attributes.union([L.Root.maskValue]))
        let maskValue = try file.doubleAttribute("/", L.Root.maskValue)
        let returnSequences = try int(file, "/", L.Root.returnSequences)
        guard returnSequences == 0 || returnSequences == 1 else {
            throw CanonicalHDF5Error.invalidAttribute(path: "/", name: L.Root.returnSequences, value: "\(returnSequences)", expected: "0 or 1")
        }
        let lstmCount = try count(file, "/", L.Root.lstmCount, minimum: 1)
        let denseCount = try count(file, "/", L.Root.denseCount, minimum: 0)

        var expectedRoot: Set<String> = ["lstm"]
        if file.exists(L.denseGroup) || denseCount > 0 { expectedRoot.insert("dense") }
        if file.exists(L.metadataGroup) { expectedRoot.insert("metadata") }
        if file.exists(L.Embedding.group) { expectedRoot.insert("embedding") }
        try onlyChildren(file, "/", expectedRoot, kind: "group")
        try onlyIndexedChildren(file, L.lstmGroup, count: lstmCount)
        if expectedRoot.contains("dense") { try onlyIndexedChildren(file, L.denseGroup, count: denseCount) }

        var tensors: [String: Tensor] = [:]
        var layers: [LSTMLayerSpec] = []
        for k in 0..<lstmCount {
            let layer = try readLayer(file, k)
            for cell in layer.cells {
                let shapes: [TensorName.Kind: [Int]] = [.W: [layer.hiddenSize, layer.inputSize], .U: [layer.hiddenSize, layer.stateSize], .b: [layer.hiddenSize]]
                var names = Set(L.cellDatasets.map { "\($0.0.rawValue)_\($0.1.rawValue)" })
                if layer.projectionSize != nil { names.insert("W_hr") }
                if layer.peepholes { for g in Gate.peepholed { names.insert("p_\(g.rawValue)") } }
                try onlyChildren(file, L.cell(k, cell), names, kind: "dataset")
                if layer.peepholes {
                    // H13: the peepholes of a layer that has them (M25).
                    for g in Gate.peepholed {
                        tensors[TensorName.peephole(k, cell, g)] = try dataset(file, L.peephole(k, cell, g), shape: [layer.hiddenSize])
                    }
                }
                if let p = layer.projectionSize {
                    // H12: the projection of a projected layer (M24).
                    tensors[TensorName.projection(k, cell)] = try dataset(file, L.cell(k, cell) + "/W_hr", shape: [p, layer.hiddenSize])
                }
                for (kind, gate) in L.cellDatasets {
                    tensors[TensorName.lstm(k, cell, kind, gate)] = try dataset(file, L.tensor(k, cell, kind, gate), shape: shapes[kind] ?? [])
                }
            }
            layers.append(layer)
        }
        var embedding: EmbeddingSpec?
        if expectedRoot.contains("embedding"), let width = layers.first?.inputSize {
            let g = L.Embedding.group
            try onlyAttributes(file, g, L.Embedding.attributes)
            try onlyChildren(file, g, ["E"], kind: "dataset")
            let maskZero = try int(file, g, L.Embedding.maskZero)
            guard maskZero == 0 || maskZero == 1 else {
                throw CanonicalHDF5Error.invalidAttribute(path: g, name: L.Embedding.maskZero, value: "\(maskZero)", expected: "0 or 1")
            }
            let vocabulary = try count(file, g, L.Embedding.vocabularySize, minimum: 1)
            tensors[TensorName.embedding] = try dataset(file, L.Embedding.table, shape: [vocabulary, width])
            embedding = EmbeddingSpec(vocabularySize: vocabulary, maskZero: maskZero == 1)
        }
        var dense: [DenseLayerSpec] = []
        for j in 0..<denseCount {
            let spec = try readDense(file, j)
            try onlyChildren(file, L.dense(j), ["V", "c"], kind: "dataset")
            tensors[TensorName.denseV(j)] = try dataset(file, L.dense(j) + "/V", shape: [spec.outputSize, spec.inputSize])
            tensors[TensorName.denseC(j)] = try dataset(file, L.dense(j) + "/c", shape: [spec.outputSize])
            dense.append(spec)
        }

        var metadata: [String: String] = [:]
        if expectedRoot.contains("metadata") {
            try onlyChildren(file, L.metadataGroup, [], kind: "object")
            for key in try file.attributeNames(L.metadataGroup) {
                metadata[key] = try file.stringAttribute(L.metadataGroup, key)
            }
        }

        let architecture = ModelArchitecture(layers: layers, returnSequences: returnSequences == 1, dense: dense,
                                             embedding: embedding, maskValue: maskValue)
        do {
            try architecture.validate()
        } catch {
            throw CanonicalHDF5Error.inconsistentSizes(path: "/", reason: error.description)
        }
        return try LSTMModel(architecture: architecture, tensors: tensors, metadata: metadata)
    }

    private static func readLayer(_ file: HDF5File, _ k: Int) throws -> LSTMLayerSpec {
        let path = L.layer(k)
        try group(file, path)
        let direction: Direction = try name(file, path, L.Layer.direction)
        var allowed = L.Layer.attributes
        var merge: MergeMode?
        if direction == .bidirectional {
            merge = try name(file, path, L.Layer.mergeMode) as MergeMode
        } else {
            allowed.remove(L.Layer.mergeMode)
        }
        try onlyAttributes(file, path, allowed)
        let gate: Activation = try name(file, path, L.Layer.gateActivation)
        let cell: Activation = try name(file, path, L.Layer.cellActivation)
        for (attribute, activation) in [(L.Layer.gateActivation, gate), (L.Layer.cellActivation, cell)] where !activation.isElementwise {
            throw CanonicalHDF5Error.invalidAttribute(path: path, name: attribute, value: "'\(activation.rawValue)'",
                                                      expected: "an elementwise activation")
        }
        let zero = try file.intAttribute(path, L.Layer.zeroOutputForMask)
        guard zero == nil || zero == 1 else {
            throw CanonicalHDF5Error.invalidAttribute(path: path, name: L.Layer.zeroOutputForMask, value: "\(zero!)", expected: "1 (or absent)")
        }
        let peepholes = try file.intAttribute(path, L.Layer.peepholes)
        guard peepholes == nil || peepholes == 1 else {
            throw CanonicalHDF5Error.invalidAttribute(path: path, name: L.Layer.peepholes, value: "\(peepholes!)", expected: "1 (or absent)")
        }
        let hidden = try count(file, path, L.Layer.hiddenSize, minimum: 1)
        var projection: Int?
        if try file.intAttribute(path, L.Layer.projectionSize) != nil {
            let p = try count(file, path, L.Layer.projectionSize, minimum: 1)
            guard p < hidden else {
                throw CanonicalHDF5Error.invalidAttribute(path: path, name: L.Layer.projectionSize, value: "\(p)",
                                                          expected: "less than hidden_size \(hidden) (M24)")
            }
            projection = p
        }
        let spec = LSTMLayerSpec(inputSize: try count(file, path, L.Layer.inputSize, minimum: 1),
                                 hiddenSize: hidden,
                                 direction: direction, mergeMode: merge, gateActivation: gate, cellActivation: cell,
                                 zeroOutputForMask: zero == 1, projectionSize: projection, peepholes: peepholes == 1)
        try onlyChildren(file, path, Set(spec.cells.map(\.rawValue)), kind: "group")
        return spec
    }

    private static func readDense(_ file: HDF5File, _ j: Int) throws -> DenseLayerSpec {
        let path = L.dense(j)
        try group(file, path)
        try onlyAttributes(file, path, L.Dense.attributes)
        return DenseLayerSpec(inputSize: try count(file, path, L.Dense.inputSize, minimum: 1),
                              outputSize: try count(file, path, L.Dense.outputSize, minimum: 1),
                              activation: try name(file, path, L.Dense.activation))
    }

    // MARK: checks

    private static func group(_ file: HDF5File, _ path: String) throws {
        guard file.exists(path) else { throw CanonicalHDF5Error.missingObject(path: path, kind: "group") }
        guard file.isGroup(path) else { throw CanonicalHDF5Error.wrongKind(path: path, expected: "group") }
    }

    /// Reads a dataset after checking it exists and has `shape` (its dtype is checked by `readTensor`).
    private static func dataset(_ file: HDF5File, _ path: String, shape: [Int]) throws -> Tensor {
        guard file.exists(path) else { throw CanonicalHDF5Error.missingObject(path: path, kind: "dataset") }
        guard file.isDataset(path) else { throw CanonicalHDF5Error.wrongKind(path: path, expected: "dataset") }
        let actual = try file.datasetShape(path)
        guard actual == shape else { throw CanonicalHDF5Error.shapeMismatch(path: path, expected: shape, actual: actual) }
        return try file.readTensor(path)
    }

    /// The group at `path` exists and holds exactly `expected`, each a `kind` (missing ones are reported first).
    private static func onlyChildren(_ file: HDF5File, _ path: String, _ expected: Set<String>, kind: String) throws {
        try group(file, path)
        let children = try file.childNames(path)
        let prefix = path == "/" ? "" : path
        if let missing = expected.subtracting(children).sorted().first {
            throw CanonicalHDF5Error.missingObject(path: "\(prefix)/\(missing)", kind: kind)
        }
        if let extra = children.first(where: { !expected.contains($0) }) {
            throw CanonicalHDF5Error.unexpectedObject(path: "\(prefix)/\(extra)")
        }
    }

    /// The group at `path` holds exactly the groups `0` … `count-1` (H3). Work is bounded by the number of
    /// links in the file, not by `count`.
    private static func onlyIndexedChildren(_ file: HDF5File, _ path: String, count: Int) throws {
        try group(file, path)
        let children = try file.childNames(path)
        let present = Set(children)
        if let missing = (0..<count).first(where: { !present.contains(String($0)) }) {
            throw CanonicalHDF5Error.missingObject(path: "\(path)/\(missing)", kind: "group")
        }
        if let extra = children.first(where: { name in Int(name).map { String($0) != name || !(0..<count).contains($0) } ?? true }) {
            throw CanonicalHDF5Error.unexpectedObject(path: "\(path)/\(extra)")
        }
    }

    private static func onlyAttributes(_ file: HDF5File, _ path: String, _ allowed: Set<String>) throws {
        if let extra = try file.attributeNames(path).first(where: { !allowed.contains($0) }) {
            throw CanonicalHDF5Error.unexpectedAttribute(path: path, name: extra)
        }
    }

    private static func int(_ file: HDF5File, _ path: String, _ name: String) throws -> Int {
        guard let v = try file.intAttribute(path, name) else { throw CanonicalHDF5Error.missingAttribute(path: path, name: name) }
        return v
    }

    /// A size or count attribute: at least `minimum`, and at most 2^31 so products of sizes cannot overflow.
    private static func count(_ file: HDF5File, _ path: String, _ name: String, minimum: Int) throws -> Int {
        let v = try int(file, path, name)
        guard v >= minimum, v <= Int(Int32.max) else {
            throw CanonicalHDF5Error.invalidAttribute(path: path, name: name, value: "\(v)", expected: "an integer from \(minimum) to \(Int32.max)")
        }
        return v
    }

    /// A string attribute naming a case of `T` (direction, merge mode, activation).
    private static func name<T: RawRepresentable & CaseIterable>(_ file: HDF5File, _ path: String, _ attribute: String) throws -> T
    where T.RawValue == String {
        guard let raw = try file.stringAttribute(path, attribute) else { throw CanonicalHDF5Error.missingAttribute(path: path, name: attribute) }
        guard let value = T(rawValue: raw) else {
            throw CanonicalHDF5Error.unknownName(path: path, attribute: attribute, value: raw, known: T.allCases.map(\.rawValue))
        }
        return value
    }
}
