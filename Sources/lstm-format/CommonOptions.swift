import ArgumentParser
import Foundation
import LSTMFormat

/// Options for reading a model file of any format.
struct ModelReadOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Keras model config JSON (model.to_json() or a .keras archive's config.json) for weight-only Keras files.")
    var kerasConfig: String?

    @Flag(name: .customLong("no-verify-checksums"), help: "Skip the CRC-32 check of .lstm tensor data (faster memory-mapped loads of trusted files).")
    var noVerifyChecksums = false

    func readOptions() throws -> ReadOptions {
        var config: Data?
        if let path = kerasConfig {
            do {
                try IOProblem.requireFile(URL(fileURLWithPath: path))
                config = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw FileError(path: path, underlying: error)
            }
        }
        return ReadOptions(kerasConfig: config, kerasConfigPath: kerasConfig, verifyChecksums: !noVerifyChecksums, warn: { note in
            FileHandle.standardError.write(Data("lstm-format: note: \(note)\n".utf8))
        })
    }

    /// Reads any supported model file. HDF5-based files (and `.keras` archives, which hold one) are parsed in
    /// a child process (`IsolatedRead`), so a libhdf5 crash or hang on a damaged file becomes an error.
    func load(_ path: String) throws -> (model: LSTMModel, format: any ModelFileFormat.Type) {
        let url = URL(fileURLWithPath: path)
        if IsolatedRead.isEnabled, try IsolatedRead.needsIsolation(url) {
            return try IsolatedRead.load(url, configPath: kerasConfig)
        }
        return try FormatRegistry.read(url, options: try readOptions())
    }
}

extension DType: ExpressibleByArgument {}
