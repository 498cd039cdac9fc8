import CHDF5
import Foundation

/// Datasets holding tensors (`Spec/hdf5-layout.md`, H5, H6).
extension HDF5File {
    /// Largest tensor read, in bytes: a guard against files that declare huge, unstored datasets.
    static let tensorByteLimit = 8 << 30
    /// Largest chunk written with compression; bigger tensors are chunked along their first dimension.
    static let chunkByteLimit = 1 << 20

    /// The dimensions of the dataset at `path` ([] for a scalar dataset).
    func datasetShape(_ path: String) throws -> [Int] {
        try HDF5Library.serialized {
            let dataset = try openDataset(path)
            return try shape(of: dataset.id, path)
        }
    }

    /// Reads a dataset as a tensor: IEEE float32, float64 or float16 in any byte order (converted to
    /// little-endian), or unsigned 16-bit integers or 2-byte opaque values (Keras 3's bfloat16,
    /// `Spec/keras-mapping.md` K-F7) with a `dtype` = "bfloat16" attribute (H5). Any other type is an error
    /// naming the path and the type. A contiguous, unfiltered dataset stored in the tensor's own byte layout in
    /// a mapped file is returned as a view of the mapping, not a copy (H14).
    func readTensor(_ path: String) throws -> Tensor {
        try checkDeclaredBytes()
        return try HDF5Library.serialized {
            let dataset = try openDataset(path)
            let fileType = try HDF5Library.handle(H5Dget_type(dataset.id), "H5Dget_type", path, close: H5Tclose)
            let dtype = try tensorDType(for: fileType.id, path)
            // Opaque bytes convert to nothing else: read them as they are (little-endian bfloat16, as Keras wrote).
            let memType = H5Tget_class(fileType.id) == H5T_OPAQUE
                ? try HDF5Library.handle(H5Tcopy(fileType.id), "H5Tcopy", path, close: H5Tclose)
                : try HDF5File.fileType(for: dtype, path)
            let shape = try shape(of: dataset.id, path)
            guard let count = Tensor.elementCount(shape) else {
                throw HDF5Error(call: "readTensor", path: path, detail: "shape \(shape) has too many elements")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, byteCount <= HDF5File.tensorByteLimit else {
                throw HDF5Error(call: "readTensor", path: path, detail: "shape \(shape) is larger than \(HDF5File.tensorByteLimit) bytes")
            }
            guard readsTensorData else { return try Tensor.declaredOnly(dtype: dtype, shape: shape) }
            if let view = try mappedView(dataset.id, fileType: fileType.id, memType: memType.id, byteCount: byteCount, alignment: dtype.byteSize) {
                return try Tensor(dtype: dtype, shape: shape, bytes: view)
            }
            var bytes = Data(count: byteCount)
            if byteCount > 0 {
                try bytes.withUnsafeMutableBytes { raw in
                    _ = try HDF5Library.check(H5Dread(dataset.id, memType.id, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), raw.baseAddress),
                                          "H5Dread", path)
                }
            }
            return try Tensor(dtype: dtype, shape: shape, bytes: bytes)
        }
    }

    /// Uncompressed datasets of at least this many bytes are allocated when created, aligned, and written by
    /// `RawDataWriter` in a file on disk (H16).
    static let rawDataThreshold = 1 << 20

    /// Writes `tensor` as a new dataset at `path`, creating missing parent groups. Contiguous, or with
    /// `compress` chunked with the shuffle and deflate(6) filters (H6); no modification time (H7). A bfloat16
    /// tensor is stored as uint16 with a `dtype` = "bfloat16" attribute (H5), or with `bfloat16AsOpaque` as the
    /// 2-byte opaque type Keras 3 writes (K-F7).
    func writeTensor(_ path: String, _ tensor: Tensor, compress: Bool, bfloat16AsOpaque: Bool = false) throws {
        try writeTensor(path, rows: TensorRows(tensor), compress: compress, bfloat16AsOpaque: bfloat16AsOpaque)
    }

