import CHDF5
import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/hdf5-layout.md` H16: large uncompressed datasets are allocated early and aligned, and in a file on
/// disk their bytes are made a piece at a time and written by `RawDataWriter` (O_DIRECT where it can) at the
/// addresses libhdf5 allocated; the file is the one `H5Dwrite` gives.
@Suite struct RawDataWriteTests {
    /// An LSTM whose kernel [1100, 1028] (4.5 MB: two pieces and a tail, rows of 4112 bytes, not a multiple
    /// of 4096) and recurrent kernel [257, 1028] (just over 1 MiB) take the raw path; the bias and the dense
    /// head do not.
    static func model() -> LSTMModel {
        let architecture = ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 1100, hiddenSize: 257)], returnSequences: false,
                                             dense: [DenseLayerSpec(inputSize: 257, outputSize: 5, activation: .linear)])
        return RandomModels.make(architecture: architecture, seed: 1616)
    }

    static func fill(_ model: LSTMModel) throws -> (HDF5File) throws -> Void {
        let plan = try KerasConfigWriter.plan(model, target: .keras3)
        return { try KerasWeightsH5.write($0, plan: plan, weights: KerasWeightMapping.kerasWeightArrays(model), compress: false) }
    }

    /// The file written on disk (raw writes) is byte for byte the in-memory file libhdf5 writes with `H5Dwrite`,
    /// the raw regions are the two large kernels with the CRC-32 of their bytes in the file, and it reads back
    /// as the model.
    @Test func H16_fileOnDiskIsTheInMemoryFile() throws {
        let model = Self.model()
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("m.weights.h5")
        let regions = try HDF5File.create(url, Self.fill(model))
        let image = try HDF5File.createInMemory(label: "memory", Self.fill(model))
        let disk = try Data(contentsOf: url)
        #expect(disk == Data(image.bytes))
        #expect(regions.map(\.count) == [1100 * 1028 * 4, 257 * 1028 * 4])
        for r in regions {
            #expect(r.crc == CRC32.checksum(disk[r.offset..<(r.offset + r.count)]), "region at \(r.offset)")
        }
        #expect(try FormatRegistry.read(url, options: ReadOptions(architecture: model.architecture)).model.tensors == model.tensors)
    }

    /// Datasets of 1 MiB or more are contiguous, allocated early, fill value never written, at addresses that
    /// are multiples of 4096, in the `.weights.h5` and inside the `.keras` archive (whose member starts on a
    /// multiple of 4096); smaller ones keep libhdf5's defaults.
    @Test func H16_largeDatasetsAreAlignedAndEarly() throws {
        let model = Self.model()
        let dir = try FixturePaths.temporaryFolder()
        let weights = dir.appendingPathComponent("m.weights.h5"), archive = dir.appendingPathComponent("m.keras")
        try HDF5File.create(weights, Self.fill(model))
        try KerasArchive.write(model, to: archive, options: WriteOptions())
        let start = try #require(try ZipArchive(url: archive).storedRange(ZipArchive(url: archive)[KerasArchive.weightsEntry]!, limit: 1 << 30)).lowerBound
        #expect(start % 4096 == 0)
        let file = try HDF5File.open(weights)
        defer { try? file.close() }
        var large = 0
        for path in try KerasWeightsH5.datasets(file) {
            let (offset, early, bytes) = try Self.storage(file, path)
            if bytes >= 1 << 20 {
                large += 1
                #expect(offset % 4096 == 0 && (start + offset) % 4096 == 0 && early, "\(path) at \(offset), early \(early)")
            } else {
                #expect(!early, "\(path)")
            }
        }
        #expect(large == 2)
    }

    /// Pieces land where they belong whatever the alignment: at an unaligned offset, rows of an odd size, a
    /// row larger than a piece; with and without O_DIRECT. Bytes around the region are left alone.
    @Test(arguments: [true, false]) func H16_piecesLandWhereTheyBelong(direct: Bool) throws {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("raw.bin")
        let size = 14 << 20
        let before = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 >> 3) })
        try before.write(to: url)
        var values = [Float](repeating: 0, count: 1031 * 1029)
        for i in values.indices { values[i] = Float(i % 65_521) - 0.5 }
        let odd = Tensor(shape: [1031, 1029], float32: values)
        let wide = Tensor(shape: [1, 1_500_000], float32: (0..<1_500_000).map { Float($0) })
        let writer = try RawDataWriter(path: url.path, allowDirect: direct)
        try writer.write(at: 1000, TensorRows.transposed(odd))
        try writer.write(at: 8 << 20, TensorRows(wide))
        try writer.finish()
        let after = try Data(contentsOf: url)
        let transposed = odd.transposed2D().bytes
        #expect(after[1000..<(1000 + transposed.count)] == transposed)
        #expect(after[(8 << 20)..<((8 << 20) + wide.bytes.count)] == wide.bytes)
        #expect(after[0..<1000] == before[0..<1000])
        #expect(after[(1000 + transposed.count)..<(8 << 20)] == before[(1000 + transposed.count)..<(8 << 20)])
        #expect(after[((8 << 20) + wide.bytes.count)...] == before[((8 << 20) + wide.bytes.count)...])
        #expect(writer.regions == [RawDataWriter.Region(offset: 1000, count: transposed.count, crc: CRC32.checksum(transposed)),
                                   RawDataWriter.Region(offset: 8 << 20, count: wide.bytes.count, crc: CRC32.checksum(wide.bytes))])
        if !direct { #expect(!writer.wroteDirectly) }
    }

    /// The member's CRC-32 made from raw regions and the bytes between them is the CRC-32 of the whole range;
    /// a region outside the range is refused.
    @Test func H16_checksumCombinesKnownRegions() throws {
        let url = try FixturePaths.temporaryFolder().appendingPathComponent("c.bin")
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try bytes.write(to: url)
        let fd = open(url.path, O_RDONLY)
        defer { close(fd) }
        let regions = [RawDataWriter.Region(offset: 5000, count: 70_000, crc: CRC32.checksum(bytes[5000..<75_000])),
                       RawDataWriter.Region(offset: 100_000, count: 199_000, crc: CRC32.checksum(bytes[100_000..<299_000]))]
        #expect(try StoredZipWriter.checksum(fd, from: 1000, count: 299_000, known: regions) == CRC32.checksum(bytes[1000..<300_000]))
        #expect(throws: IOProblem.self) {
            try StoredZipWriter.checksum(fd, from: 6000, count: 100_000, known: regions)
        }
    }

    /// Real tools on a Keras-made model with datasets over 1 MiB, converted `.keras` → `.lstm` → `.keras` and
    /// legacy `.h5`: zipfile's CRC check passes, Keras 3 loads both files with exactly Keras's own weights,
    /// and h5py reads the archive's member in place with the same arrays.
    @Test(.enabled(if: TestPython.enabled, "LSTMFORMAT_SKIP_PYTHON=1"))
    func H16_realToolsReadLargeWrittenFilesExactly() throws {
        let dir = try FixturePaths.temporaryFolder()
        let script = """
            import io, json, os, subprocess, sys, zipfile
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"; os.environ["CUDA_VISIBLE_DEVICES"] = ""
            import numpy as np, h5py, keras
            folder, binary = sys.argv[1], sys.argv[2]
            p = lambda name: os.path.join(folder, name)
            keras.utils.set_random_seed(16)
            model = keras.Sequential([keras.Input((3, 1100)), keras.layers.LSTM(257), keras.layers.Dense(5)])
            model.save(p("ref.keras"))
            for args in (["ref.keras", "a.lstm"], ["a.lstm", "b.keras"], ["a.lstm", "c.h5", "--to", "keras-h5"]):
                subprocess.run([binary, "convert", p(args[0]), p(args[1])] + args[2:], check=True, stdout=subprocess.DEVNULL)
            want = model.get_weights()
            def same(got):
                return len(got) == len(want) and all(g.dtype == w.dtype and g.shape == w.shape and np.array_equal(g, w) for g, w in zip(got, want))
            codes = [0 if zipfile.ZipFile(p("b.keras")).testzip() is None else 1]
            codes.append(0 if same(keras.saving.load_model(p("b.keras"), compile=False).get_weights()) else 1)
            codes.append(0 if same(keras.saving.load_model(p("c.h5"), compile=False).get_weights()) else 1)
            with zipfile.ZipFile(p("b.keras")) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                arrays = [f["layers/lstm/cell/vars/%d" % i][()] for i in range(3)] + [f["layers/dense/vars/%d" % i][()] for i in range(2)]
            codes.append(0 if same(arrays) else 1)
            print("CODES " + json.dumps(codes))
            """
        let r = try TestPython.runCodes(["-c", script, dir.path, CLI.binary.path], label: "keras")
        #expect(r.codes == [0, 0, 0, 0], "\(r.output)")
    }

    /// The dataset's file offset, whether it was allocated early, and its byte size (libhdf5's own answers).
    static func storage(_ file: HDF5File, _ path: String) throws -> (offset: Int, early: Bool, bytes: Int) {
        try HDF5Library.serialized {
            let dataset = H5Dopen2(try file.id(path), path, shim_H5P_DEFAULT())
            #expect(dataset >= 0)
            defer { H5Dclose(dataset) }
            let dcpl = H5Dget_create_plist(dataset)
            defer { H5Pclose(dcpl) }
            var alloc = H5D_ALLOC_TIME_DEFAULT
            H5Pget_alloc_time(dcpl, &alloc)
            return (Int(H5Dget_offset(dataset)), alloc == H5D_ALLOC_TIME_EARLY, Int(H5Dget_storage_size(dataset)))
        }
    }
}
