import CHDF5
import Foundation

extension HDF5File {
    /// Objects visited at most when summing declared bytes (a crafted file may link groups in cycles).
    static let maxVisitedObjects = 100_000

    /// Checks, once per file and before the first tensor is read, that the bytes every dataset of the file
    /// declares (element count × element size) fit the memory budget (`Spec/reliability.md`, M1). A chunked
    /// dataset with nothing stored can declare gigabytes in a file of a few kilobytes; reading it would
    /// allocate and fill them.
    func checkDeclaredBytes() throws {
        guard !declaredBytesChecked else { return }
        var total: UInt64? = 0
        var visited = 0
        try addDeclaredBytes(in: "/", depth: 0, total: &total, visited: &visited)
        try MemoryBudget.check(total, for: "model")
        declaredBytesChecked = true
    }

    private func addDeclaredBytes(in group: String, depth: Int, total: inout UInt64?, visited: inout Int) throws {
        guard depth < 64 else { return }
        for name in try childNames(group) {
            visited += 1
            guard visited <= HDF5File.maxVisitedObjects else { return }
            let path = group == "/" ? "/" + name : group + "/" + name
            if isDataset(path) {
                let shape = try datasetShape(path)
                let size = try elementSize(path)
                let bytes = MemoryBudget.bytes(shapes: [shape], elementSize: size)
                total = bytes.flatMap { b in total.flatMap { t in let (s, o) = t.addingReportingOverflow(b); return o ? nil : s } }
            } else if isGroup(path) {
                try addDeclaredBytes(in: path, depth: depth + 1, total: &total, visited: &visited)
            }
        }
    }

    private func elementSize(_ path: String) throws -> Int {
        try HDF5Library.serialized {
            let dataset = try HDF5Library.handle(H5Dopen2(try id(path), path, shim_H5P_DEFAULT()), "H5Dopen2", path, close: H5Dclose)
            let type = try HDF5Library.handle(H5Dget_type(dataset.id), "H5Dget_type", path, close: H5Tclose)
            return H5Tget_size(type.id)
        }
    }
}