    /// `writeTensor` of a tensor made by rows. Uncompressed, `rawDataThreshold` bytes or more: contiguous,
    /// allocated when the dataset is created, fill value never written (H16); in a file on disk its bytes are
    /// then made and written a piece at a time by `rawWriter` at the dataset's address, never whole in memory.
    /// Otherwise (and in memory) the tensor is made whole and written with `H5Dwrite`.
    func writeTensor(_ path: String, rows tensor: TensorRows, compress: Bool, bfloat16AsOpaque: Bool = false) throws {
        try HDF5Library.serialized {
            let parent = HDF5File.parent(path)
            if !isGroup(parent) { try createGroup(parent) }
            let file = try id(path)
            let type = tensor.dtype == .bfloat16 && bfloat16AsOpaque
                ? try HDF5Library.handle(H5Tcreate(H5T_OPAQUE, 2), "H5Tcreate", path, close: H5Tclose)
                : try HDF5File.fileType(for: tensor.dtype, path)
            let space: HDF5Handle
            if tensor.shape.isEmpty {
                space = try HDF5Library.handle(H5Screate(H5S_SCALAR), "H5Screate", path, close: H5Sclose)
            } else {
                var dims = tensor.shape.map { hsize_t($0) }
                space = try HDF5Library.handle(H5Screate_simple(Int32(dims.count), &dims, nil), "H5Screate_simple", path, close: H5Sclose)
            }
            let dcpl = try HDF5Library.handle(H5Pcreate(shim_H5P_DATASET_CREATE()), "H5Pcreate", path, close: H5Pclose)
            try HDF5Library.check(H5Pset_obj_track_times(dcpl.id, false), "H5Pset_obj_track_times", path)
            let raw = !compress && tensor.byteCount >= HDF5File.rawDataThreshold
            if compress, !tensor.shape.isEmpty, !tensor.shape.contains(0) {
                var chunk = HDF5File.chunkShape(tensor.shape, elementSize: tensor.dtype.byteSize).map { hsize_t($0) }
                try HDF5Library.check(H5Pset_chunk(dcpl.id, Int32(chunk.count), &chunk), "H5Pset_chunk", path)
                try HDF5Library.check(H5Pset_shuffle(dcpl.id), "H5Pset_shuffle", path)
                try HDF5Library.check(H5Pset_deflate(dcpl.id, 6), "H5Pset_deflate", path)
            } else if raw {
                try HDF5Library.check(H5Pset_layout(dcpl.id, H5D_CONTIGUOUS), "H5Pset_layout", path)
                try HDF5Library.check(H5Pset_alloc_time(dcpl.id, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", path)
                try HDF5Library.check(H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_NEVER), "H5Pset_fill_time", path)
            }
            let dataset = try HDF5Library.handle(
                H5Dcreate2(file, path, type.id, space.id, shim_H5P_DEFAULT(), dcpl.id, shim_H5P_DEFAULT()), "H5Dcreate2", path, close: H5Dclose)
            if raw, let rawWriter {
                let address = H5Dget_offset(dataset.id)
                guard address != shim_HADDR_UNDEF(), let offset = Int(exactly: address),
                      H5Dget_storage_size(dataset.id) == hsize_t(tensor.byteCount) else {
                    throw HDF5Error(call: "H5Dget_offset", path: path, detail: "the dataset has no contiguous storage of \(tensor.byteCount) bytes")
                }
                try rawWriter.write(at: offset, tensor)
            } else if tensor.byteCount > 0 {
                // The tensor's bytes are little-endian, exactly the file type: libhdf5 copies them unchanged.
                try tensor.make().bytes.withUnsafeBytes { raw in
                    _ = try HDF5Library.check(H5Dwrite(dataset.id, type.id, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), raw.baseAddress),
                                          "H5Dwrite", path)
                }
            }
            if tensor.dtype == .bfloat16 {
                try setStringAttribute(path, "dtype", "bfloat16")
            }
        }
    }

    /// The whole tensor as one chunk when it fits `chunkByteLimit`, else slabs of whole rows along dimension 0.
    static func chunkShape(_ shape: [Int], elementSize: Int) -> [Int] {
        let rowBytes = shape.dropFirst().reduce(elementSize) { $0.multipliedReportingOverflow(by: $1).partialValue }
        let rows = max(1, min(shape[0], chunkByteLimit / max(1, rowBytes)))
        return [rows] + shape.dropFirst()
    }

    // MARK: helpers (caller holds the lock)

    /// The dataset's bytes as a view of the mapped file (H14), or nil when it must be read with `H5Dread`: the
    /// file is not mapped, the dataset is not contiguous, has filters or external storage, is not allocated, is
    /// stored in another type than `memType` (byte order, precision), is not `alignment`-aligned or does not lie
    /// inside the file with exactly `byteCount` bytes.
    private func mappedView(_ dataset: hid_t, fileType: hid_t, memType: hid_t, byteCount: Int, alignment: Int) throws -> Data? {
        guard let mapped, byteCount > 0, H5Tequal(fileType, memType) > 0 else { return nil }
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { _ = H5Eclear2(shim_H5E_DEFAULT()); return nil }
        defer { H5Pclose(plist) }
        guard H5Pget_layout(plist) == H5D_CONTIGUOUS, H5Pget_nfilters(plist) == 0, H5Pget_external_count(plist) == 0,
              H5Dget_storage_size(dataset) == hsize_t(byteCount) else { return nil }
        let address = H5Dget_offset(dataset)
        guard address != shim_HADDR_UNDEF(), let offset = Int(exactly: address), offset % alignment == 0,
              offset <= mapped.range.count - byteCount else { _ = H5Eclear2(shim_H5E_DEFAULT()); return nil }
        let start = mapped.range.lowerBound + offset
        return mapped.file.view(start..<(start + byteCount))
    }

