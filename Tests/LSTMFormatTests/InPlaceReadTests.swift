import Foundation
import Testing
@testable import LSTMFormat

/// Reading HDF5-based inputs in place (`Spec/hdf5-layout.md`, H14; `Spec/reliability.md`, M4) and publishing the
/// child reader's hand-off as the output (P2).
@Suite(.serialized, .timeLimit(.minutes(5))) struct InPlaceReadTests {
    static func lies(_ bytes: Data, in mapping: MappedFile) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let p = raw.baseAddress, let base = mapping.base else { return false }
            return p >= base && p + raw.count <= base + mapping.count
        }
    }

    /// H14: the weights of a Keras-written `.keras` (a stored `model.weights.h5`) are views of the archive's
    /// mapping, byte for byte what `H5Dread` gives from a copy of the image.
    @Test func H14_aStoredKerasWeightsFileIsReadInPlace() throws {
        let archive = try ZipArchive(url: FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras"))
        let member = try #require(archive["model.weights.h5"])
        let mapping = try #require(archive.mapping)
        let range = try #require(try archive.storedRange(member, limit: 1 << 30))
        let inPlace = try HDF5File.open(mapping: mapping, range: range, label: "in place")
        let copied = try HDF5File.open(image: archive.read(member, limit: 1 << 30), label: "copy")
        let paths = try KerasWeightsH5.datasets(inPlace)
        #expect(paths.count == 5)
        for path in paths {
            let view = try inPlace.readTensor(path), read = try copied.readTensor(path)
            #expect(view == read, "\(path)")
            // Foundation keeps Data of up to 14 bytes inline (a copy): a 2-unit bias is not a view.
            #expect(Self.lies(view.bytes, in: mapping) == (view.bytes.count > 14), "\(path): \(view.bytes.count) bytes")
        }
    }

    /// H14: the same for an HDF5 file on disk (Keras 2's legacy `.h5`): views of the file's mapping with the bytes
    /// `H5Dread` gives; big-endian datasets (h5py fixture) are read and converted, not viewed.
    @Test func H14_anHDF5FileOnDiskIsReadInPlaceExceptWhereBytesDiffer() throws {
        let url = FixturePaths.fixture("keras/k2_lstm_last_dense/model.h5")
        let file = try HDF5File.open(url)
        let copied = try HDF5File.open(image: Data(contentsOf: url), label: "copy")
        let mapping = try #require(file.mapped?.file)
        let paths = try KerasWeightsH5.datasets(file)
        #expect(paths.count == 5)
        for path in paths {
            let view = try file.readTensor(path)
            #expect(view == (try copied.readTensor(path)), "\(path)")
            #expect(Self.lies(view.bytes, in: mapping) == (view.bytes.count > 14), "\(path): \(view.bytes.count) bytes")
        }
        let h5py = try HDF5File.open(FixturePaths.fixture("hdf5/h5py-layer.h5"))
        let be = try h5py.readTensor("/f64be")
        #expect(be.float64Values() == [0.25, -1.5, 1e300])
        #expect(!Self.lies(be.bytes, in: try #require(h5py.mapped?.file)))
    }

    /// M4: dropping a view's pages leaves its bytes as they were (they fault back in from the page cache), and
    /// dropping memory that is not a mapping does nothing.
    @Test func M4_droppingResidentPagesKeepsTheBytes() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("pages.bin")
        let bytes = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        try bytes.write(to: url)
        let mapping = try MappedFile(url: url)
        let view = mapping.view(1000..<(3 << 20))
        // Compared as Bools: a failing #expect on megabytes of Data would diff them for minutes.
        let before = view == bytes[1000...]
        #expect(before)
        MappedFile.dropResidentPages(of: view)
        mapping.dropResidentPages(0..<mapping.count)
        let after = view == bytes[1000...]
        #expect(after)
        var anonymous = Data(bytes)
        MappedFile.dropResidentPages(of: anonymous)
        anonymous[5] ^= 0  // still writable, still the same
        let untouched = anonymous == bytes
        #expect(untouched)
    }
}
