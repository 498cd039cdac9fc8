import Foundation

/// Read options only the Keras adapters use (`Spec/keras-mapping.md`, K-F6), carried in
/// `ReadOptions.formatOptions` (`Spec/layout.md`, O1).
public struct KerasReadOptions: FormatOption, Equatable {
    /// A Keras model config (JSON: `model.to_json()` or a `.keras` archive's `config.json`) for weights-only
    /// files, which carry no architecture.
    public var config: Data?
    /// Where `config` came from; errors in the config name this file instead of the weights file.
    public var configPath: String?

    /// Legacy `.h5` weights go to the config's layers by name, as Keras's `load_weights(by_name=True)` does,
    /// instead of by position (`Spec/keras-mapping.md`, K-O2). Every layer with weights must then find its
    /// name in the file, and every file layer with weights must be used.
    public var byName: Bool

    public init(config: Data? = nil, configPath: String? = nil, byName: Bool = false) {
        self.config = config
        self.configPath = configPath
        self.byName = byName
    }
}

extension ReadOptions {
    /// The Keras options (empty when none were given).
    public var keras: KerasReadOptions {
        get { formatOptions[KerasReadOptions.self] ?? KerasReadOptions() }
        set { formatOptions[KerasReadOptions.self] = newValue }
    }

    /// The plan of the config given for a weights-only Keras file, nil without one. Its errors name the config
    /// file (`KerasReadOptions.configPath`) when known: the user has to fix that file, not the weights.
    func kerasConfigPlan(generation: KerasGeneration) throws -> KerasModelPlan? {
        guard let config = keras.config else { return nil }
        do {
            return try KerasConfig.parse(config, generation: generation)
        } catch {
            guard let path = keras.configPath else { throw error }
            throw FileError(path: path, underlying: error)
        }
    }

    /// The plan of a weights-only Keras file: from the Keras config when one was given, else inferred from the
    /// weight shapes (`infer`) and completed with `architecture` when one was given (O2), else inferred with
    /// Keras defaults and a note saying so (K-F6).
    func kerasWeightsOnlyPlan(generation: KerasGeneration, infer: () throws -> KerasModelPlan) throws -> KerasModelPlan {
        if let config = try kerasConfigPlan(generation: generation) { return config }
        let inferred = try infer()
        if let architecture { return try inferred.applying(architecture) }
        note(KerasShapeInference.warning(inferred), hint: .kerasConfig)
        return inferred
    }
}
