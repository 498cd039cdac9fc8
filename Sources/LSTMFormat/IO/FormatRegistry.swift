import Foundation

/// The list of file formats and the entry points that pick one: by content for reading, by `--to` or by the
/// output name's suffix for writing.
public enum FormatRegistry {
    /// Every supported format, most specific first (detection tries them in this order).
    public static let all: [any ModelFileFormat.Type] = [
        CompactFormat.self,
        CanonicalHDF5Format.self,
        KerasFormat.self,
        KerasH5Format.self,
        KerasWeightsFormat.self,
        SafetensorsFormat.self,
        TorchFormat.self,
        ONNXFormat.self,
    ]

    public static func format(named name: String) throws -> any ModelFileFormat.Type {
        guard let f = all.first(where: { $0.name == name }) else {
            throw FormatError.unknownFormatName(name, known: all.map { $0.name })
        }
        return f
    }

    /// The format of an existing file, from its content. An HDF5 file is parsed at most once however many
    /// formats are tried, and never again to explain a failure (`Spec/layout.md`, O3).
    public static func detect(_ url: URL) throws -> any ModelFileFormat.Type {
        do {
            let probe: FileProbe
            do { probe = try FileProbe(url: url) } catch {
                throw TensorFlowArtifact.recognize(url) ?? error  // a SavedModel directory: say what it is
            }
            guard let f = all.first(where: { $0.matches(probe) }) else {
                if let artifact = TensorFlowArtifact.recognize(url) { throw artifact }
                switch probe.hdf5 {
                // An HDF5 file no adapter claims: say what libhdf5 said when the probe opened it, or what it lacks.
                case .failure(let failure): throw FormatError.unreadableHDF5(failure.reason)
                case .success: throw FormatError.unrecognizedHDF5
                case nil: break
                }
                // A zip whose directory cannot be read (a truncated .keras, .npz or .pt): say so, not "not a model".
                if case .failure(let zip)? = probe.zipDirectory { throw FormatError.unreadableZip(zip.reason) }
                let hex = probe.head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
                throw FormatError.unrecognized(head: hex.isEmpty ? "empty file" : hex)
            }
            return f
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(path: url.relativePath, underlying: error)
        }
    }

    /// The output format for a file name (longest matching suffix wins).
    public static func format(forOutput url: URL) throws -> any ModelFileFormat.Type {
        let name = url.lastPathComponent.lowercased()
        let candidates = all.flatMap { f in f.fileSuffixes.filter { name.hasSuffix($0) }.map { (f, $0.count) } }
        guard let best = candidates.max(by: { $0.1 < $1.1 }) else { throw FileError(path: url.relativePath, underlying: FormatError.noFormatForSuffix(url.lastPathComponent)) }
        return best.0
    }

    /// Reads any supported model file. Errors are `FileError`s naming the file.
    public static func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> (model: LSTMModel, format: any ModelFileFormat.Type) {
        try read(url, options: options) { format in
            let model = try format.read(from: url, options: options)
            return (model, model.architecture)
        }
    }

    /// The outline of any supported model file (what `inspect` shows), without reading tensor data where the
    /// format allows it (`Spec/reliability.md`, M3). Errors are `FileError`s naming the file.
    public static func readOutline(_ url: URL, options: ReadOptions = ReadOptions()) throws -> (outline: ModelOutline, format: any ModelFileFormat.Type) {
        try read(url, options: options) { format in
            let outline = try format.readOutline(from: url, options: options)
            return (outline, outline.architecture)
        }
    }

    private static func read<T>(_ url: URL, options: ReadOptions,
                                _ body: (any ModelFileFormat.Type) throws -> (T, ModelArchitecture)) throws -> (T, any ModelFileFormat.Type) {
        let format = try detect(url)
        do {
            let (value, architecture) = try body(format)
            // O2: a weights-only format built the model with the given architecture; any other format stores its
            // own, which must then be the given one.
            if let given = options.architecture, given != architecture {
                throw ArchitectureMismatch(given: given, found: architecture)
            }
            return (value, format)
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(path: url.relativePath, underlying: error)
        }
    }

    /// Writes `model` atomically in `format` (or the format the name implies).
    public static func write(_ model: LSTMModel, to url: URL, format: (any ModelFileFormat.Type)? = nil, options: WriteOptions = WriteOptions()) throws {
        let f = try format ?? self.format(forOutput: url)
        do {
            try AtomicFile.write(to: url) { try f.write(model, to: $0, options: options) }
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(path: url.relativePath, underlying: error)
        }
    }
}
