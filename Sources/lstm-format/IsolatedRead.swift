import ArgumentParser
import CSystemShim
import Foundation
import LSTMFormat

/// Reads HDF5-based model files in a child process (`Spec/reliability.md`, P1, P2).
///
/// libhdf5 1.10 (Debian's) can crash (SIGSEGV in its global heap code) or loop forever on damaged files — see
/// `Fixtures/damaged/`. A crash in-process would take the command down with it, so for canonical `.h5`, Keras
/// `.h5` / `.weights.h5` and `.keras` inputs the command runs itself as `lstm-format __read INPUT`: the child
/// parses the file and writes the model as `.lstm` bytes, then its notes (`Spec/reliability.md` E2: the parent holds
/// them with its own, to print once the command has done its work), then a 64-byte trailer naming the format and
/// the notes' byte count, to its
/// standard output. That is an unnamed file: a `memfd`, or, when the command will write the model unchanged as
/// a `.lstm` (P2), an `O_TMPFILE` file in the output's folder, which the parent truncates to the `.lstm` bytes
/// and links into place as the output instead of writing the same bytes again. Either way no file in any
/// folder has a name until the output is published, so nothing is left behind on any exit. The parent maps the
/// file once the child has exited. The child dies with its parent (`PR_SET_PDEATHSIG`, and it stays in the
/// parent's process group, so Ctrl-C reaches both) and ends itself after its time limit (`alarm`); the parent
/// waits with `waitpid`. If the child dies from a signal, the parent reports the file as damaged, one line,
/// exit 2. `.lstm` files are read in-process: their reader is Swift and validates every byte.
/// `LSTMFORMAT_NO_ISOLATION=1` reads everything in-process.
enum IsolatedRead {
    static var isEnabled: Bool { ProcessInfo.processInfo.environment["LSTMFORMAT_NO_ISOLATION"] != "1" }

    /// The last bytes of the hand-off, after the `.lstm` and the notes: this tag, the format name, a space, the
    /// notes' byte count, spaces up to 64 bytes.
    static let tag = "lstm-format-handoff "
    static let trailerLength = 64

    /// The trailer's format name and notes' byte count; nil when `trailer` is not one.
    static func parseTrailer(_ trailer: some Collection<UInt8>) -> (format: String, notes: Int)? {
        let text = String(decoding: trailer, as: UTF8.self)
        guard trailer.count == trailerLength, text.hasPrefix(tag) else { return nil }
        let fields = text.dropFirst(tag.count).split(separator: " ")
        guard fields.count == 2, let notes = Int(fields[1]), notes >= 0 else { return nil }
        return (String(fields[0]), notes)
    }

    /// A model read by the child, with the unnamed `.lstm` file it came in when that lies in the output's folder.
    struct Loaded {
        let model: LSTMModel
        let format: any ModelFileFormat.Type
        let handoff: Handoff?
    }

    /// The child's `.lstm` file in the output's folder (P2), open until this is released.
    final class Handoff {
        let descriptor: Int32
        init(descriptor: Int32) { self.descriptor = descriptor }
        deinit { close(descriptor) }

        /// Makes the file the output at `url` (W1: mode, fsync, rename); false when it cannot be linked there,
        /// and the caller writes the model instead.
        func publish(to url: URL) -> Bool {
            (try? AtomicFile.publish(descriptor: descriptor, to: url)) != nil
        }
    }

    /// Whether the file is one libhdf5 will parse: the HDF5 signature or a zip (`.keras`).
    static func needsIsolation(_ url: URL) throws -> Bool {
        guard let probe = try? FileProbe(url: url) else { return false }  // the in-process read reports it
        return probe.starts(with: FileProbe.hdf5Signature) || probe.starts(with: FileProbe.zipSignature)
    }

