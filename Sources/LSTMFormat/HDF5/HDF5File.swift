import CHDF5
import Foundation

/// An open HDF5 file: the only place LSTMFormat talks to libhdf5 (with its extensions for attributes and
/// datasets). Paths are absolute HDF5 paths such as `/lstm/0/fwd/W_f`. Every method holds the global libhdf5
/// lock while it runs; the file closes on `close()` or, at the latest, when the object is released.
final class HDF5File {
    private var fileID: hid_t
    private var isOpen: Bool
    /// Whether the datasets' declared bytes were checked against the memory budget (`checkDeclaredBytes`).
    var declaredBytesChecked = false
    /// When false, `readTensor` checks a dataset's dtype and shape but reads none of its data: the tensor is a
    /// read-only mapping of zero pages (`ReadOptions.declaredTensorsOnly`, `Spec/reliability.md` M3).
    var readsTensorData = true
    /// The file path (or a label for an in-memory image), used in error messages.
    let location: String
    /// The image libhdf5's core driver reads in place; released after the file is closed.
    private var image: ImageBuffer?
    /// The mapped bytes of the file (a mapping and the range holding the file), for dataset views (H14).
    var mapped: (file: MappedFile, range: Range<Int>)?
    /// A file created on disk: writes its large datasets' bytes itself (H16); finished by `close()`.
    var rawWriter: RawDataWriter?

    init(fileID: hid_t, location: String) {
        self.fileID = fileID
        self.isOpen = true
        self.location = location
    }

    deinit { try? close() }

    /// A file image for the core driver, kept alive as long as the file is open.
    private final class ImageBuffer {
        let udata: UnsafeMutablePointer<shim_image_udata>
        private let owner: AnyObject?

        /// Bytes of a mapping, used in place.
        init(mapping: MappedFile, range: Range<Int>) {
            precondition(range.lowerBound >= 0 && range.upperBound <= mapping.count)
            owner = mapping
            udata = .allocate(capacity: 1)
            let base = mapping.base.map { UnsafeMutableRawPointer(mutating: $0 + range.lowerBound) }
            udata.initialize(to: shim_image_udata(image: base, size: range.count))
        }

