import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part.
///
/// The body writes to a temporary file in the destination's folder (so the final `rename(2)` stays on one file
/// system); on success the temporary file replaces the destination, on any error it is removed and the
/// destination is left untouched.
public enum AtomicFile {
    public static func write(to destination: URL, _ body: (URL) throws -> Void) throws {
        let folder = destination.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw IOProblem.cannotWrite("the folder \(folder.path) does not exist")
        }
        let temp = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try body(temp)
            guard rename(temp.path, destination.path) == 0 else {
                let err = errno
                throw POSIXError(POSIXErrorCode(rawValue: err) ?? .EIO)
            }
        } catch {
            unlink(temp.path)
            // Foundation's file errors print as an NSError dump; give the one-line reason instead.
            if (error as NSError).domain == NSCocoaErrorDomain { throw IOProblem.cannotWrite(IOProblem.reason(error)) }
            throw error
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to destination: URL) throws {
        try write(to: destination) { temp in
            do { try data.write(to: temp) } catch { throw IOProblem.cannotWrite(IOProblem.reason(error)) }
        }
    }
}
