import Foundation
import ZIPFoundation

/// Writes a state dict as a torch.save zip that `torch.load(path, weights_only=True)` loads
/// (`Spec/pytorch-mapping.md`, P-W4): `archive/data.pkl`, `archive/data/<k>` (one storage per tensor),
/// `archive/byteorder`, `archive/version`, stored uncompressed with fixed dates, so the bytes are deterministic.
enum TorchArchiveWriter {
    static let record = "archive"

    static func write(_ entries: [(name: String, tensor: Tensor)], metadata: [String: String], to url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let members = members(entries, metadata: metadata)
        // Our writer and CRC-32 (ZIPFoundation's is a byte loop on Linux); ZIPFoundation only for ZIP64.
        if StoredZipWriter.fits(members.map { ($0.name.utf8.count, $0.bytes.count) }) {
            return try StoredZipWriter.write(members, to: url)
        }
        let archive = try Archive(url: url, accessMode: .create)
        for (name, data) in members {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                 modificationDate: Date(timeIntervalSince1970: 315_532_800),  // 1980-01-01
                                 compressionMethod: .none) { position, size in
                data.subdata(in: (data.startIndex + Int(position))..<(data.startIndex + Int(position) + size))
            }
        }
    }

    /// The archive's members in the order they are written: the pickle, byteorder, one storage per tensor, version.
    static func members(_ entries: [(name: String, tensor: Tensor)], metadata: [String: String]) -> [(name: String, bytes: Data)] {
        let pickle = TorchPickleWriter.stateDict(entries.map { ($0.name, $0.tensor.dtype, $0.tensor.shape) }, metadata: metadata)
        var members: [(String, Data)] = [("\(record)/data.pkl", pickle), ("\(record)/byteorder", Data("little".utf8))]
        for (k, e) in entries.enumerated() { members.append(("\(record)/data/\(k)", e.tensor.bytes)) }
        members.append(("\(record)/version", Data("3\n".utf8)))
        return members
    }
}
