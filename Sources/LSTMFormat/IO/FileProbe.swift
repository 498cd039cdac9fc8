import Foundation

/// What formats look at to recognise a file (`Spec/layout.md`, O3): its first bytes and, parsed at most once per
/// probe and only when a format asks, the marks of an HDF5 file or the member names of a zip archive. Detection
/// therefore parses an untrusted HDF5 file once, however many formats are tried, and the registry builds its
/// error text from the probe without opening the file again.
public final class FileProbe: @unchecked Sendable {
    public let url: URL
    /// Up to the first 512 bytes of the file.
    public let head: Data

    private let lock = NSLock()
    private var hdf5Cache: Result<HDF5Marks, HDF5OpenFailure>?
    private var zipCache: Result<[String], ZipError>??

    public init(url: URL) throws {
        self.url = url
        try IOProblem.requireFile(url)  // before open(2): opening a FIFO would block
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

    /// The HDF5 marks of the file, nil when it does not start with the HDF5 signature. Parsed on first use only.
    public var hdf5: Result<HDF5Marks, HDF5OpenFailure>? {
        guard starts(with: Self.hdf5Signature) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let cached = hdf5Cache { return cached }
        let result = HDF5Marks.read(url)
        hdf5Cache = result
        return result
    }

    /// The HDF5 marks when the file is HDF5 that libhdf5 opens, else nil.
    public var hdf5Marks: HDF5Marks? {
        if case .success(let m) = hdf5 { return m }
        return nil
    }

    /// The member names of a zip archive (at most `zipEntryLimit`), nil when the file is not a readable zip.
    /// Read from the central directory on first use only.
    public var zipEntryNames: [String]? {
        if case .success(let names)? = zipDirectory { return names }
        return nil
    }

    /// The member names of a file that starts like a zip archive, or why its central directory cannot be read
    /// (a truncated download has no end record); nil when the file does not start with the zip signature.
    public var zipDirectory: Result<[String], ZipError>? {
        guard starts(with: Self.zipSignature) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let cached = zipCache { return cached }
        let result: Result<[String], ZipError>
        do {
            result = .success(try ZipDirectory.parse(Data(contentsOf: url, options: .alwaysMapped)).prefix(Self.zipEntryLimit).map(\.name))
        } catch let e as ZipError {
            result = .failure(e)
        } catch {
            result = .failure(.notAnArchive(IOProblem.reason(error)))
        }
        zipCache = .some(result)
        return result
    }

    /// Zip members listed for detection; model archives have a handful.
    public static let zipEntryLimit = 100_000

    public static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let zipSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
}

/// What detection needs from an HDF5 file, read in one open: the root's attribute names, its `lstm_format`
/// attribute and which of the groups formats look for exist.
public struct HDF5Marks: Sendable, Equatable {
    public var rootAttributes: Set<String>
    /// The root attribute `lstm_format` when it is a string.
    public var lstmFormat: String?
    /// The groups among `probedGroups` that exist.
    public var groups: Set<String>

    /// Groups detection asks about (Keras 3 `/layers`, legacy Keras `/model_weights`).
    public static let probedGroups = ["/layers", "/model_weights"]

    /// How many times detection has opened an HDF5 file in this process (tests check O3 with it).
    static let parseCount = Counter()

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.lock(); count += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    }

    static func read(_ url: URL) -> Result<HDF5Marks, HDF5OpenFailure> {
        parseCount.increment()
        let file: HDF5File
        do { file = try HDF5File.open(url) } catch { return .failure(HDF5OpenFailure(reason: String(describing: error))) }
        defer { try? file.close() }
        let attributes = Set((try? file.attributeNames("/")) ?? [])
        let format = attributes.contains("lstm_format") ? (try? file.stringAttribute("/", "lstm_format")) ?? nil : nil
        return .success(HDF5Marks(rootAttributes: attributes, lstmFormat: format, groups: Set(probedGroups.filter { file.isGroup($0) })))
    }
}

/// libhdf5's reason for not opening a file that starts with the HDF5 signature.
public struct HDF5OpenFailure: Error, Sendable, Equatable {
    public var reason: String
}
