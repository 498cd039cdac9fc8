import Foundation

/// A file format adapter: reads a file into the canonical `LSTMModel` and writes one back.
///
/// A new format is one new folder under `Formats/` with a type conforming to this protocol, plus one line in
/// `FormatRegistry.all`.
public protocol ModelFileFormat: Sendable {
    /// The name used by `--to` and shown by `inspect` ("lstm", "hdf5", "keras", …).
    static var name: String { get }
    /// Output file name suffixes that select this format when `--to` is absent (longest match wins).
    static var fileSuffixes: [String] { get }
    /// Whether the file is in this format, judged from its content (the first bytes, or a look inside a
    /// container), never from its name alone.
    static func matches(_ probe: FileProbe) -> Bool
    static func read(from url: URL, options: ReadOptions) throws -> LSTMModel
    /// What `inspect` reports: the architecture, every tensor's dtype and shape, the metadata, read without
    /// the tensor data where the format allows it (`Spec/reliability.md`, M3). The default reads the whole model
    /// (`read(from:options:)`) and computes every CRC-32; errors are those of `read`.
    static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline
    /// Writes to `url` directly; callers go through `FormatRegistry.write`, which makes the write atomic.
    static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws
}

extension ModelFileFormat {
    public static var canWrite: Bool { true }

    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        ModelOutline(model: try read(from: url, options: options))
    }
}

/// An error about one file: the path and what is wrong with it. `description` is the one-line message the
/// command line prints.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let underlying: any Error

    public init(path: String, underlying: any Error) {
        self.path = path
        self.underlying = underlying
    }

    public var description: String {
        let message = String(describing: underlying)
        return "\(path): \(message.replacingOccurrences(of: "\n", with: " "))"
    }
}

/// A file that cannot be opened or read at all.
public enum IOProblem: Error, CustomStringConvertible, Equatable {
    case cannotOpen(String)
    case cannotWrite(String)

    public var description: String {
        switch self {
        case .cannotOpen(let why): "cannot open: \(why)"
        case .cannotWrite(let why): "cannot write: \(why)"
        }
    }

    /// Throws `cannotOpen` when `url` does not exist or is not a regular file (after following symlinks): a
    /// directory makes zip readers seek near Int64.max, and opening a FIFO blocks until a writer appears, so
    /// inputs (models, `--config`, `--architecture`, arrays) MUST be regular files (`Spec/reliability.md`, E1).
    public static func requireFile(_ url: URL) throws {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw cannotOpen(String(cString: strerror(errno))) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw cannotOpen("is a directory")
        case S_IFIFO: throw cannotOpen("is a FIFO, not a regular file")
        case S_IFCHR, S_IFBLK: throw cannotOpen("is a device, not a regular file")
        case S_IFSOCK: throw cannotOpen("is a socket, not a regular file")
        default: throw cannotOpen("is not a regular file")
        }
    }

    /// The operating system's one-line reason for a Foundation file error (not the NSError dump).
    public static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if ns.domain == NSCocoaErrorDomain, ns.code == CocoaError.fileWriteUnknown.rawValue { return "the system refused to create the file" }
        return ns.localizedDescription.replacingOccurrences(of: "\n", with: " ")
    }
}

/// Errors of the registry itself.
public enum FormatError: HintedError, Equatable {
    case unrecognized(head: String)
    case unreadableHDF5(String)
    case unrecognizedHDF5
    /// A file that starts like a zip archive whose central directory cannot be read (`Spec/reliability.md`, Z6).
    case unreadableZip(String)
    case unknownFormatName(String, known: [String])
    case noFormatForSuffix(String)
    case notWritable(String)

    public var problem: String {
        switch self {
        case .unrecognized(let head): "not a model file of any supported format (first bytes: \(head))"
        case .unreadableHDF5(let why): "an HDF5 file that libhdf5 cannot open: \(why)"
        case .unrecognizedHDF5: "an HDF5 file, but neither a canonical LSTM file (no root attribute lstm_format) nor a Keras file (no model_config, model_weights, layer_names or layers/)"
        case .unreadableZip(let why):
            "a zip archive (the container of .keras, .npz and torch.save files) whose central directory cannot be read: \(why); the file is truncated or damaged"
        case .unknownFormatName(let n, let known): "unknown format '\(n)' (known: \(known.joined(separator: ", ")))"
        case .noFormatForSuffix(let name): "cannot tell the output format from the name '\(name)'"
        case .notWritable(let n): "format '\(n)' is read-only"
        }
    }

    public var hint: CallerHint? {
        if case .noFormatForSuffix = self { return .outputFormat }
        return nil
    }
}