    /// Seconds the child may take: 60 s plus 1 s per 10 MB of input (`LSTMFORMAT_READ_TIMEOUT` overrides).
    static func timeLimit(for url: URL) -> Int {
        if let s = ProcessInfo.processInfo.environment[timeoutVariable], let v = seconds(s) { return v }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        return 60 + (size ?? 0) / 10_000_000
    }

    static let timeoutVariable = "LSTMFORMAT_READ_TIMEOUT"

    /// Whole seconds (rounded up, at least 1) from a positive finite number of seconds; nil for anything else
    /// (`EnvironmentSettings` refuses such a value before any command runs).
    static func seconds(_ text: String) -> Int? {
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v > 0, v <= 1e9 else { return nil }
        return max(1, Int(v.rounded(.up)))
    }

    /// Reads `url` in the child. With `outputFolder` (the command writes the model unchanged as a `.lstm` there)
    /// the hand-off is an unnamed file in that folder that `Loaded.handoff` can publish as the output (P2).
    static func load(_ url: URL, readArguments: [String], outputFolder: URL? = nil, outputLabel: String? = nil) throws -> Loaded {
        var inFolder = false
        var handoff: Int32 = -1
        if let outputFolder {
            handoff = lstm_open_unnamed(outputFolder.path)
            inFolder = handoff >= 0
        }
        if handoff < 0 { handoff = lstm_memfd("lstm-format-read") }
        guard handoff >= 0 else { throw FileError(path: url.relativePath, underlying: IOProblem.cannotOpen("memfd_create: \(String(cString: strerror(errno)))")) }
        let owner = Handoff(descriptor: handoff)
        let (model, format) = try run(url, readArguments: (inFolder ? outputLabel.map { ["--output-label", $0] } ?? [] : []) + readArguments,
                                      handoff: handoff) { try receive($0, url) }
        return Loaded(model: model, format: format, handoff: inFolder ? owner : nil)
    }

    /// The outline (`inspect`, `Spec/reliability.md` M3): the child reads no tensor data where the format allows
    /// it and hands back the outline as JSON.
    static func loadOutline(_ url: URL, readArguments: [String]) throws -> (outline: ModelOutline, format: any ModelFileFormat.Type) {
        let handoff = lstm_memfd("lstm-format-read")
        guard handoff >= 0 else { throw FileError(path: url.relativePath, underlying: IOProblem.cannotOpen("memfd_create: \(String(cString: strerror(errno)))")) }
        defer { close(handoff) }
        return try run(url, readArguments: readArguments + ["--outline"], handoff: handoff) { try receiveOutline($0, url) }
    }

    /// Runs the child with `handoff` as its standard output, waits for it, and on success decodes the hand-off.
    private static func run<T>(_ url: URL, readArguments: [String], handoff: Int32, receive: (Int32) throws -> T) throws -> T {
        let limit = timeLimit(for: url)
        let arguments = ["lstm-format", IsolatedReadChild.commandName, url.relativePath, "--time-limit", "\(limit)", "--parent", "\(getpid())"] + readArguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a libhdf5 crash is reported by the parent, in one line
        let pid = spawn("/proc/self/exe", arguments, environment.map { "\($0.key)=\($0.value)" }, stdout: handoff)
        guard pid > 0 else { throw FileError(path: url.relativePath, underlying: IOProblem.cannotOpen("cannot start the reader process: \(String(cString: strerror(-pid)))")) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F, code = (status >> 8) & 0xFF
        if signal == SIGALRM {
            throw FileError(path: url.relativePath, underlying: IsolationProblem.timedOut(seconds: limit, archive: isZip(url)))
        }
        if [SIGINT, SIGTERM, SIGHUP].contains(signal) {
            // Interrupted (Ctrl-C reaches the whole process group): end the same way, not as a crash.
            raise(signal)
            throw FileError(path: url.relativePath, underlying: IsolationProblem.interrupted(signal: signal))
        }
        if signal != 0 { throw FileError(path: url.relativePath, underlying: IsolationProblem.crashed(signal: signal)) }
        // The child printed its one-line error (naming the file) itself; its notes went with it (E2).
        guard code == 0 else { throw CommandFailure(message: "", code: code) }
        return try receive(handoff)
    }

    /// Reads the outline hand-off: the outline's JSON, the notes (held, E2), then the trailer.
    private static func receiveOutline(_ fd: Int32, _ url: URL) throws -> (outline: ModelOutline, format: any ModelFileFormat.Type) {
        var bytes = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let n = pread(fd, &buffer, buffer.count, offset)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw FileError(path: url.relativePath, underlying: IsolationProblem.noModel) }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        guard let trailer = parseTrailer(bytes.suffix(trailerLength)), bytes.count > trailerLength + trailer.notes,
              let outline = try? JSONDecoder().decode(ModelOutline.self, from: bytes.dropLast(trailerLength + trailer.notes)) else {
            throw FileError(path: url.relativePath, underlying: IsolationProblem.noModel)
        }
        let format = try FormatRegistry.format(named: trailer.format)
        HeldNotes.shared.add(bytes: bytes.dropLast(trailerLength).suffix(trailer.notes))
        return (outline, format)
    }

