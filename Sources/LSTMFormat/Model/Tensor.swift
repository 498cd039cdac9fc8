import CFloatConversion
import Foundation

/// A dense, row-major (C order) tensor held as its little-endian element bytes.
///
/// Keeping the bytes rather than decoded numbers makes every conversion between formats bit-exact for every
/// dtype, and lets a memory-mapped file hand out tensors without copying (`bytes` may be a slice of a mapping).
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    /// `elementCount * dtype.byteSize` bytes, little-endian, C order. For a tensor whose bytes are a deferred
    /// move (`Spec/layout.md` G8) the first use makes them (once); `byteCount` and `crc32` do not.
    public var bytes: Data { deferred?.bytes ?? storedBytes }
    private let storedBytes: Data
    /// G8: the move that gives this tensor's bytes, not made yet (nil: the bytes are `storedBytes`).
    let deferred: DeferredMove?
    /// CRC-32 of `bytes` when a reader has already computed and checked it (a `.lstm` tensor read with
    /// checksums verified), so writers and `inspect` need not read the bytes again. Not part of equality.
    var verifiedCRC32: UInt32? = nil
    /// The bytes are a read-only mapping of the zero page standing for data that was not read
    /// (`Tensor.declaredOnly`, M3): layout moves give such tensors again instead of copying. Not part of equality.
    var isDeclaredOnly = false

    /// CRC-32 (ISO-HDLC, `CRC32`) of `bytes` (of a deferred move's bytes band by band, without making them, G8).
    public var crc32: UInt32 { verifiedCRC32 ?? deferred?.crc32 ?? CRC32.checksum(storedBytes) }

    /// The number of bytes (`bytes.count`, without making a deferred move's bytes).
    public var byteCount: Int { deferred?.byteCount ?? storedBytes.count }

    /// Same dtype, shape and bytes (a known CRC is a cache, not a property of the value).
    public static func == (a: Tensor, b: Tensor) -> Bool {
        a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes
    }

    /// Wraps existing bytes. Throws when the byte count does not match the shape and dtype.
    public init(dtype: DType, shape: [Int], bytes: Data) throws {
        guard let count = Tensor.elementCount(shape),
              let byteCount = count.multipliedReportingOverflow(by: dtype.byteSize).partialValue as Int?,
              !count.multipliedReportingOverflow(by: dtype.byteSize).overflow
        else { throw TensorError.invalidShape(shape) }
        guard bytes.count == byteCount else {
            throw TensorError.byteCountMismatch(shape: shape, dtype: dtype, expected: byteCount, actual: bytes.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.storedBytes = bytes
        self.deferred = nil
    }

    /// A tensor whose bytes are those `rows` makes, made on first use (G8).
    init(deferred rows: TensorRows) {
        self.dtype = rows.dtype
        self.shape = rows.shape
        self.storedBytes = Data()
        self.deferred = DeferredMove(rows)
    }

    /// A float32 tensor from values in C order.
    public init(shape: [Int], float32 values: [Float]) {
        precondition(Tensor.elementCount(shape) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.dtype = .float32
        self.shape = shape
        self.storedBytes = Tensor.encode(values)
        self.deferred = nil
    }

    /// A float64 tensor from values in C order.
    public init(shape: [Int], float64 values: [Double]) {
        precondition(Tensor.elementCount(shape) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.dtype = .float64
        self.shape = shape
        self.storedBytes = Tensor.encode(values)
        self.deferred = nil
    }

    /// A tensor of `dtype` from float64 values, each rounded to nearest-even.
    public init(shape: [Int], values: [Double], dtype: DType) {
        self = Tensor(shape: shape, float64: values).converted(to: dtype)
    }

    public static func zeros(shape: [Int], dtype: DType = .float32) -> Tensor {
        let n = elementCount(shape) ?? 0
        return try! Tensor(dtype: dtype, shape: shape, bytes: Data(count: n * dtype.byteSize))
    }

    /// Product of the dimensions, or nil when a dimension is negative or the product overflows `Int`.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    public var elementCount: Int { byteCount / dtype.byteSize }

    /// The values widened to float64 (exact for every dtype).
    public func float64Values() -> [Double] {
        switch dtype {
        case .float64: return Tensor.decode(bytes, as: Double.self)
        case .float32: return Tensor.decode(bytes, as: Float.self).map(Double.init)
        case .float16: return widenedFloat16().map(Double.init)
        case .bfloat16: return Tensor.decode(bytes, as: UInt16.self).map { Double(BFloat16Bits.toFloat($0)) }
        }
    }

    /// Writes `float64Values()` to `out` (at least `elementCount` elements) without the intermediate arrays
    /// `float64Values()` makes: float32 and float64 data are widened straight from the bytes (`Spec/bptt.md`
    /// B31: the verifier's float64 copies of a large model hold no second copy of a tensor).
    public func copyFloat64Values(into out: UnsafeMutablePointer<Double>) {
        let n = elementCount
        switch dtype {
        case .float32:
            bytes.withUnsafeBytes { raw in
                for k in 0..<n { out[k] = Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))) }
            }
        case .float64:
            bytes.withUnsafeBytes { raw in
                for k in 0..<n { out[k] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))) }
            }
        case .float16, .bfloat16:
            float64Values().withUnsafeBufferPointer { if let base = $0.baseAddress { out.update(from: base, count: n) } }
        }
    }

    /// Writes `float32Values()` to `out` (at least `elementCount` elements); float32 and float64 data straight
    /// from the bytes, as `copyFloat64Values(into:)`.
    public func copyFloat32Values(into out: UnsafeMutablePointer<Float>) {
        let n = elementCount
        switch dtype {
        case .float32:
            bytes.withUnsafeBytes { raw in
                for k in 0..<n { out[k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))) }
            }
        case .float64:
            bytes.withUnsafeBytes { raw in
                for k in 0..<n { out[k] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))) }
            }
        case .float16, .bfloat16:
            float32Values().withUnsafeBufferPointer { if let base = $0.baseAddress { out.update(from: base, count: n) } }
        }
    }

    /// The values as float32 (exact for float32, float16, bfloat16; rounded to nearest-even from float64).
    public func float32Values() -> [Float] {
        switch dtype {
        case .float32: return Tensor.decode(bytes, as: Float.self)
        case .float64: return Tensor.decode(bytes, as: Double.self).map { Float($0) }
        case .float16: return widenedFloat16()
        case .bfloat16: return Tensor.decode(bytes, as: UInt16.self).map(BFloat16Bits.toFloat)
        }
    }

    /// float16 bytes widened to float32 in one pass (F16C where the CPU has it; exact either way).
    private func widenedFloat16() -> [Float] {
        let n = elementCount
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            bytes.withUnsafeBytes { lstmformat_f16_to_f32($0.baseAddress, out.baseAddress, n) }
            initialized = n
        }
    }

    /// The C-order index of the first NaN or infinite element, or nil when every element is finite.
    public func firstNonFiniteIndex() -> [Int]? {
        guard let flat = float64Values().firstIndex(where: { !$0.isFinite }) else { return nil }
        return Tensor.index(ofFlat: flat, shape: shape)
    }

    /// The C-order multi-index of flat element `flat` in `shape`.
    public static func index(ofFlat flat: Int, shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count), rest = flat
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
            index[d] = rest % shape[d]
            rest /= shape[d]
        }
        return index
    }

    /// This tensor in another dtype, every element rounded to nearest-even with one rounding.
    public func converted(to target: DType) -> Tensor {
        if target == dtype { return self }
        let data: Data
        switch target {
        case .float64:
            data = Tensor.encode(float64Values())
        case .float32:
            data = Tensor.encode(float32Values())
        case .float16 where dtype == .float32:
            // One correctly rounded step per element, in place from the float32 bytes (F16C where available).
            let n = elementCount
            var out = Data(count: n * 2)
            out.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { lstmformat_f32_to_f16($0.baseAddress, dst.baseAddress, n) } }
            data = out
        case .float16:
            // Float16(Double) and Float16(Float) are correctly rounded; widening first is exact.
            data = Tensor.encode(float64Values().map { Float16($0).bitPattern })
        case .bfloat16 where dtype == .float32:
            data = Tensor.mapBits(bytes, from: UInt32.self, to: UInt16.self) { BFloat16Bits.fromFloat(Float(bitPattern: $0)) }
        case .bfloat16:
            if dtype == .float64 {
                data = Tensor.encode(float64Values().map(BFloat16Bits.fromDouble))
            } else {
                data = Tensor.encode(float32Values().map(BFloat16Bits.fromFloat))
            }
        }
        return try! Tensor(dtype: target, shape: shape, bytes: data)
    }

    /// Same bytes, another shape with the same element count (e.g. a Keras [in, 4h] kernel viewed as rows).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(dtype: dtype, shape: newShape, bytes: bytes)
    }

    // MARK: little-endian encoding

    /// Element-wise map of little-endian bit patterns, straight from `data` into the result (no arrays between).
    static func mapBits<A: FixedWidthInteger, B: FixedWidthInteger>(_ data: Data, from: A.Type, to: B.Type, _ f: (A) -> B) -> Data {
        let n = data.count / MemoryLayout<A>.size
        var out = Data(count: n * MemoryLayout<B>.size)
        out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                for k in 0..<n {
                    let a = A(littleEndian: src.loadUnaligned(fromByteOffset: k * MemoryLayout<A>.size, as: A.self))
                    dst.storeBytes(of: f(a).littleEndian, toByteOffset: k * MemoryLayout<B>.size, as: B.self)
                }
            }
        }
        return out
    }

    static func encode<T: FixedWidthEncodable>(_ values: [T]) -> Data {
        var data = Data(count: values.count * MemoryLayout<T>.size)
        data.withUnsafeMutableBytes { raw in
            #if _endian(little)
            values.withUnsafeBytes { raw.copyMemory(from: $0) }
            #else
            for (k, v) in values.enumerated() {
                raw.storeBytes(of: v.littleEndianBits, toByteOffset: k * MemoryLayout<T>.size, as: T.Bits.self)
            }
            #endif
        }
        return data
    }

    static func decode<T: FixedWidthEncodable>(_ data: Data, as: T.Type) -> [T] {
        let n = data.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            data.withUnsafeBytes { raw in
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(n * MemoryLayout<T>.size)]))
                #else
                for k in 0..<n {
                    buffer[k] = T(littleEndianBits: raw.loadUnaligned(fromByteOffset: k * MemoryLayout<T>.size, as: T.Bits.self))
                }
                #endif
            }
            initialized = n
        }
    }
}

/// Element types that `Tensor` encodes as little-endian bytes.
protocol FixedWidthEncodable {
    associatedtype Bits: FixedWidthInteger
    var littleEndianBits: Bits { get }
    init(littleEndianBits: Bits)
}

extension Float: FixedWidthEncodable {
    var littleEndianBits: UInt32 { bitPattern.littleEndian }
    init(littleEndianBits: UInt32) { self.init(bitPattern: UInt32(littleEndian: littleEndianBits)) }
}
extension Double: FixedWidthEncodable {
    var littleEndianBits: UInt64 { bitPattern.littleEndian }
    init(littleEndianBits: UInt64) { self.init(bitPattern: UInt64(littleEndian: littleEndianBits)) }
}
extension UInt16: FixedWidthEncodable {
    var littleEndianBits: UInt16 { littleEndian }
    init(littleEndianBits: UInt16) { self.init(littleEndian: littleEndianBits) }
}

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case invalidShape([Int])
    case byteCountMismatch(shape: [Int], dtype: DType, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .invalidShape(let s): "invalid tensor shape \(s): a dimension is negative or the element count overflows"
        case .byteCountMismatch(let s, let d, let e, let a): "\(d) tensor of shape \(s) needs \(e) bytes, got \(a)"
        }
    }
}
