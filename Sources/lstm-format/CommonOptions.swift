import ArgumentParser
import Foundation
import LSTMFormat

/// Options for reading a model file of any format.
struct ModelReadOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Keras model config JSON (model.to_json() or a .keras archive's config.json) for weight-only Keras files.")
    var kerasConfig: String?

    @Flag(name: .customLong("by-name"), help: "Keras legacy .h5 weights: give each config layer the file layer of the same name (Keras's load_weights(by_name=True)) instead of the layer at the same position.")
    var kerasByName = false

    @Option(help: "Canonical architecture JSON (the \"architecture\" object of inspect --json, or the whole report) for weights-only files of any format; other files must match it.")
    var architecture: String?

    @Option(help: "The checkpoint entry holding the state dict in a torch.save file (a top-level key, or keys joined by '/').")
    var key: String?

    @Flag(name: .customLong("no-verify-checksums"), help: "Skip the CRC-32 check of .lstm tensor data (faster memory-mapped loads of trusted files).")
    var noVerifyChecksums = false

    /// The options as plain values (shared with the isolated read's child, which has no ArgumentParser).
    var request: ReadRequest {
        ReadRequest(kerasConfig: kerasConfig, kerasByName: kerasByName, architecture: architecture, key: key,
                    noVerifyChecksums: noVerifyChecksums)
    }

    /// The same options as arguments, for the child process of `IsolatedRead`.
    var arguments: [String] { request.arguments }

    func readOptions() throws -> ReadOptions { try request.readOptions() }

    /// Reads any supported model file. HDF5-based files (and `.keras` archives, which hold one) are parsed in
    /// a child process (`IsolatedRead`), so a libhdf5 crash or hang on a damaged file becomes an error.
    /// Shows "reading PATH" as progress meanwhile (G1; the child reader draws none itself).
    func load(_ path: String) throws -> (model: LSTMModel, format: any ModelFileFormat.Type) {
        let loaded = try load(path, unchangedLSTMOutput: nil)
        return (loaded.model, loaded.format)
    }

    /// `load`, for a command that will write the model unchanged as the `.lstm` file `output` (when given): a
    /// child's hand-off then lies in the output's folder, ready to be published as the output (P2).
    func load(_ path: String, unchangedLSTMOutput output: URL?) throws -> IsolatedRead.Loaded {
        let url = URL(fileURLWithPath: path)
        Progress.shared.phase("reading \(path)")
        if IsolatedRead.isEnabled, try IsolatedRead.needsIsolation(url) {
            _ = try readOptions()  // a bad --config or --architecture is reported here, naming its file
            return try IsolatedRead.load(url, readArguments: arguments + ["--quiet"], outputFolder: output?.deletingLastPathComponent(),
                                         outputLabel: output?.relativePath)
        }
        let (model, format) = try FormatRegistry.read(url, options: try readOptions())
        return IsolatedRead.Loaded(model: model, format: format, handoff: nil)
    }

    /// The outline of any supported model file, without reading tensor data where the format allows it
    /// (`inspect`, `Spec/reliability.md` M3); HDF5-based files in the child process as `load` reads them.
    func loadOutline(_ path: String) throws -> (outline: ModelOutline, format: any ModelFileFormat.Type) {
        let url = URL(fileURLWithPath: path)
        if IsolatedRead.isEnabled, try IsolatedRead.needsIsolation(url) {
            _ = try readOptions()
            return try IsolatedRead.loadOutline(url, readArguments: arguments)
        }
        return try FormatRegistry.readOutline(url, options: try readOptions())
    }
}

extension DType: ExpressibleByArgument {}
