import CHDF5

/// A failed libhdf5 call, or an HDF5 object this layer cannot represent (`Spec/hdf5-layout.md`, H9).
///
/// `description` is one line: the object path (and attribute), the call or operation, and the reason —
/// for a libhdf5 failure, libhdf5's own error stack, walked from the API call down to the innermost cause.
struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// The libhdf5 function that failed (`H5Dopen2`), or the layer operation (`readTensor`).
    let call: String
    /// The HDF5 object path (`/lstm/0/fwd/W_f`) or, for file-level calls, the file path.
    let path: String
    /// The attribute involved, if any.
    let attribute: String?
    /// libhdf5's error stack, or the layer's reason, on one line.
    let detail: String

    init(call: String, path: String, attribute: String? = nil, detail: String) {
        self.call = call
        self.path = path
        self.attribute = attribute
        self.detail = detail
    }

    var description: String {
        let place = attribute.map { "\(path) attribute '\($0)'" } ?? path
        return "\(place): \(call) failed: \(detail)"
    }
}

extension HDF5Library {
    /// Returns `result` unless it is negative (libhdf5's failure convention for ids, `herr_t`, `htri_t` and
    /// sizes); then throws an `HDF5Error` carrying the call, the path and libhdf5's error stack, and clears it.
    @discardableResult
    static func check<T: SignedInteger>(_ result: T, _ call: String, _ path: String, attribute: String? = nil) throws -> T {
        guard result < 0 else { return result }
        throw HDF5Error(call: call, path: path, attribute: attribute, detail: takeErrorStack())
    }

    /// libhdf5's current error stack as one line ("H5Dopen2: unable to open dataset; … (object 'x' doesn't
    /// exist)"), then clears it. Caller holds the lock.
    static func takeErrorStack() -> String {
        final class Entries { var lines: [String] = []; var innermostMinor = "" }
        let entries = Entries()
        let box = Unmanaged.passRetained(entries)
        defer { box.release() }
        _ = H5Ewalk2(shim_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, error, data in
            guard let error, let data else { return 0 }
            let entries = Unmanaged<Entries>.fromOpaque(data).takeUnretainedValue()
            let function = error.pointee.func_name.map { String(cString: $0) } ?? "?"
            let desc = error.pointee.desc.map { String(cString: $0) } ?? ""
            entries.lines.append(desc.isEmpty ? function : "\(function): \(desc)")
            var message = [CChar](repeating: 0, count: 256)
            if H5Eget_msg(error.pointee.min_num, nil, &message, message.count) > 0 {
                entries.innermostMinor = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return 0
        }, box.toOpaque())
        _ = H5Eclear2(shim_H5E_DEFAULT())
        guard !entries.lines.isEmpty else { return "libhdf5 reported no error detail" }
        let minor = entries.innermostMinor.isEmpty ? "" : " (\(entries.innermostMinor))"
        return entries.lines.joined(separator: "; ") + minor
    }
}
