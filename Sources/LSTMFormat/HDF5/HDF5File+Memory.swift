import CHDF5
import Foundation

/// HDF5 files built in memory (`Spec/keras-mapping.md`, K-W9): libhdf5's core driver with no backing store,
/// growing its image through `shim_set_owned_image`'s callbacks, so the finished image is handed over rather
/// than copied out (`H5Fget_file_image` would copy it). The bytes are those the same calls give on disk.
extension HDF5File {
    /// A finished file image, freed when released.
    final class Image {
        let bytes: UnsafeRawBufferPointer

        fileprivate init(base: UnsafeMutableRawPointer, count: Int) {
            bytes = UnsafeRawBufferPointer(start: base, count: count)
        }

        deinit { free(UnsafeMutableRawPointer(mutating: bytes.baseAddress)) }
    }

    /// The image grows in steps of this many bytes (each step is one `realloc`, a remap for large blocks).
    static let imageIncrement = 1 << 20

    /// Creates a file in memory, lets `body` fill it, and returns its bytes. `label` names it in errors (e.g.
    /// "model.keras/model.weights.h5"). Nothing touches the disk.
    static func createInMemory(label: String, _ body: (HDF5File) throws -> Void) throws -> Image {
        let owned = UnsafeMutablePointer<shim_owned_image>.allocate(capacity: 1)
        owned.initialize(to: shim_owned_image(image: nil, size: 0, taken: 0))
        defer { owned.deallocate() }
        let file = try HDF5Library.serialized {
            let fcpl = try creationProperties(label)
            let fapl = try writeAccessProperties(label)
            try HDF5Library.check(shim_set_owned_image(fapl.id, imageIncrement, owned), "H5Pset_fapl_core", label)
            // The core driver identifies open files by name: make each one's name unique.
            let name = "lstmformat-new-\(UUID().uuidString).h5"
            let id = try HDF5Library.check(H5Fcreate(name, shim_H5F_ACC_TRUNC(), fcpl.id, fapl.id), "H5Fcreate", label)
            return HDF5File(fileID: id, location: label)
        }
        do {
            try body(file)
            // The flush releases the space aggregators, so the end of allocated space is the end of the file.
            let size = try HDF5Library.serialized {
                let id = try file.id("/")
                try HDF5Library.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "H5Fflush", label)
                return try HDF5Library.check(H5Fget_file_image(id, nil, 0), "H5Fget_file_image", label)
            }
            owned.pointee.taken = 1
            try file.close()
            guard let base = owned.pointee.image, size >= 0, size <= owned.pointee.size else {
                free(owned.pointee.image)
                throw HDF5Error(call: "H5Fclose", path: "/", detail: "the in-memory file \(label) has no image of \(size) bytes")
            }
            return Image(base: base, count: size)
        } catch {
            try? file.close()
            if owned.pointee.taken != 0 { free(owned.pointee.image) }
            throw error
        }
    }
}
