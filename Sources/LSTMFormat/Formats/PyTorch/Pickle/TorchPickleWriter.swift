import Foundation

/// The data.pkl of a state dict as torch.save writes it (protocol 2; `Spec/pytorch-mapping.md`, P-W4): an
/// OrderedDict of `_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` with one storage per
/// tensor, and `_metadata` set by BUILD. Only opcodes and globals the weights-only loader accepts; no memo, so
/// the same state dict always gives the same bytes.
struct TorchPickleWriter {
    private(set) var bytes: [UInt8] = [0x80, 0x02]

    static func stateDict(_ entries: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String]) -> Data {
        var w = TorchPickleWriter()
        w.orderedDict()
        w.op("(")
        for (k, e) in entries.enumerated() {
            w.string(e.name)
            w.global("torch._utils", "_rebuild_tensor_v2")
            w.op("(")
            w.op("(")  // persistent id
            w.string("storage")
            w.global("torch", storageClass(e.dtype))
            w.string(String(k))
            w.string("cpu")
            w.int(e.shape.reduce(1, *))
            w.op("t")
            w.op("Q")
            w.int(0)
            w.tuple(e.shape)
            w.tuple(contiguousStrides(e.shape))
            w.bytes.append(0x89)  // NEWFALSE: requires_grad
            w.orderedDict()  // backward hooks
            w.op("t")
            w.op("R")
        }
        w.op("u")
        // BUILD {'_metadata': OrderedDict({'lstm_format': {…}})}
        w.op("}")
        w.string("_metadata")
        w.orderedDict()
        w.string("lstm_format")
        w.op("}")
        w.op("(")
        for key in metadata.keys.sorted() {
            w.string(key)
            w.string(metadata[key]!)
        }
        w.op("u")
        w.op("s")
        w.op("s")
        w.op("b")
        w.op(".")
        return Data(w.bytes)
    }

    static func storageClass(_ d: DType) -> String {
        switch d {
        case .float32: "FloatStorage"
        case .float64: "DoubleStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        }
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var out = [Int](repeating: 1, count: shape.count)
        for d in Swift.stride(from: shape.count - 2, through: 0, by: -1) { out[d] = out[d + 1] * max(shape[d + 1], 1) }
        return out
    }

    private mutating func op(_ c: Character) { bytes.append(c.asciiValue!) }

    private mutating func global(_ module: String, _ name: String) {
        op("c")
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    private mutating func orderedDict() {
        global("collections", "OrderedDict")
        op(")")
        op("R")
    }

    private mutating func string(_ s: String) {
        op("X")
        let u = Array(s.utf8)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }

    /// BININT when `n` fits in 4 signed bytes, else LONG1 (little-endian two's complement, as few bytes as
    /// Python's `pickle.encode_long` uses): a tensor of 2^31 elements or more keeps its true size.
    private mutating func int(_ n: Int) {
        if let small = Int32(exactly: n) {
            op("J")
            withUnsafeBytes(of: small.littleEndian) { bytes += $0 }
            return
        }
        var le = withUnsafeBytes(of: Int64(n).littleEndian) { Array($0) }
        while le.count > 1, (le[le.count - 1] == 0 && le[le.count - 2] & 0x80 == 0) || (le[le.count - 1] == 0xFF && le[le.count - 2] & 0x80 != 0) {
            le.removeLast()
        }
        bytes.append(0x8A)
        bytes.append(UInt8(le.count))
        bytes += le
    }

    private mutating func tuple(_ values: [Int]) {
        op("(")
        for v in values { int(v) }
        op("t")
    }
}
