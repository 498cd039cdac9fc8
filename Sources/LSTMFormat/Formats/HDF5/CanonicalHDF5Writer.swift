import Foundation

/// Writes a model in the canonical HDF5 layout (`Spec/hdf5-layout.md`). Objects are created in a fixed order
/// (root attributes, layers in canonical tensor order, dense layers, metadata keys sorted) and libhdf5 stores no
/// times (H7), so the same model always gives the same bytes.
enum CanonicalHDF5Writer {
    typealias L = CanonicalHDF5Layout

    static func write(_ model: LSTMModel, to url: URL, compress: Bool) throws {
        try checkMetadata(model.metadata)
        try HDF5File.create(url) { try write(model, into: $0, compress: compress) }
    }

    private static func write(_ model: LSTMModel, into file: HDF5File, compress: Bool) throws {
        let a = model.architecture
        try file.setStringAttribute("/", L.Root.format, L.formatName)
        try file.setIntAttribute("/", L.Root.version, L.version)
        try file.setIntAttribute("/", L.Root.returnSequences, a.returnSequences ? 1 : 0)
        try file.setIntAttribute("/", L.Root.lstmCount, a.layers.count)
        try file.setIntAttribute("/", L.Root.denseCount, a.dense.count)
        if let v = a.maskValue { try file.setDoubleAttribute("/", L.Root.maskValue, v) }
        if let e = a.embedding {
            try file.createGroup(L.Embedding.group)
            try file.setIntAttribute(L.Embedding.group, L.Embedding.vocabularySize, e.vocabularySize)
            try file.setIntAttribute(L.Embedding.group, L.Embedding.maskZero, e.maskZero ? 1 : 0)
            try file.writeTensor(L.Embedding.table, tensor(model, TensorName.embedding), compress: compress)
        }

        try file.createGroup(L.lstmGroup)
        for (k, layer) in a.layers.enumerated() {
            let path = L.layer(k)
            try file.createGroup(path)
            try file.setIntAttribute(path, L.Layer.inputSize, layer.inputSize)
            try file.setIntAttribute(path, L.Layer.hiddenSize, layer.hiddenSize)
            try file.setStringAttribute(path, L.Layer.direction, layer.direction.rawValue)
            if let merge = layer.mergeMode { try file.setStringAttribute(path, L.Layer.mergeMode, merge.rawValue) }
            try file.setStringAttribute(path, L.Layer.gateActivation, layer.gateActivation.rawValue)
            try file.setStringAttribute(path, L.Layer.cellActivation, layer.cellActivation.rawValue)
            if layer.zeroOutputForMask { try file.setIntAttribute(path, L.Layer.zeroOutputForMask, 1) }
            if let p = layer.projectionSize { try file.setIntAttribute(path, L.Layer.projectionSize, p) }
            if layer.peepholes { try file.setIntAttribute(path, L.Layer.peepholes, 1) }
            for cell in layer.cells {
                try file.createGroup(L.cell(k, cell))
                for (kind, gate) in L.cellDatasets {
                    try file.writeTensor(L.tensor(k, cell, kind, gate), tensor(model, TensorName.lstm(k, cell, kind, gate)), compress: compress)
                }
                if layer.peepholes {
                    for g in Gate.peepholed {
                        try file.writeTensor(L.peephole(k, cell, g), tensor(model, TensorName.peephole(k, cell, g)), compress: compress)
                    }
                }
                if layer.projectionSize != nil {
                    try file.writeTensor(L.cell(k, cell) + "/W_hr", tensor(model, TensorName.projection(k, cell)), compress: compress)
                }
            }
        }

        try file.createGroup(L.denseGroup)
        for (j, dense) in a.dense.enumerated() {
            let path = L.dense(j)
            try file.createGroup(path)
            try file.setIntAttribute(path, L.Dense.inputSize, dense.inputSize)
            try file.setIntAttribute(path, L.Dense.outputSize, dense.outputSize)
            try file.setStringAttribute(path, L.Dense.activation, dense.activation.rawValue)
            try file.writeTensor(path + "/V", tensor(model, TensorName.denseV(j)), compress: compress)
            try file.writeTensor(path + "/c", tensor(model, TensorName.denseC(j)), compress: compress)
        }

        try file.createGroup(L.metadataGroup)
        for key in model.metadata.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            try file.setStringAttribute(L.metadataGroup, key, model.metadata[key] ?? "")
        }
    }

    /// An `LSTMModel` always holds every tensor its architecture names; this only guards the lookup.
    private static func tensor(_ model: LSTMModel, _ name: String) throws -> Tensor {
        guard let t = model.tensor(name) else { throw ModelError.missingTensor(name) }
        return t
    }

    /// HDF5 attribute names must be non-empty and, like the NUL-terminated strings holding the values, cannot
    /// contain NUL.
    private static func checkMetadata(_ metadata: [String: String]) throws {
        for (key, value) in metadata {
            if key.isEmpty { throw CanonicalHDF5Error.unstorableMetadata(key: key, reason: "HDF5 attribute names cannot be empty") }
            if key.utf8.contains(0) { throw CanonicalHDF5Error.unstorableMetadata(key: key, reason: "the key contains a NUL character") }
            if value.utf8.contains(0) { throw CanonicalHDF5Error.unstorableMetadata(key: key, reason: "the value contains a NUL character") }
        }
    }
}
