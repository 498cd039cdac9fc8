import Foundation

/// How to read a model file, for every format (`Spec/layout.md`, O1, O2). Options of one format live in that
/// format's folder and travel in `formatOptions`, keyed by their type (e.g. `KerasReadOptions`).
public struct ReadOptions: Sendable {
    /// The architecture of a weights-only file (O2): a file that stores weights but not how they are connected
    /// (Keras `.weights.h5`, PyTorch state dicts) is read with these layers, directions, activations and head.
    /// Formats that store their architecture check it against the file instead.
    public var architecture: ModelArchitecture?
    /// Verify stored checksums where the format has them (`.lstm` tensor CRC-32s; default true).
    public var verifyChecksums: Bool
    /// Called with notes a user should see (e.g. "architecture inferred from shapes").
    public var warn: @Sendable (String) -> Void
    /// How a note names what the caller can supply (`CallerHint`); the command line names its flags here.
    public var describeHint: @Sendable (CallerHint) -> String
    /// Options of individual formats.
    public var formatOptions: FormatOptions
    /// Set only inside `readOutline` (`Spec/reliability.md`, M3): HDF5-based readers check every dataset's
    /// existence, dtype and shape but read none of its data, and give tensors of zeros that are never written
    /// anywhere — the model they build lives only long enough to give its outline. Never public.
    var declaredTensorsOnly = false

    public init(architecture: ModelArchitecture? = nil, verifyChecksums: Bool = true,
                warn: @escaping @Sendable (String) -> Void = { _ in },
                describeHint: @escaping @Sendable (CallerHint) -> String = { $0.libraryText },
                formatOptions: FormatOptions = FormatOptions()) {
        self.architecture = architecture
        self.verifyChecksums = verifyChecksums
        self.warn = warn
        self.describeHint = describeHint
        self.formatOptions = formatOptions
    }

    /// Sends `text` to `warn`, followed by what the caller can supply to avoid the note.
    public func note(_ text: String, hint: CallerHint? = nil) {
        warn(hint.map { "\(text); \(describeHint($0))" } ?? text)
    }
}

/// How to write a model file, for every format. Format-specific options travel in `formatOptions`.
public struct WriteOptions: Sendable {
    /// Deflate-compress datasets where the format supports it (HDF5).
    public var compress: Bool
    /// Options of individual formats.
    public var formatOptions: FormatOptions
    /// Called with notes a user should see about the written file (e.g. how another tool will read it).
    public var warn: @Sendable (String) -> Void

    public init(compress: Bool = false, formatOptions: FormatOptions = FormatOptions(), warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.compress = compress
        self.formatOptions = formatOptions
        self.warn = warn
    }
}

/// Options of individual formats, at most one value per type (`Spec/layout.md`, O1). A format declares its
/// options as a `FormatOption` type in its own folder and reads them with `options.formatOptions[T.self]`;
/// generic code never names them.
public struct FormatOptions: Sendable {
    private var values: [ObjectIdentifier: any FormatOption] = [:]

    public init() {}

    public init(_ options: any FormatOption...) {
        for o in options { values[ObjectIdentifier(type(of: o))] = o }
    }

    /// The options of type `T`, nil when none were given.
    public subscript<T: FormatOption>(_ type: T.Type) -> T? {
        get { values[ObjectIdentifier(type)] as? T }
        set { values[ObjectIdentifier(type)] = newValue }
    }
}

/// The options of one format, declared in that format's folder.
public protocol FormatOption: Sendable {}
