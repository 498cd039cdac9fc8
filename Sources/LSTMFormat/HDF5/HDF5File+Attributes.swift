import CHDF5
import Foundation

/// Attributes: strings (variable- or fixed-length, scalar or 1-D) and 64-bit integers (H2).
extension HDF5File {
    /// Largest attribute value read, in bytes (HDF5 attributes are small; this guards against bad files).
    static let attributeByteLimit = 64 << 20

    /// Attribute names of the object at `path`, in name order.
    func attributeNames(_ path: String) throws -> [String] {
        try HDF5Library.serialized {
            final class Names { var values: [String] = [] }
            let names = Names()
            let box = Unmanaged.passRetained(names)
            defer { box.release() }
            try HDF5Library.check(H5Aiterate_by_name(try id(path), path, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().values.append(String(cString: name))
                return 0
            }, box.toOpaque(), shim_H5P_DEFAULT()), "H5Aiterate_by_name", path)
            return names.values
        }
    }

    /// A string attribute; nil if absent. Accepts a scalar or a one-element array, fixed- or variable-length,
    /// ASCII or UTF-8. Any other type or length is an error naming the attribute.
    func stringAttribute(_ path: String, _ name: String) throws -> String? {
        guard let values = try stringArrayAttribute(path, name) else { return nil }
        guard values.count == 1 else {
            throw HDF5Error(call: "stringAttribute", path: path, attribute: name, detail: "expected one string, found \(values.count)")
        }
        return values[0]
    }

    /// A string array attribute (1-D, or a scalar read as one element); nil if absent. Fixed-length strings (as
    /// numpy `|S…` arrays, which Keras 2 writes) are cut at their padding; variable-length strings are read whole.
    func stringArrayAttribute(_ path: String, _ name: String) throws -> [String]? {
        try withAttribute(path, name, class: H5T_STRING, call: "read string attribute", holds: "strings") { attribute, type, count in
            if H5Tis_variable_str(type) > 0 {
                return try readVariableStrings(attribute, type, count, path, name)
            }
            return try readFixedStrings(attribute, type, count, path, name)
        }
    }

    private func readVariableStrings(_ attribute: hid_t, _ fileType: hid_t, _ count: Int, _ path: String, _ name: String) throws -> [String] {
        let memType = try HDF5Library.handle(H5Tcopy(shim_H5T_C_S1()), "H5Tcopy", path, attribute: name, close: H5Tclose)
        try HDF5Library.check(H5Tset_size(memType.id, shim_H5T_VARIABLE()), "H5Tset_size", path, attribute: name)
        try HDF5Library.check(H5Tset_cset(memType.id, H5Tget_cset(fileType)), "H5Tset_cset", path, attribute: name)
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        try HDF5Library.check(H5Aread(attribute, memType.id, &pointers), "H5Aread", path, attribute: name)
        defer { for p in pointers where p != nil { _ = H5free_memory(p) } }
        return pointers.map { p in p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? "" }
    }

    private func readFixedStrings(_ attribute: hid_t, _ fileType: hid_t, _ count: Int, _ path: String, _ name: String) throws -> [String] {
        let size = H5Tget_size(fileType)
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard size > 0, !overflow, total <= HDF5File.attributeByteLimit else {
            throw HDF5Error(call: "read string attribute", path: path, attribute: name, detail: "\(count) strings of \(size) bytes is too large")
        }
        let memType = try HDF5Library.handle(H5Tcopy(fileType), "H5Tcopy", path, attribute: name, close: H5Tclose)
        var bytes = [UInt8](repeating: 0, count: total)
        try HDF5Library.check(H5Aread(attribute, memType.id, &bytes), "H5Aread", path, attribute: name)
        let pad = H5Tget_strpad(fileType)
        return (0..<count).map { k in
            var field = bytes[(k * size)..<((k + 1) * size)]
            switch pad {
            case H5T_STR_NULLTERM: field = field.prefix { $0 != 0 }
            case H5T_STR_SPACEPAD: while field.last == 0x20 || field.last == 0 { field.removeLast() }
            default: while field.last == 0 { field.removeLast() }
            }
            return String(decoding: field, as: UTF8.self)
        }
    }

    /// An integer attribute (any integer type, converted to 64-bit); nil if absent. Scalar or one element.
    func intAttribute(_ path: String, _ name: String) throws -> Int? {
        try numberAttribute(path, name, class: H5T_INTEGER, what: ("integer", "an integer", "one integer"), as: Int64(0),
                            memoryType: shim_H5T_NATIVE_INT64).map { Int($0) }
    }

    /// A floating-point attribute (any float type, converted to 64-bit); nil if absent. Scalar or one element.
    func doubleAttribute(_ path: String, _ name: String) throws -> Double? {
        try numberAttribute(path, name, class: H5T_FLOAT, what: ("float", "a float", "one number"), as: Double(0),
                            memoryType: shim_H5T_NATIVE_DOUBLE)
    }

    /// One number of HDF5 type class `typeClass`, converted by libhdf5 to `T` (`memoryType`); nil if absent. `what`
    /// names the kind in errors: (the call's word, "not …", "expected …").
    private func numberAttribute<T>(_ path: String, _ name: String, class typeClass: H5T_class_t,
                                    what: (call: String, not: String, one: String), as zero: T,
                                    memoryType: () -> hid_t) throws -> T? {
        try withAttribute(path, name, class: typeClass, call: "read \(what.call) attribute", holds: what.not) { attribute, _, count in
            guard count == 1 else {
                throw HDF5Error(call: "read \(what.call) attribute", path: path, attribute: name, detail: "expected \(what.one), found \(count)")
            }
            var value = zero
            try HDF5Library.check(H5Aread(attribute, memoryType(), &value), "H5Aread", path, attribute: name)
            return value
        }
    }

    /// Opens attribute `name` of `path` (nil if absent), checks that its type is of class `typeClass` (else an error
    /// of `call`: "the attribute holds …, not `holds`") and passes its id, type and element count to `body`.
    private func withAttribute<R>(_ path: String, _ name: String, class typeClass: H5T_class_t, call: String, holds: String,
                                  _ body: (hid_t, hid_t, Int) throws -> R) throws -> R? {
        try HDF5Library.serialized {
            guard let attribute = try openAttribute(path, name) else { return nil }
            let type = try HDF5Library.handle(H5Aget_type(attribute.id), "H5Aget_type", path, attribute: name, close: H5Tclose)
            guard H5Tget_class(type.id) == typeClass else {
                throw HDF5Error(call: call, path: path, attribute: name, detail: "the attribute holds \(HDF5File.describe(type.id)), not \(holds)")
            }
            return try body(attribute.id, type.id, try elementCount(attribute.id, path, name))
        }
    }

    /// Writes a scalar IEEE 64-bit little-endian float.
    func setDoubleAttribute(_ path: String, _ name: String, _ value: Double) throws {
        try HDF5Library.serialized {
            let attribute = try createAttribute(path, name, type: shim_H5T_IEEE_F64LE(), count: nil)
            var v = value
            try HDF5Library.check(H5Awrite(attribute.id, shim_H5T_NATIVE_DOUBLE(), &v), "H5Awrite", path, attribute: name)
        }
    }

    /// Writes a scalar variable-length UTF-8 string, as h5py writes a Python `str`. Replaces an existing one.
    func setStringAttribute(_ path: String, _ name: String, _ value: String) throws {
        try HDF5Library.serialized {
            let type = try HDF5Library.handle(H5Tcopy(shim_H5T_C_S1()), "H5Tcopy", path, attribute: name, close: H5Tclose)
            try HDF5Library.check(H5Tset_size(type.id, shim_H5T_VARIABLE()), "H5Tset_size", path, attribute: name)
            try HDF5Library.check(H5Tset_cset(type.id, H5T_CSET_UTF8), "H5Tset_cset", path, attribute: name)
            let attribute = try createAttribute(path, name, type: type.id, count: nil)
            try value.withCString { pointer in
                var pointers: [UnsafePointer<CChar>?] = [pointer]
                try HDF5Library.check(H5Awrite(attribute.id, type.id, &pointers), "H5Awrite", path, attribute: name)
            }
        }
    }

    /// Writes a scalar fixed-length null-padded ASCII string, as h5py writes `bytes` / `numpy.bytes_`.
    func setFixedStringAttribute(_ path: String, _ name: String, _ value: String) throws {
        try writeFixedStrings(path, name, [value], scalar: true)
    }

    /// Writes a 1-D array of fixed-length null-padded strings, as h5py writes a numpy `|S<maxlen>` array
    /// (Keras 2 `layer_names`, `weight_names`).
    func setFixedStringArrayAttribute(_ path: String, _ name: String, _ values: [String]) throws {
        try writeFixedStrings(path, name, values, scalar: false)
    }

    private func writeFixedStrings(_ path: String, _ name: String, _ values: [String], scalar: Bool) throws {
        try HDF5Library.serialized {
            let encoded = values.map { Array($0.utf8) }
            let size = max(1, encoded.map(\.count).max() ?? 1)  // numpy's |S0 is stored as size 1
            var bytes = [UInt8](repeating: 0, count: size * encoded.count)
            for (k, e) in encoded.enumerated() { bytes.replaceSubrange((k * size)..<(k * size + e.count), with: e) }
            let type = try HDF5Library.handle(H5Tcopy(shim_H5T_C_S1()), "H5Tcopy", path, attribute: name, close: H5Tclose)
            try HDF5Library.check(H5Tset_size(type.id, size), "H5Tset_size", path, attribute: name)
            try HDF5Library.check(H5Tset_strpad(type.id, H5T_STR_NULLPAD), "H5Tset_strpad", path, attribute: name)
            let attribute = try createAttribute(path, name, type: type.id, count: scalar ? nil : values.count)
            if !bytes.isEmpty {
                try HDF5Library.check(H5Awrite(attribute.id, type.id, bytes), "H5Awrite", path, attribute: name)
            }
        }
    }

    /// Writes a scalar 64-bit signed little-endian integer (H2).
    func setIntAttribute(_ path: String, _ name: String, _ value: Int) throws {
        try HDF5Library.serialized {
            let attribute = try createAttribute(path, name, type: shim_H5T_STD_I64LE(), count: nil)
            var v = Int64(value)
            try HDF5Library.check(H5Awrite(attribute.id, shim_H5T_NATIVE_INT64(), &v), "H5Awrite", path, attribute: name)
        }
    }

    // MARK: helpers (caller holds the lock)

    /// Opens an attribute, or returns nil if the object has none of that name.
    private func openAttribute(_ path: String, _ name: String) throws -> HDF5Handle? {
        let file = try id(path)
        guard try HDF5Library.check(H5Aexists_by_name(file, path, name, shim_H5P_DEFAULT()), "H5Aexists_by_name", path, attribute: name) > 0
        else { return nil }
        return try HDF5Library.handle(H5Aopen_by_name(file, path, name, shim_H5P_DEFAULT(), shim_H5P_DEFAULT()),
                                      "H5Aopen_by_name", path, attribute: name, close: H5Aclose)
    }

    /// Creates an attribute (scalar when `count` is nil, else 1-D), replacing any attribute of that name.
    private func createAttribute(_ path: String, _ name: String, type: hid_t, count: Int?) throws -> HDF5Handle {
        let file = try id(path)
        if try HDF5Library.check(H5Aexists_by_name(file, path, name, shim_H5P_DEFAULT()), "H5Aexists_by_name", path, attribute: name) > 0 {
            try HDF5Library.check(H5Adelete_by_name(file, path, name, shim_H5P_DEFAULT()), "H5Adelete_by_name", path, attribute: name)
        }
        let space: HDF5Handle
        if let count {
            var dims = [hsize_t(count)]
            space = try HDF5Library.handle(H5Screate_simple(1, &dims, nil), "H5Screate_simple", path, attribute: name, close: H5Sclose)
        } else {
            space = try HDF5Library.handle(H5Screate(H5S_SCALAR), "H5Screate", path, attribute: name, close: H5Sclose)
        }
        return try HDF5Library.handle(
            H5Acreate_by_name(file, path, name, type, space.id, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT()),
            "H5Acreate_by_name", path, attribute: name, close: H5Aclose)
    }

    /// Number of elements of an attribute's dataspace (1 for a scalar).
    private func elementCount(_ attribute: hid_t, _ path: String, _ name: String) throws -> Int {
        let space = try HDF5Library.handle(H5Aget_space(attribute), "H5Aget_space", path, attribute: name, close: H5Sclose)
        let n = try HDF5Library.check(H5Sget_simple_extent_npoints(space.id), "H5Sget_simple_extent_npoints", path, attribute: name)
        guard let count = Int(exactly: n), count <= HDF5File.attributeByteLimit else {
            throw HDF5Error(call: "read attribute", path: path, attribute: name, detail: "\(n) elements is too many")
        }
        return count
    }
}
