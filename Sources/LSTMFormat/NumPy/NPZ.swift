import Foundation
import ZIPFoundation

extension NumPy {
    /// Entries larger than this (uncompressed) are refused before extraction: the memory budget
    /// (`Spec/reliability.md`, M2).
    static var maxEntrySize: UInt64 { MemoryBudget.bytes }

    /// Reads an `.npz` (numpy `savez` / `savez_compressed`: a zip of `.npy` files). Keys are the entry names
    /// without the `.npy` suffix.
    public static func readNPZ(_ url: URL) throws -> [String: Tensor] {
        do {
            try IOProblem.requireFile(url)
            let archive: ZipArchive
            do { archive = try ZipArchive(url: url) } catch let e as ZipError { throw NumPyError.notAnArchive(e.description) }
            var out: [String: Tensor] = [:]
            var total: UInt64 = 0
            for entry in archive.members where !entry.isDirectory {
                total = total &+ entry.uncompressedSize
                guard entry.uncompressedSize <= maxEntrySize, total <= maxEntrySize else {
                    throw NumPyError.entryTooLarge(name: entry.name, size: entry.uncompressedSize, limit: maxEntrySize)
                }
                let data = try archive.read(entry, limit: maxEntrySize)
                let key = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
                guard out[key] == nil else { throw NumPyError.duplicateEntry(key) }
                do { out[key] = try decodeNPY(data) } catch { throw NumPyArchiveEntryError(entry: entry.name, underlying: error) }
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
                // Our writer and CRC-32 (ZIPFoundation's is a byte loop on Linux); ZIPFoundation only for ZIP64.
                let members = try arrays.map { (name: $0.name + ".npy", bytes: try encodeNPY($0.tensor)) }
                if StoredZipWriter.fits(members.map { ($0.name.utf8.count, $0.bytes.count) }) {
                    return try StoredZipWriter.write(members, to: temp)
                }
                let archive = try Archive(url: temp, accessMode: .create)
                let epoch = Date(timeIntervalSince1970: 315_532_800)
                for (name, bytes) in members {
                    try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count),
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
