import CSystemShim
import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part
/// (`Spec/reliability.md`, W1–W5).
///
/// The body writes to a temporary file `.NAME.lstm-format-PID-RANDOM.tmp` in the destination's folder (so the
/// final `rename(2)` stays on one file system). On success the temporary file gets the existing output's
/// permission bits, is `fsync`ed and renamed over the destination, and the folder is `fsync`ed; on any error it
/// is removed and the destination is left untouched. SIGINT, SIGTERM and SIGHUP remove it too; one left by a
/// killed run (SIGKILL) is recognised by its name — a PID that no longer runs — and removed by the next write
/// into the same folder. A destination that exists and is not a regular file (device, FIFO, socket,
/// directory, or a symlink to one) is refused, never replaced.
public enum AtomicFile {
    public static func write(to destination: URL, _ body: (URL) throws -> Void) throws {
        let folder = destination.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw IOProblem.cannotWrite("the folder \(folder.path) does not exist")
        }
        let mode = try existingMode(destination)
        removeStale(in: folder)
        let temp = folder.appendingPathComponent(temporaryName(for: destination.lastPathComponent))
        let slot = TemporaryFiles.register(temp)
        defer { TemporaryFiles.unregister(slot) }
        // Create it once ourselves: a read-only folder then fails with the OS's reason, whatever the writer.
        let probe = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard probe >= 0 else { throw IOProblem.cannotWrite("cannot create a file in \(folder.path): \(String(cString: strerror(errno)))") }
        close(probe)
        unlink(temp.path)
        do {
            try body(temp)
            try syncAndSetMode(temp, mode: mode)
            guard rename(temp.path, destination.path) == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
            syncFolder(folder)
        } catch {
            let full = diskIsFull(folder)
            unlink(temp.path)
            if full { throw IOProblem.cannotWrite(String(cString: strerror(ENOSPC))) }
            // Foundation's file errors print as an NSError dump; give the one-line reason instead.
            if (error as NSError).domain == NSCocoaErrorDomain || (error as NSError).domain == NSPOSIXErrorDomain,
               !(error is IOProblem) {
                throw IOProblem.cannotWrite(IOProblem.reason(error))
            }
            throw error
        }
    }

    /// Makes the complete, unnamed file open as `fd` (`lstm_open_unnamed` in the destination's folder) the
    /// destination, the way `write` does (W1): it is linked as the temporary file, given the existing output's
    /// mode, `fsync`ed and renamed into place (`Spec/reliability.md`, P2). Throws `IOProblem.cannotWrite` when
    /// the file cannot be linked there (another file system, no `/proc`): the caller then writes normally.
    public static func publish(descriptor fd: Int32, to destination: URL) throws {
        try write(to: destination) { temp in
            guard lstm_link_unnamed(fd, temp.path) == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to destination: URL) throws {
        try write(to: destination) { temp in try writeAll(data, to: temp) }
    }

    /// Writes `data` to a new file with `write(2)`, so a failure reports the OS's reason ("No space left on
    /// device"), not a Foundation error.
    static func writeAll(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        try writeAll(data, toDescriptor: fd)
    }

    /// Writes all of `data` to an open descriptor, retrying short writes; at file offset `offset` when given.
    public static func writeAll(_ data: Data, toDescriptor fd: Int32, at offset: Int? = nil) throws {
        try data.withUnsafeBytes { try writeAll($0, toDescriptor: fd, at: offset) }
    }

    /// Writes all of `raw` to an open descriptor, retrying short and interrupted writes: at the descriptor's
    /// offset (write(2)), or at file offset `offset` when given (pwrite(2), the descriptor's offset unchanged).
    /// Sequential buffers of 1 MiB or more go out 8 MiB at a time, each followed by the start of its writeback
    /// (W1a: the disk works while the rest is written, and the final `fsync` waits only for the tail; ignored
    /// where it does not apply, a pipe).
    static func writeAll(_ raw: UnsafeRawBufferPointer, toDescriptor fd: Int32, at offset: Int? = nil) throws {
        let error = writeAllReturningErrno(raw, toDescriptor: fd, at: offset)
        guard error == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(error))) }
    }

    /// `writeAll`'s loop: 0 when every byte was written, else the `errno` of the failed write (EIO for a write
    /// of no bytes), for callers that act on the reason (`RawDataWriter` falls back from `O_DIRECT` on EINVAL).
    static func writeAllReturningErrno(_ raw: UnsafeRawBufferPointer, toDescriptor fd: Int32, at offset: Int? = nil) -> Int32 {
        let large = offset == nil && raw.count >= writebackThreshold
        var done = 0
        while done < raw.count {
            let part = min(raw.count - done, large ? writebackPart : 1 << 30)
            let n = if let offset { pwrite(fd, raw.baseAddress! + done, part, off_t(offset + done)) }
                    else { Glibc.write(fd, raw.baseAddress! + done, part) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n < 0 ? errno : EIO }
            done += n
            if large { _ = lstm_start_writeback(fd) }
        }
        return 0
    }

    /// W1a: writes of at least this many bytes start their writeback as they go, every `writebackPart` bytes.
    static let writebackThreshold = 1 << 20
    static let writebackPart = 8 << 20

    /// The name of this process's temporary file for `name`; `owner(ofTemporary:)` reads the PID back.
    static func temporaryName(for name: String) -> String {
        ".\(name).lstm-format-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    /// The PID in the name of a temporary file made by `temporaryName(for:)` for any output name
    /// (`.NAME.lstm-format-PID-RANDOM.tmp`), or nil for any other file.
    static func owner(ofTemporary file: String) -> pid_t? {
        let marker = ".lstm-format-"
        guard file.hasPrefix("."), file.hasSuffix(".tmp"), let m = file.range(of: marker, options: .backwards),
              m.lowerBound > file.index(after: file.startIndex) else { return nil }
        let parts = file[m.upperBound...].dropLast(4).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              UInt32(parts[1]) != nil, let pid = pid_t(parts[0]), pid > 0 else { return nil }
        return pid
    }

    /// Removes the temporary files in `folder`, for any output name, whose writing process no longer runs (W2):
    /// what a run killed by SIGKILL left behind. A live process's file (another write in progress) stays.
    static func removeStale(in folder: URL) {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for file in files {
            guard let pid = owner(ofTemporary: file), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder.appendingPathComponent(file).path) }
        }
    }

    /// The permission bits of an existing destination (nil when it does not exist); throws when it exists and is
    /// not a regular file (W3, W4).
    static func existingMode(_ destination: URL) throws -> mode_t? {
        var st = stat()
        guard stat(destination.path, &st) == 0 else {
            if errno == ENOENT { return nil }
            // A dangling symlink or an unreadable path: refuse rather than replace what we cannot see.
            var link = stat()
            if lstat(destination.path, &link) == 0 { throw IOProblem.cannotWrite("\(String(cString: strerror(errno))) (the path exists and cannot be followed)") }
            throw IOProblem.cannotWrite(String(cString: strerror(errno)))
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what = [S_IFDIR: "a directory", S_IFCHR: "a character device", S_IFBLK: "a block device",
                        S_IFIFO: "a FIFO", S_IFSOCK: "a socket"][kind] ?? "not a regular file"
            throw IOProblem.cannotWrite("the output is \(what), not a regular file; refusing to replace it")
        }
        return st.st_mode & 0o7777
    }

    private static func syncAndSetMode(_ temp: URL, mode: mode_t?) throws {
        let fd = open(temp.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { close(fd) }
        if let mode, fchmod(fd, mode) != 0 { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        guard fsync(fd) == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
    }

    private static func syncFolder(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Whether the folder's file system has less than 1 MiB left for us: the reason a write that failed with
    /// an error that lost errno (libhdf5, ZIPFoundation) failed.
    static func diskIsFull(_ folder: URL) -> Bool {
        var fs = statvfs()
        guard statvfs(folder.path, &fs) == 0 else { return false }
        return UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 1 << 20
    }
}

/// Paths removed when SIGINT, SIGTERM or SIGHUP arrives (W2): temporary outputs of the running process.
public enum TemporaryFiles {
    /// Registers `url`; pass the result to `unregister` once the file is renamed or removed.
    public static func register(_ url: URL) -> Int32 { lstm_cleanup_add(url.path) }
    public static func unregister(_ slot: Int32) { lstm_cleanup_remove(slot) }
}

/// Sequential writes of many small buffers to one descriptor that start the writeback every
/// `AtomicFile.writebackPart` bytes, as `AtomicFile.writeAll` does for one large buffer (W1a).
struct StreamedWrite {
    let descriptor: Int32
    private var unsynced = 0

    init(descriptor: Int32) { self.descriptor = descriptor }

    mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count > 0 else { return }
        if raw.count >= AtomicFile.writebackThreshold {
            try AtomicFile.writeAll(raw, toDescriptor: descriptor)  // starts its own writeback
            return
        }
        try AtomicFile.writeAll(raw, toDescriptor: descriptor)
        unsynced += raw.count
        if unsynced >= AtomicFile.writebackPart {
            _ = lstm_start_writeback(descriptor)
            unsynced = 0
        }
    }
}
