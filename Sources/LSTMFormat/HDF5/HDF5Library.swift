import CHDF5
import Foundation

/// The one gate to libhdf5. libhdf5 builds are not thread-safe in general, so every call goes through
/// `serialized`, which holds one global recursive lock. libhdf5's automatic error printing to stderr is turned
/// off (H9): errors are reported as `HDF5Error`s instead.
enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// Runs once, under the lock.
    /// libhdf5's exit handler flushes files still open; one left open by a failed write (a full disk makes
    /// `H5Fclose` fail) crashes it with SIGSEGV after the error was printed. Every file is closed explicitly on
    /// every path, so the handler is not needed (`Spec/reliability.md`, W5).
    private static let setUp: Void = { _ = H5dont_atexit(); _ = H5open() }()

    /// Runs `body` holding the libhdf5 lock.
    static func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = setUp
        // A thread-safe libhdf5 build (Debian's is one) keeps the error stack and its printing switch per
        // thread, so silence it for the calling thread each time; a plain build keeps one global switch.
        _ = H5Eset_auto2(shim_H5E_DEFAULT(), nil, nil)
        return try body()
    }

    /// Wraps a freshly returned id in a handle that closes it with `close`, or throws if the id is negative.
    static func handle(_ id: hid_t, _ call: String, _ path: String, attribute: String? = nil,
                       close: @escaping (hid_t) -> herr_t) throws -> HDF5Handle {
        try check(id, call, path, attribute: attribute)
        return HDF5Handle(id, close: close)
    }
}

/// An open libhdf5 id (file, group, dataset, attribute, datatype, dataspace or property list) that is closed
/// exactly once, when the handle goes out of scope. Used only under `HDF5Library.serialized`.
struct HDF5Handle: ~Copyable {
    let id: hid_t
    private let close: (hid_t) -> herr_t

    init(_ id: hid_t, close: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.close = close
    }

    deinit { _ = close(id) }
}
