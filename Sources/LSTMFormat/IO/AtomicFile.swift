import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a part.
///
/// The body writes to a temporary file in the destination's folder (so the final `rename(2)` stays on one file
/// system); on success the temporary file replaces the destination, on any error it is removed and the
/// destination is left untouched.
public enum AtomicFile {
    public static func write(to destination: URL, _ body: (URL) throws -> Void) throws {
        let folder = destination.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try body(temp)
            guard rename(temp.path, destination.path) == 0 else {
                let err = errno
                throw POSIXError(POSIXErrorCode(rawValue: err) ?? .EIO)
            }
        } catch {
            unlink(temp.path)
            throw error
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to destination: URL) throws {
        try write(to: destination) { try data.write(to: $0) }
    }
}
