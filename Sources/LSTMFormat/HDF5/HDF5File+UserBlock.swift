import Foundation

/// HDF5 files written behind a user block that is someone else's (`Spec/hdf5-layout.md`, H15): the `.keras`
/// writer lets libhdf5 write `model.weights.h5` straight into the archive, the zip headers before it in the
/// user block (`Spec/keras-mapping.md`, K-W9).
extension HDF5File {
    /// Makes the HDF5 file that begins `userBlock` bytes into the file at `url` (written by
    /// `create(_:userBlock:_:)`) standalone from there on: its version-0 superblock gets base address 0 and
    /// end-of-file address `size - userBlock`. Every other address in the file is relative to the base, so the
    /// bytes from `userBlock` on are then exactly those of the same file written without a user block (H15).
    /// Throws `HDF5Error` when the superblock is not the version-0, 8-byte-address one libhdf5 writes by default
    /// with base address `userBlock` and end of file at the file's end.
    static func detachUserBlock(_ url: URL, userBlock: Int) throws {
        let fd = Glibc.open(url.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        var superblock = [UInt8](repeating: 0, count: 48)
        guard pread(fd, &superblock, 48, off_t(userBlock)) == 48 else {
            throw HDF5Error(call: "detachUserBlock", path: url.path, detail: "no superblock at offset \(userBlock)")
        }
        func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(superblock[at + $1]) << (8 * $1) } }
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard Array(superblock[0..<8]) == signature, superblock[8] == 0, superblock[13] == 8,
              u64(24) == userBlock, u64(40) == size else {
            throw HDF5Error(call: "detachUserBlock", path: url.path,
                            detail: "the superblock at offset \(userBlock) is not a version-0 one with base \(userBlock) and end of file \(size)")
        }
        var fields = [UInt8](repeating: 0, count: 24)  // base address 0, free-space address (kept), end of file
        for k in 0..<8 { fields[8 + k] = superblock[32 + k]; fields[16 + k] = UInt8(truncatingIfNeeded: (size - userBlock) >> (8 * k)) }
        guard pwrite(fd, fields, 24, off_t(userBlock + 24)) == 24 else { throw IOProblem.cannotWrite(String(cString: strerror(errno))) }
    }
}
