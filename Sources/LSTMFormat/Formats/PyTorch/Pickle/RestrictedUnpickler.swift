import Foundation

/// A pickle reader that accepts exactly the opcodes and globals `torch.load(weights_only=True)` accepts
/// (`Spec/pytorch-mapping.md`, P-P1 … P-P4) and never executes anything: allowed globals are names, and the
/// calls torch.load makes with them are interpreted as the data they build (`PickleValue`). Every length is
/// checked against the bytes left; work and memory are linear in the input.
struct RestrictedUnpickler {
    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var metastack: [[PickleValue]] = []
    private var memo: [Int: PickleValue] = [:]

    /// Largest pickle read (a state dict's pickle holds names and shapes only).
    static let sizeLimit = 256 << 20

    init(_ data: Data) {
        bytes = [UInt8](data)
    }

    static func load(_ data: Data) throws(PickleError) -> PickleValue {
        guard data.count <= sizeLimit else { throw .malformed("the pickle is \(data.count) bytes, more than the \(sizeLimit)-byte limit", offset: 0) }
        var u = RestrictedUnpickler(data)
        return try u.run()
    }

    private mutating func run() throws(PickleError) -> PickleValue {
        while true {
            let at = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO
            case UInt8(ascii: "."):  // STOP
                guard metastack.isEmpty, stack.count == 1 else { throw .malformed("STOP with \(stack.count) values on the stack", offset: at) }
                return stack[0]
            case UInt8(ascii: "c"): try global()
            case UInt8(ascii: "("): metastack.append(stack); stack = []  // MARK
            case UInt8(ascii: "t"): stack.append(try tuple(try popMark(), at))  // TUPLE
            case 0x85: let a = try pop(); stack.append(try tuple([a], at))
            case 0x86: let b = try pop(), a = try pop(); stack.append(try tuple([a, b], at))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(try tuple([a, b, c], at))
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case UInt8(ascii: ")"): stack.append(.tuple([], depth: 1))
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))
            case 0x8F: stack.append(.object("builtins.set"))  // EMPTY_SET
            case UInt8(ascii: "J"): stack.append(.int(Int64(Int32(bitPattern: try le(4)))))
            case UInt8(ascii: "K"): stack.append(.int(Int64(try byte())))
            case UInt8(ascii: "M"): stack.append(.int(Int64(try le(2))))
            case UInt8(ascii: "G"):  // BINFLOAT, big-endian
                let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case 0x8A: stack.append(try long1())
            case UInt8(ascii: "X"):  // BINUNICODE
                let n = Int(try le(4))
                guard let s = String(bytes: try take(n), encoding: .utf8) else { throw .malformed("a string that is not UTF-8", offset: at) }
                stack.append(.string(s))
            case UInt8(ascii: "U"):  // SHORT_BINSTRING
                let n = Int(try byte())
                let b = try take(n)
                stack.append(String(bytes: b, encoding: .utf8).map(PickleValue.string) ?? .bytes(Data(b)))
            case UInt8(ascii: "q"): memo[Int(try byte())] = try top()
            case UInt8(ascii: "r"): memo[Int(try le(4))] = try top()
            case UInt8(ascii: "h"): stack.append(try memoGet(Int(try byte()), at))
            case UInt8(ascii: "j"): stack.append(try memoGet(Int(try le(4)), at))
            case UInt8(ascii: "a"):  // APPEND
                let item = try pop()
                guard case .list(let l) = try top() else { throw .forbiddenCall("appends to a \(try top().typeName)") }
                try insert([item], into: l, at)
                l.items.append(item)
            case UInt8(ascii: "e"):  // APPENDS
                let items = try popMark()
                guard case .list(let l) = try top() else { throw .forbiddenCall("appends to a \(try top().typeName)") }
                try insert(items, into: l, at)
                l.items += items
            case UInt8(ascii: "s"):  // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = try top() else { throw .forbiddenCall("sets an item of a \(try top().typeName)") }
                try insert([k, v], into: d, at)
                d.set(k, v)
            case UInt8(ascii: "u"):  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw .malformed("SETITEMS with an odd number of values", offset: at) }
                guard case .dict(let d) = try top() else { throw .forbiddenCall("sets items of a \(try top().typeName)") }
                try insert(items, into: d, at)
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            case UInt8(ascii: "Q"):  // BINPERSID
                stack.append(try persistent(try pop()))
            case UInt8(ascii: "R"):  // REDUCE
                let args = try pop()
                let f = try pop()
                stack.append(try call(f, args))
            case 0x81:  // NEWOBJ
                let args = try pop()
                let cls = try pop()
                guard case .global(let name) = cls else { throw .forbiddenCall("creates an object of \(cls.typeName)") }
                if name == "torch.nn.parameter.Parameter", case .tuple(let a, _) = args, let t = a.first, case .tensor = t {
                    stack.append(t)
                } else {
                    stack.append(.object(name))
                }
            case UInt8(ascii: "b"):  // BUILD
                let state = try pop()
                switch try top() {
                case .dict(let d):
                    guard !d.frozen else { throw .forbiddenCall("builds a dict that is already inside another container") }
                    if case .dict(let s) = state {
                        guard s !== d else { throw .forbiddenCall("builds a dict with itself as its state") }
                        d.attributes = s
                        freeze(state)
                    }
                case .tensor, .object: break
                default: throw .forbiddenCall("builds a \(try top().typeName)")
                }
            default:
                throw .opcode(op, name: Self.opcodeNames[op] ?? "unknown", offset: at)
            }
        }
    }

    // MARK: opcodes with meaning

    private mutating func global() throws(PickleError) {
        let module = try line(), name = try line()
        let full = "\(module).\(name)"
        if WeightsOnlyGlobals.blockedModules.contains(module) { throw .blockedGlobal(full) }
        guard WeightsOnlyGlobals.isAllowed(full) else { throw .forbiddenGlobal(full) }
        stack.append(.global(full))
    }

    /// The calls torch.load makes with allowed globals, interpreted as data. Nothing is called.
    private func call(_ f: PickleValue, _ args: PickleValue) throws(PickleError) -> PickleValue {
        guard case .global(let name) = f else { throw .forbiddenCall("calls a \(f.typeName)") }
        guard case .tuple(let a, _) = args else { throw .forbiddenCall("calls \(name) with a \(args.typeName) of arguments") }
        switch name {
        case "collections.OrderedDict", "collections.Counter":
            let d = PickleDict()
            if let first = a.first, case .dict(let source) = first { for e in source.entries { d.set(e.key, e.value) } }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1],
                  let size = Self.ints(a[2]), let stride = Self.ints(a[3]), offset >= 0, offset <= Int64(Int.max) else {
                throw .forbiddenCall("calls \(name) with arguments that are not (storage, offset, size, stride, …)")
            }
            return .tensor(TorchTensorRef(storage: s, offset: Int(offset), size: size, stride: stride))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let t = a.first, case .tensor = t else { return .object(name) }
            return t
        case "torch.Size":
            return a.first ?? .tuple([], depth: 1)
        default:
            return .object(name)
        }
    }

    /// ('storage', storage class, key, location, numel) → a storage record.
    private func persistent(_ pid: PickleValue) throws(PickleError) -> PickleValue {
        guard case .tuple(let p, _) = pid, p.count == 5, case .string("storage") = p[0], case .global(let cls) = p[1],
              WeightsOnlyGlobals.storages[cls] != nil, case .string(let key) = p[2], case .int(let numel) = p[4],
              numel >= 0, numel <= Int64(Int.max) else {
            throw .forbiddenCall("has a persistent id that is not ('storage', storage class, key, location, numel)")
        }
        return .storage(TorchStorageRef(className: cls, key: key, numel: Int(numel)))
    }

    private static func ints(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items, _) = v, items.count <= 16 else { return nil }
        var out: [Int] = []
        for i in items {
            // Any non-negative Int: every use is overflow-checked (a contiguous stride may exceed 2^31, P-W5).
            guard case .int(let n) = i, n >= 0, n <= Int64(Int.max) else { return nil }
            out.append(Int(n))
        }
        return out
    }

    private mutating func long1() throws(PickleError) -> PickleValue {
        let n = Int(try byte())
        let b = try take(n)
        guard n <= 8 else { return .bigInt }
        if n == 0 { return .int(0) }
        var v: UInt64 = 0
        for (k, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(k)) }
        if n < 8, b[b.startIndex + n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend (b is a slice of the pickle)
        return .int(Int64(bitPattern: v))
    }

    // MARK: nesting (P-P3)

    /// Deepest nesting accepted: deeper values would be released recursively and could exhaust the stack.
    static let depthLimit = 500

    private func tuple(_ items: [PickleValue], _ at: Int) throws(PickleError) -> PickleValue {
        let t = PickleValue.tuple(items)
        guard t.depth <= Self.depthLimit else { throw .malformed("values nested more than \(Self.depthLimit) levels deep", offset: at) }
        for i in items { freeze(i) }
        return t
    }

    /// Records that `items` now live inside `container` (which must not be inside another one yet).
    private func insert(_ items: [PickleValue], into container: AnyObject, _ at: Int) throws(PickleError) {
        let (frozen, depth): (Bool, Int) = (container as? PickleList).map { ($0.frozen, $0.depth) } ?? ((container as! PickleDict).frozen, (container as! PickleDict).depth)
        guard !frozen else { throw .forbiddenCall("changes a container that is already inside another one") }
        var d = depth
        for i in items {
            // A container inside itself would be a reference cycle, never released (a leak per load).
            if case .list(let l) = i, l === container { throw .forbiddenCall("puts a list inside itself") }
            if case .dict(let x) = i, x === container { throw .forbiddenCall("puts a dict inside itself") }
            d = max(d, 1 + i.depth)
            freeze(i)
        }
        guard d <= Self.depthLimit else { throw .malformed("values nested more than \(Self.depthLimit) levels deep", offset: at) }
        if let l = container as? PickleList { l.depth = d } else if let x = container as? PickleDict { x.depth = d }
    }

    private func freeze(_ v: PickleValue) {
        if case .list(let l) = v { l.frozen = true }
        if case .dict(let d) = v { d.frozen = true }
    }

    // MARK: reading

    private mutating func byte() throws(PickleError) -> UInt8 {
        guard position < bytes.count else { throw .malformed("the pickle ends before STOP", offset: position) }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws(PickleError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw .malformed("a \(n)-byte argument runs past the end", offset: position) }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func le(_ n: Int) throws(PickleError) -> UInt32 {
        try take(n).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    private mutating func line() throws(PickleError) -> String {
        let start = position
        guard let end = bytes[start...].prefix(256).firstIndex(of: 0x0A) else { throw .malformed("a GLOBAL name without a newline", offset: start) }
        position = end + 1
        guard let s = String(bytes: bytes[start..<end], encoding: .utf8) else { throw .malformed("a GLOBAL name that is not UTF-8", offset: start) }
        return s
    }

    private mutating func pop() throws(PickleError) -> PickleValue {
        guard let v = stack.popLast() else { throw .malformed("the stack is empty", offset: position - 1) }
        return v
    }

    private func top() throws(PickleError) -> PickleValue {
        guard let v = stack.last else { throw .malformed("the stack is empty", offset: position - 1) }
        return v
    }

    private mutating func popMark() throws(PickleError) -> [PickleValue] {
        guard let previous = metastack.popLast() else { throw .malformed("no MARK to pop to", offset: position - 1) }
        let items = stack
        stack = previous
        return items
    }

    private func memoGet(_ k: Int, _ at: Int) throws(PickleError) -> PickleValue {
        guard let v = memo[k] else { throw .malformed("memo entry \(k) is not set", offset: at) }
        return v
    }

    static let opcodeNames: [UInt8: String] = [
        0x80: "PROTO", 0x2E: "STOP", 0x63: "GLOBAL", 0x81: "NEWOBJ", 0x52: "REDUCE", 0x62: "BUILD", 0x61: "APPEND",
        0x65: "APPENDS", 0x73: "SETITEM", 0x75: "SETITEMS", 0x28: "MARK", 0x74: "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2",
        0x87: "TUPLE3", 0x4E: "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x29: "EMPTY_TUPLE", 0x5D: "EMPTY_LIST",
        0x7D: "EMPTY_DICT", 0x8F: "EMPTY_SET", 0x4A: "BININT", 0x4B: "BININT1", 0x4D: "BININT2", 0x47: "BINFLOAT",
        0x8A: "LONG1", 0x58: "BINUNICODE", 0x55: "SHORT_BINSTRING", 0x51: "BINPERSID", 0x68: "BINGET", 0x6A: "LONG_BINGET",
        0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x69: "INST", 0x6F: "OBJ", 0x93: "STACK_GLOBAL", 0x92: "NEWOBJ_EX", 0x95: "FRAME", 0x94: "MEMOIZE",
        0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
        0x50: "PERSID", 0x49: "INT", 0x4C: "LONG", 0x53: "STRING", 0x56: "UNICODE", 0x46: "FLOAT", 0x64: "DICT",
        0x6C: "LIST", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x67: "GET", 0x70: "PUT", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x8B: "LONG4", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER", 0x54: "BINSTRING",
    ]
}