    /// Reads the trailer and the notes (held, E2), cuts both off, maps the `.lstm` bytes and decodes them; the
    /// tensors are views of the mapping, which lives as long as they do.
    private static func receive(_ fd: Int32, _ url: URL) throws -> (model: LSTMModel, format: any ModelFileFormat.Type) {
        let noModel = FileError(path: url.relativePath, underlying: IsolationProblem.noModel)
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) > trailerLength else { throw noModel }
        var bytes = [UInt8](repeating: 0, count: trailerLength)
        guard pread(fd, &bytes, trailerLength, off_t(Int(st.st_size) - trailerLength)) == trailerLength,
              let trailer = parseTrailer(bytes), Int(st.st_size) > trailerLength + trailer.notes else { throw noModel }
        let size = Int(st.st_size) - trailerLength - trailer.notes
        var notes = [UInt8](repeating: 0, count: trailer.notes)
        guard pread(fd, &notes, trailer.notes, off_t(size)) == trailer.notes, ftruncate(fd, off_t(size)) == 0 else { throw noModel }
        let format = try FormatRegistry.format(named: trailer.format)
        HeldNotes.shared.add(bytes: notes)
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { throw noModel }
        let data = Data(bytesNoCopy: base, count: size, deallocator: .custom { _, _ in munmap(base, size) })
        // The child computed every CRC from the model it built; the bytes then moved only through the kernel.
        do { return (try CompactFormat.decode(data, verifyChecksums: false), format) } catch { throw noModel }
    }

    private static func spawn(_ path: String, _ arguments: [String], _ environment: [String], stdout: Int32) -> pid_t {
        func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] { strings.map { strdup($0) } + [nil] }
        let argv = cStrings(arguments), envp = cStrings(environment)
        defer { (argv + envp).forEach { free($0) } }
        return lstm_spawn(path, argv, envp, stdout)
    }

    private static func isZip(_ url: URL) -> Bool {
        (try? FileProbe(url: url))?.starts(with: FileProbe.zipSignature) ?? false
    }
}

enum IsolationProblem: Error, CustomStringConvertible {
    case crashed(signal: Int32)
    case timedOut(seconds: Int, archive: Bool)
    case noModel
    case interrupted(signal: Int32)

    var description: String {
        switch self {
        case .crashed(let s): "libhdf5 crashed while reading this file (signal \(s)): the file is damaged or not valid HDF5"
        case .timedOut(let t, let archive):
            "reading did not finish within \(t) s in libhdf5 (it loops on some damaged files): the \(archive ? "HDF5 weights inside the archive are" : "file is") damaged or not valid HDF5"
        case .noModel: "the reader process ended without handing back a model"
        case .interrupted(let s): "reading was interrupted (signal \(s))"
        }
    }
}
