import CHDF5
import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` M3: `inspect` reads no tensor data it does not print. A `.lstm` shows its stored
/// CRC-32s (not verified) and `--verify-checksums` checks them; HDF5-based files show the datasets' dtypes and
/// shapes without reading their data.
@Suite(.serialized) struct InspectWithoutDataTests {
    let demo = FixturePaths.fixture("demo/model.h5").path

    func inFolder(_ body: (URL) throws -> Void) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func tensors(_ text: String) throws -> [[String: Any]] {
        try #require(try json(text)["tensors"] as? [[String: Any]])
    }

    /// M3, L19: a `.lstm` whose last tensor's data is damaged inspects (exit 0) with the stored CRC-32 marked
    /// as not verified; `convert` and `inspect --verify-checksums` refuse it naming the tensor.
    @Test func M3_aDamagedLSTMTensorInspectsWithItsStoredCRCButConvertAndVerifyChecksumsRefuseIt() throws {
        try inFolder { folder in
            let model = folder.appendingPathComponent("m.lstm"), out = folder.appendingPathComponent("out.lstm")
            try #require(try CLI.run(["convert", demo, model.path]).status == 0)
            let intact = try CLI.run(["inspect", model.path, "--json", "--verify-checksums"])
            try #require(intact.status == 0)
            let verified = try #require(try Self.tensors(intact.stdout).last)
            #expect(verified["name"] as? String == "dense.0.c" && verified["crc32_verified"] as? Bool == true)
            // L17: the file ends with the last tensor's data; damage its last byte.
            var bytes = try Data(contentsOf: model)
            bytes[bytes.count - 1] ^= 0xFF
            try bytes.write(to: model)

            let report = try CLI.run(["inspect", model.path, "--json"])
            #expect(report.status == 0, "\(report.stderr)")
            let stored = try #require(try Self.tensors(report.stdout).last)
            #expect(stored["crc32"] as? String == verified["crc32"] as? String, "the CRC-32 stored in the file")
            #expect(stored["crc32_verified"] as? Bool == false)
            #expect(try Self.json(report.stdout)["parameter_count"] as? Int == 1540)
            let text = try CLI.run(["inspect", model.path])
            #expect(text.status == 0 && text.stdout.contains("crc32 (stored, not verified)"), "\(text.stdout)")

            let convert = try CLI.run(["convert", model.path, out.path])
            #expect(convert.status == 2)
            #expect(convert.stderr.hasPrefix("lstm-format: \(model.path): ") && convert.stderr.contains("dense.0.c"), "\(convert.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
            let checked = try CLI.run(["inspect", model.path, "--verify-checksums"])
            #expect(checked.status == 2)
            #expect(checked.stderr.hasPrefix("lstm-format: \(model.path): ") && checked.stderr.contains("dense.0.c"), "\(checked.stderr)")
            #expect(checked.stdout.isEmpty)
            let both = try CLI.run(["inspect", model.path, "--verify-checksums", "--no-verify-checksums"])
            #expect(both.status == 64)
        }
    }

    /// M3: a sparse `.lstm` declaring 2 GiB of float16 tensors (hidden size 16384; the data is all holes, stored
    /// CRCs of 0) inspects with exit 0 and leaves (almost) none of the file's pages in the page cache: only the
    /// preamble, the header and the padding are read (`mincore` after the run).
    @Test func M3_aSparse2GiBLSTMInspectsWithoutReadingItsDataPages() throws {
        try inFolder { folder in
            let h = 16384
            var builder = CompactFileBuilder(entries: [])
            builder.architecture = #"{"dense":[],"layers":[{"cell_activation":"tanh","direction":"forward","gate_activation":"sigmoid","hidden_size":\#(h),"input_size":1}],"return_sequences":true}"#
            var offset = 0
            for kind in ["W", "U", "b"] {
                for gate in ["f", "i", "c", "o"] {
                    let shape = kind == "W" ? [h, 1] : kind == "U" ? [h, h] : [h]
                    let length = 2 * shape.reduce(1, *)
                    builder.entries.append(.init(name: "lstm.0.fwd.\(kind)_\(gate)", dtype: "float16", shape: "[\(shape.map(String.init).joined(separator: ","))]",
                                                 offset: offset, length: length, crc32: 0, data: []))
                    offset = (offset + length + 63) / 64 * 64
                }
            }
            let file = folder.appendingPathComponent("sparse.lstm")
            // The preamble, the header and its padding (L1–L5, L18); everything after is a hole.
            let header = builder.header
            var head = CompactFileBuilder.magic
            for (value, width) in [(UInt64(1), 4), (UInt64(ReferenceCRC32.checksum(header)), 4), (UInt64(header.count), 8)] {
                head += (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
            }
            head += header + [UInt8](repeating: 0, count: builder.dataStart - 24 - header.count)
            try Data(head).write(to: file)
            let size = builder.dataStart + builder.entries.last!.offset + builder.entries.last!.length
            #expect(size > 2 << 30)
            try #require(truncate(file.path, off_t(size)) == 0)

            let r = try CLI.run(["inspect", file.path, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Self.json(r.stdout)["parameter_count"] as? Int == 4 * (h + h * h + h))
            let u = try #require(try Self.tensors(r.stdout).dropFirst(4).first)
            #expect(u["name"] as? String == "lstm.0.fwd.U_f" && u["shape"] as? [Int] == [h, h])
            #expect(u["crc32"] as? String == "00000000" && u["crc32_verified"] as? Bool == false)

            let resident = try Self.residentBytes(file, size: size)
            #expect(resident <= 1 << 20, "\(resident) bytes of the file are in the page cache; the header is \(head.count) bytes")
        }
    }

    /// M3d: a sparse safetensors state dict of one `nn.LSTM` (hidden size 8192, float16, 512 MiB of holes)
    /// inspects with its shapes and leaves (almost) none of its pages in the page cache.
    @Test func M3_aSparseSafetensorsStateDictInspectsWithoutReadingItsDataPages() throws {
        try inFolder { folder in
            let h = 8192
            var entries: [String] = [], offset = 0
            for (key, shape) in [("bias_hh_l0", [4 * h]), ("bias_ih_l0", [4 * h]), ("weight_hh_l0", [4 * h, h]), ("weight_ih_l0", [4 * h, 1])] {
                let length = 2 * shape.reduce(1, *)
                entries.append(#""lstm.\#(key)":{"dtype":"F16","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(offset),\#(offset + length)]}"#)
                offset += length
            }
            let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
            let head = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) } + header
            let file = folder.appendingPathComponent("sparse.safetensors")
            try Data(head).write(to: file)
            let size = head.count + offset
            try #require(truncate(file.path, off_t(size)) == 0)

            let r = try CLI.run(["inspect", file.path, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Self.json(r.stdout)["format"] as? String == "safetensors")
            #expect(try Self.json(r.stdout)["parameter_count"] as? Int == 4 * (h + h * h + h), "canonical b = b_ih + b_hh")
            let u = try #require(try Self.tensors(r.stdout).dropFirst(4).first)
            #expect(u["name"] as? String == "lstm.0.fwd.U_f" && u["shape"] as? [Int] == [h, h] && u["dtype"] as? String == "float16")
            #expect(u["crc32"] is NSNull && u["crc32_verified"] as? Bool == false)
            let resident = try Self.residentBytes(file, size: size)
            #expect(resident <= 1 << 20, "\(resident) bytes of the file are in the page cache")
        }
    }

    /// M3c: a Keras 3 `.weights.h5` whose datasets were never written (h5py allocates no storage: 14 KB on disk,
    /// 256 MiB declared) inspects with its shapes, and the gate rearrangement of its zero-page tensors copies
    /// nothing: the peak RSS stays far below the declared size (read in-process, where GNU time sees it).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LSTMFORMAT_SKIP_PYTHON"] != "1"
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs Python (h5py) and GNU time"))
    func M3_aKerasWeightsFileIsInspectedWithoutCopyingItsTensors() throws {
        try inFolder { folder in
            let file = folder.appendingPathComponent("unwritten.weights.h5")
            let python = ProcessInfo.processInfo.environment["LSTMFORMAT_PYTHON"] ?? "/usr/bin/python3"
            let script = """
                import h5py, sys
                h, n = 4096, 3
                with h5py.File(sys.argv[1], "w") as f:
                    for group, name, shapes in [("layers/lstm/cell/vars", "lstm_cell", [(n, 4 * h), (h, 4 * h), (4 * h,)]),
                                                ("layers/dense/vars", "dense", [(h, 2), (2,)])]:
                        g = f.create_group(group)
                        g.attrs["name"] = name
                        for k, s in enumerate(shapes):
                            g.create_dataset(str(k), shape=s, dtype="float32")
                    f["layers/lstm"].create_group("vars").attrs["name"] = "lstm"
                    f.create_group("vars").attrs["name"] = "sequential"
                """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", script, file.path]
            try p.run()
            p.waitUntilExit()
            try #require(p.terminationStatus == 0)

            let (r, kilobytes) = try CLI.runMeasuringPeakRSS(["inspect", file.path, "--json"], environment: ["LSTMFORMAT_NO_ISOLATION": "1"])
            #expect(r.status == 0, "\(r.stderr)")
            let json = try Self.json(r.stdout)
            #expect(json["parameter_count"] as? Int == 4 * (4096 * 3 + 4096 * 4096 + 4096) + 4096 * 2 + 2)
            #expect(kilobytes < 128 * 1024, "peak RSS \(kilobytes) KB for 256 MiB of declared tensors")
        }
    }

    /// Bytes of the file's pages that are in the page cache (`mincore` over a fresh mapping).
    static func residentBytes(_ url: URL, size: Int) throws -> Int {
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let base = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0))
        try #require(base != MAP_FAILED)
        defer { munmap(base, size) }
        let page = Int(getpagesize())
        var vector = [UInt8](repeating: 0, count: (size + page - 1) / page)
        try #require(mincore(base, size, &vector) == 0)
        return vector.reduce(0) { $0 + Int($1 & 1) } * page
    }

    /// M3: an HDF5-based file whose largest dataset's compressed chunk is destroyed (libhdf5's deflate filter
    /// then fails on any read of it) still inspects, with the shapes, because `inspect` reads no dataset data;
    /// `convert` and `inspect --verify-checksums` fail on it.
    @Test(arguments: [
        ("demo", ["--to", "hdf5"], "m.h5", "hdf5"),
        ("keras", ["--to", "keras-weights"], "m.weights.h5", "keras-weights"),
        ("keras", ["--to", "keras-h5"], "m_legacy.h5", "keras-h5"),
    ])
    func M3_anHDF5FileWithADestroyedDatasetChunkStillInspects(source: String, to: [String], name: String, format: String) throws {
        try inFolder { folder in
            let input = source == "demo" ? demo : FixturePaths.fixture("keras/k3_lstm_last_dense/model.keras").path
            let file = folder.appendingPathComponent(name), out = folder.appendingPathComponent("out.lstm")
            try #require(try CLI.run(["convert", input, file.path, "--compress"] + to).status == 0)
            let intact = try CLI.run(["inspect", file.path, "--json"])
            try #require(intact.status == 0, "\(intact.stderr)")
            try Self.destroyLargestChunk(file)

            let report = try CLI.run(["inspect", file.path, "--json"])
            #expect(report.status == 0, "\(report.stderr)")
            #expect(report.stdout == intact.stdout)
            #expect(try Self.json(report.stdout)["format"] as? String == format)
            let first = try #require(try Self.tensors(report.stdout).first)
            #expect(first["crc32"] is NSNull && first["crc32_verified"] as? Bool == false)
            let convert = try CLI.run(["convert", file.path, out.path])
            #expect(convert.status == 2, "\(convert.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
            #expect(try CLI.run(["inspect", file.path, "--verify-checksums"]).status == 2)
        }
    }

    /// Overwrites the stored (deflated) chunk of the file's largest chunked dataset with 0xFF bytes.
    static func destroyLargestChunk(_ url: URL) throws {
        let file = try HDF5File.open(url)
        let paths = try KerasWeightsH5.datasets(file)
        try file.close()
        var target: (offset: UInt64, size: UInt64)?
        for path in paths {
            if let chunk = try HDF5Library.serialized({ try chunkPlace(url, path) }), chunk.size > target?.size ?? 0 { target = chunk }
        }
        let place = try #require(target, "no chunked dataset in \(url.lastPathComponent)")
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: place.offset)
        handle.write(Data(repeating: 0xFF, count: Int(place.size)))
    }

    /// Where the first chunk of the dataset at `path` is stored (nil for a dataset that is not chunked).
    static func chunkPlace(_ url: URL, _ path: String) throws -> (offset: UInt64, size: UInt64)? {
        let file = H5Fopen(url.path, shim_H5F_ACC_RDONLY(), shim_H5P_DEFAULT())
        try #require(file >= 0)
        defer { H5Fclose(file) }
        let dataset = H5Dopen2(file, path, shim_H5P_DEFAULT())
        try #require(dataset >= 0)
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        var count: hsize_t = 0
        guard H5Dget_num_chunks(dataset, space, &count) >= 0, count > 0 else { return nil }
        var address: haddr_t = 0, size: hsize_t = 0, mask: UInt32 = 0
        var coordinates = [hsize_t](repeating: 0, count: 8)
        try #require(H5Dget_chunk_info(dataset, space, 0, &coordinates, &mask, &address, &size) >= 0)
        return (UInt64(address), UInt64(size))
    }
}