    private func openDataset(_ path: String) throws -> HDF5Handle {
        try HDF5Library.handle(H5Dopen2(try id(path), path, shim_H5P_DEFAULT()), "H5Dopen2", path, close: H5Dclose)
    }

    private func shape(of dataset: hid_t, _ path: String) throws -> [Int] {
        let space = try HDF5Library.handle(H5Dget_space(dataset), "H5Dget_space", path, close: H5Sclose)
        switch H5Sget_simple_extent_type(space.id) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = try HDF5Library.check(H5Sget_simple_extent_ndims(space.id), "H5Sget_simple_extent_ndims", path)
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            try HDF5Library.check(H5Sget_simple_extent_dims(space.id, &dims, nil), "H5Sget_simple_extent_dims", path)
            return try dims.map { d in
                guard let n = Int(exactly: d) else { throw HDF5Error(call: "datasetShape", path: path, detail: "dimension \(d) is too large") }
                return n
            }
        default:
            throw HDF5Error(call: "datasetShape", path: path, detail: "the dataset has no data (null dataspace)")
        }
    }

    /// The tensor dtype a dataset of `fileType` reads into (its memory type is `fileType(for:)` of it).
    private func tensorDType(for fileType: hid_t, _ path: String) throws -> DType {
        let size = H5Tget_size(fileType)
        switch H5Tget_class(fileType) {
        case H5T_FLOAT where size == 4:
            return .float32
        case H5T_FLOAT where size == 8:
            return .float64
        case H5T_FLOAT where size == 2 && HDF5File.isIEEEHalf(fileType):
            return .float16
        case H5T_INTEGER where size == 2 && H5Tget_sign(fileType) == H5T_SGN_NONE, H5T_OPAQUE where size == 2:
            // Any other or unreadable `dtype` attribute leaves plain uint16, which is not a tensor dtype.
            guard (try? stringAttribute(path, "dtype")) == "bfloat16" else { break }
            return .bfloat16
        default:
            break
        }
        throw HDF5Error(call: "readTensor", path: path,
                        detail: "unsupported dataset type \(HDF5File.describe(fileType)) (expected IEEE float16/32/64, or uint16 with dtype = \"bfloat16\")")
    }

    /// The little-endian HDF5 type of a dtype (H5): the file type written and the memory type read into.
    static func fileType(for dtype: DType, _ path: String) throws -> HDF5Handle {
        let id: hid_t
        switch dtype {
        case .float32: id = H5Tcopy(shim_H5T_IEEE_F32LE())
        case .float64: id = H5Tcopy(shim_H5T_IEEE_F64LE())
        case .float16: id = shim_H5T_IEEE_F16LE_create()
        case .bfloat16: id = H5Tcopy(shim_H5T_STD_U16LE())
        }
        // rawValue, not "\(dtype)": interpolating the enum itself goes through reflection, whose first protocol
        // lookups cost more than the rest of a tiny file's read (Spec/reliability.md P3).
        return try HDF5Library.handle(id, "create \(dtype.rawValue) type", path, close: H5Tclose)
    }

    /// Whether a 2-byte float type has the IEEE binary16 layout (sign 15, exponent 10–14 bias 15, mantissa 0–9).
    static func isIEEEHalf(_ type: hid_t) -> Bool {
        var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
        guard H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 else { return false }
        return (spos, epos, esize, mpos, msize) == (15, 10, 5, 0, 10) && H5Tget_ebias(type) == 15
    }

    /// A short description of an HDF5 datatype for error messages ("32-bit signed integer").
    static func describe(_ type: hid_t) -> String {
        let bits = H5Tget_size(type) * 8
        switch H5Tget_class(type) {
        case H5T_INTEGER: return "\(bits)-bit \(H5Tget_sign(type) == H5T_SGN_NONE ? "unsigned" : "signed") integer"
        case H5T_FLOAT: return "\(bits)-bit float"
        case H5T_STRING: return H5Tis_variable_str(type) > 0 ? "variable-length string" : "\(bits / 8)-byte string"
        case H5T_BITFIELD: return "\(bits)-bit bitfield"
        case H5T_OPAQUE: return "opaque"
        case H5T_COMPOUND: return "compound"
        case H5T_REFERENCE: return "reference"
        case H5T_ENUM: return "enum"
        case H5T_VLEN: return "variable-length sequence"
        case H5T_ARRAY: return "array"
        default: return "unknown type"
        }
    }
}
