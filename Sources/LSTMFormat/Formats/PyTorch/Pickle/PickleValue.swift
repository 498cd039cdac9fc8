import Foundation

/// A value built by `RestrictedUnpickler`: plain data only. Calls of allowed globals are never made; the few
/// torch.load needs are interpreted as the data they stand for (a dict, a tensor view, a storage).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer outside Int64 (LONG1); only its size is kept.
    case bigInt
    case float(Double)
    case string(String)
    case bytes(Data)
    /// Items and nesting depth (tuples are built bottom-up, so the depth is exact).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, not called (e.g. `collections.OrderedDict` before REDUCE).
    case global(String)
    /// A persistent id: one storage record of a torch.save archive.
    case storage(TorchStorageRef)
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`: a view into a storage.
    case tensor(TorchTensorRef)
    /// The result of an allowed call we keep opaque (a quantized or sparse tensor, a set, a device, …).
    case object(String)

    /// Levels of containers in this value (1 for an empty container, 0 for a scalar). Containers are never
    /// changed once inside another one (P-P3), so the depth recorded at insertion stays exact.
    var depth: Int {
        switch self {
        case .tuple(_, let d): d
        case .list(let l): l.depth
        case .dict(let d): d.depth
        default: 0
        }
    }

    static func tuple(_ items: [PickleValue]) -> PickleValue {
        .tuple(items, depth: 1 + (items.map(\.depth).max() ?? 0))
    }

    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let g): g
        case .storage: "storage"
        case .tensor: "tensor"
        case .object(let o): o
        }
    }
}

/// A list: a reference, so APPEND through a memoized copy changes every copy (as in Python).
final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    /// Set once the list is inside another container; it may not change after that (P-P3).
    var frozen = false
}

/// A dict in insertion order. Keys that are strings or ints replace earlier equal keys (Python semantics).
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [Key: Int] = [:]
    /// State set by BUILD (an OrderedDict's `_metadata`).
    var attributes: PickleDict?
    var depth = 1
    /// Set once the dict is inside another container; it may not change after that (P-P3).
    var frozen = false

    private enum Key: Hashable { case string(String), int(Int64) }

    private static func key(_ v: PickleValue) -> Key? {
        switch v {
        case .string(let s): .string(s)
        case .int(let i): .int(i)
        default: nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = Self.key(key) {
            if let i = index[k] { entries[i].value = value; return }
            index[k] = entries.count
        }
        entries.append((key, value))
    }

    subscript(_ key: String) -> PickleValue? {
        index[.string(key)].map { entries[$0].value }
    }
}

/// A storage record of a torch.save archive: `data/<key>`, `numel` elements of the storage class's dtype.
struct TorchStorageRef {
    var className: String
    var key: String
    var numel: Int
}

/// A strided view into a storage, as `_rebuild_tensor_v2` describes it (offset and strides in elements).
struct TorchTensorRef {
    var storage: TorchStorageRef
    var offset: Int
    var size: [Int]
    var stride: [Int]
}
