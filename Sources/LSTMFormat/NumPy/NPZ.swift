import Foundation
import ZIPFoundation

extension NumPy {
    /// Entries larger than this (uncompressed) are refused before extraction.
    static let maxEntrySize: UInt64 = 1 << 34

    /// Reads an `.npz` (numpy `savez` / `savez_compressed`: a zip of `.npy` files). Keys are the entry names
    /// without the `.npy` suffix.
    public static func readNPZ(_ url: URL) throws -> [String: Tensor] {
        do {
            try IOProblem.requireFile(url)
            let archive: Archive
            do { archive = try Archive(url: url, accessMode: .read) } catch { throw NumPyError.notAnArchive(String(describing: error)) }
            var out: [String: Tensor] = [:]
            for entry in archive where entry.type == .file {
                guard entry.uncompressedSize <= maxEntrySize else { throw NumPyError.entryTooLarge(name: entry.path, size: entry.uncompressedSize) }
                let data = try ZipMember.read(entry, from: archive)
                let key = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
                guard out[key] == nil else { throw NumPyError.duplicateEntry(key) }
                do { out[key] = try decodeNPY(data) } catch { throw NumPyArchiveEntryError(entry: entry.path, underlying: error) }
            }
            return out
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(path: url.relativePath, underlying: error)
        }
    }

    /// Writes arrays as an uncompressed `.npz` (what `numpy.savez` writes), in the given order, atomically.
    /// Entry times are fixed (1980-01-01) so the same arrays give the same bytes.
    public static func writeNPZ(_ arrays: [(name: String, tensor: Tensor)], to url: URL) throws {
        do {
            try AtomicFile.write(to: url) { temp in
                let archive = try Archive(url: temp, accessMode: .create)
                let epoch = Date(timeIntervalSince1970: 315_532_800)
                for (name, tensor) in arrays {
                    let bytes = try encodeNPY(tensor)
                    try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(bytes.count),
                                         modificationDate: epoch, permissions: 0o644) { position, size in
                        bytes.subdata(in: Int(position)..<(Int(position) + size))
                    }
                }
            }
        } catch {
            throw FileError(path: url.relativePath, underlying: error)
        }
    }
}

/// An error inside one `.npz` entry.
public struct NumPyArchiveEntryError: Error, CustomStringConvertible {
    public let entry: String
    public let underlying: any Error
    public var description: String { "entry \(entry): \(underlying)" }
}
