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
    /// Writes to `url` directly; callers go through `FormatRegistry.write`, which makes the write atomic.
    static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws
}

extension ModelFileFormat {
    public static var canWrite: Bool { true }
}

public struct ReadOptions: Sendable {
    /// A Keras model config (JSON) for weight-only files that carry no architecture.
    public var kerasConfig: Data?
    /// Where `kerasConfig` came from; errors in the config name this file instead of the weights file.
    public var kerasConfigPath: String?
    /// Verify tensor CRC-32s of `.lstm` files (default true).
    public var verifyChecksums: Bool
    /// Called with notes a user should see (e.g. "architecture inferred from shapes").
    public var warn: @Sendable (String) -> Void

    public init(kerasConfig: Data? = nil, kerasConfigPath: String? = nil, verifyChecksums: Bool = true, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.kerasConfig = kerasConfig
        self.kerasConfigPath = kerasConfigPath
        self.verifyChecksums = verifyChecksums
        self.warn = warn
    }
}

public struct WriteOptions: Sendable {
    /// Deflate-compress datasets where the format supports it (HDF5).
    public var compress: Bool

    public init(compress: Bool = false) {
        self.compress = compress
    }
}

/// What a format looks at to recognise a file: its first bytes, and its URL for formats that must look inside.
public struct FileProbe: Sendable {
    public let url: URL
    /// Up to the first 512 bytes of the file.
    public let head: Data

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw IOProblem.cannotOpen(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { throw IOProblem.cannotOpen("is a directory") }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buffer, 512)
        guard n >= 0 else { throw IOProblem.cannotOpen(String(cString: strerror(errno))) }
        head = Data(buffer[0..<n])
    }

    public func starts(with magic: [UInt8]) -> Bool {
        head.count >= magic.count && head.prefix(magic.count).elementsEqual(magic)
    }

    public static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let zipSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
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

    /// Throws `cannotOpen` when `url` does not exist or is a directory. ZIPFoundation, given a directory, seeks
    /// to offsets near Int64.max looking for the end of the central directory and never returns.
    public static func requireFile(_ url: URL) throws {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw cannotOpen(String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw cannotOpen("is a directory") }
    }

    /// The operating system's one-line reason for a Foundation file error (not the NSError dump).
    static func reason(_ error: any Error) -> String {
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
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case unrecognized(head: String)
    case unreadableHDF5(String)
    case unrecognizedHDF5
    case unknownFormatName(String, known: [String])
    case noFormatForSuffix(String)
    case notWritable(String)

    public var description: String {
        switch self {
        case .unrecognized(let head): "not a model file of any supported format (first bytes: \(head))"
        case .unreadableHDF5(let why): "an HDF5 file that libhdf5 cannot open: \(why)"
        case .unrecognizedHDF5: "an HDF5 file, but neither a canonical LSTM file (no root attribute lstm_format) nor a Keras file (no model_config, model_weights, layer_names or layers/)"
        case .unknownFormatName(let n, let known): "unknown format '\(n)' (known: \(known.joined(separator: ", ")))"
        case .noFormatForSuffix(let name): "cannot tell the output format from the name '\(name)'; pass --to"
        case .notWritable(let n): "format '\(n)' is read-only"
        }
    }
}
