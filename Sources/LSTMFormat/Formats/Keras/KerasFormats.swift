import Foundation

/// Keras 3 `.keras` archive.
public enum KerasFormat: ModelFileFormat {
    public static let name = "keras"
    public static let fileSuffixes = [".keras"]

    public static func matches(_ probe: FileProbe) -> Bool {
        guard let names = probe.zipEntryNames else { return false }
        return names.contains(KerasArchive.configEntry) && names.contains(KerasArchive.weightsEntry)
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        try KerasArchive.read(url, options: options)
    }

    /// M3: the datasets' dtypes and shapes, none of their data (the weights member itself is read whole: libhdf5
    /// opens it as a memory image).
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try outlineWithoutTensorData(url, options)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        try KerasArchive.write(model, to: url, options: options)
        if let note = KerasConfigWriter.uncarriedPolicyNote(model, target: .keras3) { options.warn(note) }
    }
}

/// Keras 3 `.weights.h5` (`model.save_weights`): weights only, architecture from `KerasReadOptions.config`,
/// `ReadOptions.architecture`, or inferred from the shapes.
public enum KerasWeightsFormat: ModelFileFormat {
    public static let name = "keras-weights"
    public static let fileSuffixes = [".weights.h5"]

    public static func matches(_ probe: FileProbe) -> Bool {
        guard let marks = probe.hdf5Marks else { return false }
        return marks.groups.contains("/layers") && !marks.rootAttributes.contains("lstm_format") && !KerasLegacyH5.looksLike(marks)
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        file.readsTensorData = !options.declaredTensorsOnly
        let plan = try options.kerasWeightsOnlyPlan(generation: .keras3) { try KerasShapeInference.keras3(file) }
        let weights = try KerasWeightsH5.readWeights(file, plan: plan)
        let model = try KerasModelBuilder.model(plan, weights: weights, metadata: ["source.format": name, "source.tool": plan.generation.toolName])
        KerasInferenceNotes.report(plan, options: options)  // K-N: only for a model that was read (bad input: its error alone)
        return model
    }

    /// M3: the datasets' dtypes and shapes, none of their data.
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try outlineWithoutTensorData(url, options)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        let plan = try KerasConfigWriter.plan(model, target: .keras3)
        try HDF5File.create(url) { try KerasWeightsH5.write($0, plan: plan, weights: KerasWeightMapping.kerasWeightArrays(model), compress: options.compress) }
        // K-W7: the file holds weights only; read back without an architecture it gets inferred Keras defaults.
        options.warn("a .weights.h5 file holds weights only, not the architecture (activations, return_sequences, merge modes): "
            + "read it back with the model's architecture or Keras config, or the inferred Keras defaults may compute differently")
    }
}

/// Legacy Keras HDF5: full models (`model.save("x.h5")`, Keras 2 or 3) and Keras 2 `save_weights` files.
/// Chosen for output only by `--to keras-h5` (a `.h5` name means canonical HDF5).
public enum KerasH5Format: ModelFileFormat {
    public static let name = "keras-h5"
    public static let fileSuffixes: [String] = []

    public static func matches(_ probe: FileProbe) -> Bool {
        guard let marks = probe.hdf5Marks else { return false }
        return !marks.rootAttributes.contains("lstm_format") && KerasLegacyH5.looksLike(marks)
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        file.readsTensorData = !options.declaredTensorsOnly
        return try KerasLegacyH5.read(file, options: options, formatName: name, byName: options.keras.byName)
    }

    /// M3: the datasets' dtypes and shapes, none of their data.
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try outlineWithoutTensorData(url, options)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        try HDF5File.create(url) { try KerasLegacyH5.write(model, to: $0, compress: options.compress) }
        if let note = KerasConfigWriter.uncarriedPolicyNote(model, target: .legacyH5) { options.warn(note) }
        if KerasLegacyH5.usesKeras2HardSigmoid(model) {
            options.warn("the model uses Keras 2's hard_sigmoid (clip(0.2x + 0.5)): tf_keras loads this .h5 exactly, but Keras 3 reads "
                         + "'hard_sigmoid' in it as its own clip(x/6 + 0.5) and computes differently (K-W3)")
        }
    }
}