        /// A copy of `data` in memory this object owns.
        init(copying data: Data) {
            owner = nil
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, data.count), alignment: 64)
            data.copyBytes(to: buffer.assumingMemoryBound(to: UInt8.self), count: data.count)
            udata = .allocate(capacity: 1)
            udata.initialize(to: shim_image_udata(image: buffer, size: data.count))
        }

        deinit {
            if owner == nil { udata.pointee.image?.deallocate() }
            udata.deallocate()
        }
    }

    /// Opens an existing file read-only. The file is also memory-mapped so that contiguous datasets read as
    /// views of it (H14).
    static func open(_ url: URL) throws -> HDF5File {
        let file = try HDF5Library.serialized {
            let fapl = try accessProperties(url.path)
            let id = try HDF5Library.check(H5Fopen(url.path, shim_H5F_ACC_RDONLY(), fapl.id), "H5Fopen", url.path)
            return HDF5File(fileID: id, location: url.path)
        }
        if let mapping = try? MappedFile(url: url), file.hasNoUserBlock() { file.mapped = (mapping, 0..<mapping.count) }
        return file
    }

    /// Opens bytes `range` of `mapping` as an HDF5 file image, read-only and in place: libhdf5's core driver
    /// reads the mapping itself, no copy is made (H14), and contiguous datasets read as views of it.
    /// `label` names the image in error messages (e.g. "model.keras/model.weights.h5").
    static func open(mapping: MappedFile, range: Range<Int>, label: String) throws -> HDF5File {
        let image = ImageBuffer(mapping: mapping, range: range)
        let file = try open(image: image, label: label)
        if file.hasNoUserBlock() { file.mapped = (mapping, range) }
        return file
    }

    /// Opens an HDF5 file image held in memory, read-only (libhdf5's core driver; nothing touches the disk).
    /// The image is copied once. `label` names the image in error messages.
    static func open(image: Data, label: String) throws -> HDF5File {
        try open(image: ImageBuffer(copying: image), label: label)
    }

    private static func open(image: ImageBuffer, label: String) throws -> HDF5File {
        try HDF5Library.serialized {
            let fapl = try accessProperties(label)
            try HDF5Library.check(H5Pset_fapl_core(fapl.id, 64 * 1024, false), "H5Pset_fapl_core", label)
            try HDF5Library.check(shim_set_file_image_in_place(fapl.id, image.udata), "H5Pset_file_image", label)
            // The core driver identifies open files by name: make each image's name unique.
            let name = "lstmformat-image-\(UUID().uuidString).h5"
            let id = try HDF5Library.check(H5Fopen(name, shim_H5F_ACC_RDONLY(), fapl.id), "H5Fopen", label)
            let file = HDF5File(fileID: id, location: label)
            file.image = image
            return file
        }
    }

    /// Whether the file has no user block (the base address is 0), so dataset addresses are file offsets.
    private func hasNoUserBlock() -> Bool {
        HDF5Library.serialized {
            guard isOpen else { return false }
            let plist = H5Fget_create_plist(fileID)
            guard plist >= 0 else { _ = H5Eclear2(shim_H5E_DEFAULT()); return false }
            defer { H5Pclose(plist) }
            var size: hsize_t = 1
            return H5Pget_userblock(plist, &size) >= 0 && size == 0
        }
    }

    /// Creates (or truncates) a file for writing. Objects created through this file store no modification
    /// times (H7), so the same content gives the same bytes. `userBlock` (0, or a power of two from 4096: H16) bytes
    /// at the start are left to the caller (H15).
    static func create(_ url: URL, userBlock: Int = 0) throws -> HDF5File {
        let file = try HDF5Library.serialized {
            let fcpl = try creationProperties(url.path)
            if userBlock > 0 { try HDF5Library.check(H5Pset_userblock(fcpl.id, hsize_t(userBlock)), "H5Pset_userblock", url.path) }
            let fapl = try writeAccessProperties(url.path)
            let id = try HDF5Library.check(H5Fcreate(url.path, shim_H5F_ACC_TRUNC(), fcpl.id, fapl.id), "H5Fcreate", url.path)
            return HDF5File(fileID: id, location: url.path)
        }
        do {
            file.rawWriter = try RawDataWriter(path: url.path)
        } catch {
            try? file.close()
            throw error
        }
        return file
    }

    /// File creation properties: no modification times (H7).
    static func creationProperties(_ path: String) throws -> HDF5Handle {
        let fcpl = try HDF5Library.handle(H5Pcreate(shim_H5P_FILE_CREATE()), "H5Pcreate", path, close: H5Pclose)
        try HDF5Library.check(H5Pset_obj_track_times(fcpl.id, false), "H5Pset_obj_track_times", path)
        return fcpl
    }

    /// Creates `url`, lets `body` fill it and closes it on every path; a close error is thrown only when
    /// `body` succeeded (the body's error is the one the user needs). Returns the regions of the file whose
    /// bytes were written outside libhdf5, with their CRC-32s (H16, K-W9).
    @discardableResult
    static func create(_ url: URL, userBlock: Int = 0, _ body: (HDF5File) throws -> Void) throws -> [RawDataWriter.Region] {
        let file = try create(url, userBlock: userBlock)
        do {
            try body(file)
            let regions = file.rawWriter?.regions ?? []
            try file.close()
            return regions
        } catch {
            try? file.close()
            throw error
        }
    }

    /// Access properties of a file being written: `accessProperties`, and datasets of `rawDataThreshold` bytes
    /// or more at addresses that are multiples of `RawDataWriter.alignment` (H16).
    static func writeAccessProperties(_ path: String) throws -> HDF5Handle {
        let fapl = try accessProperties(path)
        try HDF5Library.check(H5Pset_alignment(fapl.id, hsize_t(rawDataThreshold), hsize_t(RawDataWriter.alignment)), "H5Pset_alignment", path)
        return fapl
    }

    /// File access properties: closing the file closes every object still open in it.
    static func accessProperties(_ path: String) throws -> HDF5Handle {
        let fapl = try HDF5Library.handle(H5Pcreate(shim_H5P_FILE_ACCESS()), "H5Pcreate", path, close: H5Pclose)
        try HDF5Library.check(H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG), "H5Pset_fclose_degree", path)
        // No flock(2) locks: they exist for SWMR readers, which we never are; writes go to a temporary file that
        // is renamed into place, so no reader sees a partial file. Locks only add spurious "unable to lock the
        // file" failures (NFS, or two opens of one inode in a process).
        try HDF5Library.check(H5Pset_file_locking(fapl.id, false, true), "H5Pset_file_locking", path)
        return fapl
    }

    /// Finishes the raw data writes (H16), flushes and closes the file. Calling it again does nothing.
    func close() throws {
        try HDF5Library.serialized {
            guard isOpen else { return }
            isOpen = false
            var rawError: Error?
            do { try rawWriter?.finish() } catch { rawError = error }
            rawWriter = nil
            try HDF5Library.check(H5Fclose(fileID), "H5Fclose", location)
            if let rawError { throw rawError }
        }
    }

    /// The file id, or an error once the file is closed. Caller holds the lock.
    func id(_ path: String) throws -> hid_t {
        guard isOpen else { throw HDF5Error(call: "access", path: path, detail: "the file \(location) is closed") }
        return fileID
    }

    // MARK: navigation

    /// Whether an object exists at `path` (every link along the way resolves). Never throws.
    func exists(_ path: String) -> Bool {
        HDF5Library.serialized { objectType(path) != nil }
    }

    func isGroup(_ path: String) -> Bool {
        HDF5Library.serialized { objectType(path) == H5I_GROUP }
    }

    func isDataset(_ path: String) -> Bool {
        HDF5Library.serialized { objectType(path) == H5I_DATASET }
    }

    /// The kind of object at `path`, or nil if there is none. Caller holds the lock.
    private func objectType(_ path: String) -> H5I_type_t? {
        guard isOpen else { return nil }
        defer { _ = H5Eclear2(shim_H5E_DEFAULT()) }
        var prefix = ""
        for component in HDF5File.components(path) {
            prefix += "/" + component
            guard H5Lexists(fileID, prefix, shim_H5P_DEFAULT()) > 0 else { return nil }
        }
        let object = H5Oopen(fileID, prefix.isEmpty ? "/" : prefix, shim_H5P_DEFAULT())
        guard object >= 0 else { return nil }
        defer { _ = H5Oclose(object) }
        let type = H5Iget_type(object)
        return type == H5I_BADID ? nil : type
    }

    /// Link names in the group at `groupPath`, in name order (as h5py iterates them).
    func childNames(_ groupPath: String) throws -> [String] {
        try HDF5Library.serialized {
            let group = try HDF5Library.handle(H5Gopen2(try id(groupPath), groupPath, shim_H5P_DEFAULT()), "H5Gopen2", groupPath, close: H5Gclose)
            var info = H5G_info_t()
            try HDF5Library.check(H5Gget_info(group.id, &info), "H5Gget_info", groupPath)
            var names: [String] = []
            for index in 0..<info.nlinks {
                let length = try HDF5Library.check(
                    H5Lget_name_by_idx(group.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, shim_H5P_DEFAULT()),
                    "H5Lget_name_by_idx", groupPath)
                var buffer = [CChar](repeating: 0, count: length + 1)
                try HDF5Library.check(
                    H5Lget_name_by_idx(group.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, shim_H5P_DEFAULT()),
                    "H5Lget_name_by_idx", groupPath)
                names.append(HDF5File.string(buffer))
            }
            return names
        }
    }

    /// Creates the group at `path` and any missing groups above it. Existing groups are left as they are.
    func createGroup(_ path: String) throws {
        try HDF5Library.serialized {
            let file = try id(path)
            var prefix = ""
            for component in HDF5File.components(path) {
                prefix += "/" + component
                switch objectType(prefix) {
                case H5I_GROUP?:
                    continue
                case nil:
                    let gcpl = try HDF5Library.handle(H5Pcreate(shim_H5P_GROUP_CREATE()), "H5Pcreate", prefix, close: H5Pclose)
                    try HDF5Library.check(H5Pset_obj_track_times(gcpl.id, false), "H5Pset_obj_track_times", prefix)
                    let group = try HDF5Library.handle(
                        H5Gcreate2(file, prefix, shim_H5P_DEFAULT(), gcpl.id, shim_H5P_DEFAULT()), "H5Gcreate2", prefix, close: H5Gclose)
                    _ = consume group
                default:
                    throw HDF5Error(call: "createGroup", path: prefix, detail: "an object that is not a group is already there")
                }
            }
        }
    }

    // MARK: helpers

    /// Path components, ignoring empty ones ("/a//b/" → ["a", "b"]).
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// The parent group path of `path` ("/a/b" → "/a", "/a" → "/").
    static func parent(_ path: String) -> String {
        let parts = components(path).dropLast()
        return "/" + parts.joined(separator: "/")
    }

    /// A NUL-terminated C buffer as a String (invalid UTF-8 is replaced, never trusted).
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
