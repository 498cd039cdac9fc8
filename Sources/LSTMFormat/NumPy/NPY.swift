import Foundation

/// NumPy `.npy` files (format versions 1.0 and 2.0): little-endian float16/float32/float64 arrays, in C order or
/// Fortran order (`fortran_order: True`, read into C order: `Spec/reliability.md` N1).
///
/// Layout: the magic `\x93NUMPY`, major and minor version bytes, the header length (u16 LE in 1.0, u32 LE in
/// 2.0), an ASCII Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with
/// spaces and a newline so that the data starts at a multiple of 64, then the raw data.
public enum NumPy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Headers larger than this are refused before they are read (numpy itself caps them at 10,000 bytes).
    static let maxHeaderLength = 1 << 16

    /// Maps a regular file and decodes it; every error is a `FileError` naming the file, with the OS reason
    /// (not an NSError dump) when it cannot be read.
    private static func mapAndDecode<T>(_ url: URL, _ decode: (Data) throws -> T) throws -> T {
        let data: Data
        do {
            try IOProblem.requireFile(url)
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch let problem as IOProblem {
            throw FileError(path: url.relativePath, underlying: problem)
        } catch {
            throw FileError(path: url.relativePath, underlying: NumPyError.unreadable(IOProblem.reason(error)))
        }
        do { return try decode(data) } catch { throw FileError(path: url.relativePath, underlying: error) }
    }

    /// Reads a `.npy` file into a tensor (float16, float32 or float64).
    public static func readNPY(_ url: URL) throws -> Tensor {
        try mapAndDecode(url, decodeNPY)
    }

    /// Writes a tensor as a version 1.0 `.npy` file, atomically. bfloat16 has no numpy dtype and is refused.
    public static func writeNPY(_ tensor: Tensor, to url: URL) throws {
        do { try AtomicFile.write(try encodeNPY(tensor), to: url) } catch { throw FileError(path: url.relativePath, underlying: error) }
    }

    /// The parsed header dict and the offset of the data.
    private static func header(_ data: Data) throws -> (NPYHeader, Int) {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NumPyError.badMagic }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2:
            guard bytes.count >= 12 else { throw NumPyError.truncated(expected: 12, actual: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NumPyError.unsupportedVersion(major: Int(major), minor: Int(bytes[7]))
        }
        guard headerLength <= maxHeaderLength else { throw NumPyError.headerTooLarge(headerLength) }
        let dataStart = headerStart + headerLength
        guard data.count >= dataStart else { throw NumPyError.truncated(expected: dataStart, actual: data.count) }
        let base = data.startIndex
        guard let header = String(data: data[(base + headerStart)..<(base + dataStart)], encoding: .ascii) else {
            throw NumPyError.badHeader("header is not ASCII")
        }
        return (try NPYHeader.parse(header), dataStart)
    }

    public static func decodeNPY(_ data: Data) throws -> Tensor {
        let (dict, dataStart) = try header(data)
        let dtype: DType
        switch dict.descr {
        case "<f4": dtype = .float32
        case "<f8": dtype = .float64
        case "<f2": dtype = .float16
        default: throw NumPyError.unsupportedDType(dict.descr)
        }
        return try Tensor(dtype: dtype, shape: dict.shape,
                          bytes: cOrderBytes(data, dict, dataStart: dataStart, itemSize: dtype.byteSize))
    }

    /// The array's data in C order (`Spec/reliability.md` N1): the file's own bytes for a C-order array (or any
    /// array of at most one dimension longer than 1), a transposed copy for a Fortran-order one. Checks first that
    /// shape × item size neither overflows nor differs from the data the file holds, and that the copy fits the
    /// memory budget (M1).
    static func cOrderBytes(_ data: Data, _ dict: NPYHeader, dataStart: Int, itemSize: Int) throws -> Data {
        guard let count = Tensor.elementCount(dict.shape) else { throw NumPyError.badHeader("shape \(dict.shape) overflows") }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw NumPyError.badHeader("shape \(dict.shape) overflows") }
        guard data.count - dataStart == byteCount else {
            throw NumPyError.dataLengthMismatch(shape: dict.shape, dtype: dict.descr, expected: byteCount, actual: data.count - dataStart)
        }
        let bytes = data[(data.startIndex + dataStart)...]
        // Fortran and C order lay out the same bytes when at most one dimension is longer than 1 (0-d, 1-d, 1×n).
        guard dict.fortranOrder, dict.shape.filter({ $0 > 1 }).count > 1 else { return bytes }
        try MemoryBudget.check(UInt64(byteCount), for: "Fortran-order array's C-order copy")
        var out = Data(count: byteCount)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                switch itemSize {
                case 1: transposeFortran(src, dst, dict.shape, UInt8.self)
                case 2: transposeFortran(src, dst, dict.shape, UInt16.self)
                case 4: transposeFortran(src, dst, dict.shape, UInt32.self)
                default: transposeFortran(src, dst, dict.shape, UInt64.self)
                }
            }
        }
        return out
    }

    /// Writes `src` (Fortran order: the first index varies fastest) into `dst` in C order (the last index varies
    /// fastest). Reads `src` in order and scatters into `dst`, one element at a time; no memory beyond `dst`.
    private static func transposeFortran<T: FixedWidthInteger>(_ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer,
                                            _ shape: [Int], _: T.Type) {
        let rank = shape.count
        // C-order strides (in elements) of each axis.
        var cStride = [Int](repeating: 1, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) { cStride[k] = cStride[k + 1] * shape[k + 1] }
        // The source may sit at any offset of the file (a hostile header length): unaligned loads.
        let d = dst.bindMemory(to: T.self), size = MemoryLayout<T>.size
        let count = d.count
        guard count > 0 else { return }
        var index = [Int](repeating: 0, count: rank)
        var target = 0  // C-order offset of `index`
        let d0 = shape[0], stride0 = cStride[0]
        var k = 0
        while k < count {
            // The first axis is contiguous in the source: one run of d0 elements at stride0 in the destination.
            var t = target
            for j in 0..<d0 { d[t] = src.loadUnaligned(fromByteOffset: (k + j) * size, as: T.self); t += stride0 }
            k += d0
            // Advance the odometer over axes 1 ..< rank.
            var axis = 1
            while axis < rank {
                index[axis] += 1
                target += cStride[axis]
                if index[axis] < shape[axis] { break }
                target -= cStride[axis] * shape[axis]
                index[axis] = 0
                axis += 1
            }
        }
    }

    /// Reads a `.npy` file as model inputs (`Spec/canonical-model.md` M17): float16/32/64 arrays as features,
    /// signed or unsigned 8/16/32/64-bit integer arrays as token ids. An integer array must be [batch, steps].
    public static func readModelInput(_ url: URL) throws -> ModelInput {
        try mapAndDecode(url, decodeModelInput)
    }

    /// See `readModelInput`.
    public static func decodeModelInput(_ data: Data) throws -> ModelInput {
        let (dict, dataStart) = try header(data)
        let kinds: [String: (size: Int, signed: Bool)] = [
            "|i1": (1, true), "<i2": (2, true), "<i4": (4, true), "<i8": (8, true),
            "|u1": (1, false), "<u2": (2, false), "<u4": (4, false), "<u8": (8, false),
        ]
        guard let kind = kinds[dict.descr] else { return .features(try decodeNPY(data)) }
        let bytes = try cOrderBytes(data, dict, dataStart: dataStart, itemSize: kind.size)
        let count = bytes.count / kind.size
        var ids = [Int64](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            guard let p = raw.baseAddress else { return }
            for k in 0..<count {
                var u: UInt64 = 0
                for j in 0..<kind.size { u |= UInt64(p.load(fromByteOffset: k * kind.size + j, as: UInt8.self)) << (8 * j) }
                if kind.signed, kind.size < 8, u & (1 << (8 * kind.size - 1)) != 0 { u |= ~0 << (8 * kind.size) }
                // An unsigned 64-bit id above Int64.max is out of every vocabulary: clamp so the range check names it.
                ids[k] = !kind.signed && kind.size == 8 && u > UInt64(Int64.max) ? Int64.max : Int64(bitPattern: u)
            }
        }
        return .tokens(try TokenIDs(shape: dict.shape, ids: ids))
    }

    public static func encodeNPY(_ tensor: Tensor) throws -> Data {
        let descr: String
        switch tensor.dtype {
        case .float32: descr = "<f4"
        case .float64: descr = "<f8"
        case .float16: descr = "<f2"
        case .bfloat16: throw NumPyError.unsupportedDType("bfloat16")
        }
        let shape: String
        switch tensor.shape.count {
        case 0: shape = "()"
        case 1: shape = "(\(tensor.shape[0]),)"
        default: shape = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        out.append(contentsOf: Array(header.utf8))
        out.append(tensor.bytes)
        return out
    }
}

/// The three keys of a `.npy` header dict.
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    /// Parses the dict literal numpy writes. Accepts any key order and whitespace; rejects anything else.
    static func parse(_ text: String) throws -> NPYHeader {
        var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard s.first == "{", s.last == "}" else { throw NumPyError.badHeader("header is not a dict literal") }
        s = s.dropFirst().dropLast()
        var descr: String?, fortran: Bool?, shape: [Int]?
        func skipSpaces() { while let c = s.first, c == " " || c == "," { s = s.dropFirst() } }
        func quoted() throws -> String {
            guard let q = s.first, q == "'" || q == "\"" else { throw NumPyError.badHeader("expected a quoted string") }
            s = s.dropFirst()
            guard let end = s.firstIndex(of: q) else { throw NumPyError.badHeader("unterminated string") }
            let v = String(s[..<end]); s = s[s.index(after: end)...]; return v
        }
        skipSpaces()
        while !s.isEmpty {
            let key = try quoted()
            while s.first == " " { s = s.dropFirst() }
            guard s.first == ":" else { throw NumPyError.badHeader("expected ':' after '\(key)'") }
            s = s.dropFirst()
            while s.first == " " { s = s.dropFirst() }
            switch key {
            case "descr": descr = try quoted()
            case "fortran_order":
                if s.hasPrefix("False") { fortran = false; s = s.dropFirst(5) }
                else if s.hasPrefix("True") { fortran = true; s = s.dropFirst(4) }
                else { throw NumPyError.badHeader("fortran_order is not True or False") }
            case "shape":
                guard s.first == "(", let close = s.firstIndex(of: ")") else { throw NumPyError.badHeader("shape is not a tuple") }
                let inner = s[s.index(after: s.startIndex)..<close]
                s = s[s.index(after: close)...]
                var dims: [Int] = []
                for part in inner.split(separator: ",") {
                    let p = part.trimmingCharacters(in: .whitespaces)
                    if p.isEmpty { continue }
                    guard let d = Int(p), d >= 0 else { throw NumPyError.badHeader("bad dimension '\(p)'") }
                    dims.append(d)
                }
                shape = dims
            default: throw NumPyError.badHeader("unexpected key '\(key)'")
            }
            skipSpaces()
        }
        guard let descr, let fortran, let shape else { throw NumPyError.badHeader("missing descr, fortran_order or shape") }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }
}

public enum NumPyError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case badMagic
    case unsupportedVersion(major: Int, minor: Int)
    case headerTooLarge(Int)
    case truncated(expected: Int, actual: Int)
    case badHeader(String)
    case unsupportedDType(String)
    case dataLengthMismatch(shape: [Int], dtype: String, expected: Int, actual: Int)
    case notAnArchive(String)
    case entryTooLarge(name: String, size: UInt64, limit: UInt64)
    case duplicateEntry(String)

    public var description: String {
        switch self {
        case .unreadable(let why): "cannot read: \(why)"
        case .badMagic: "not a .npy file (no \\x93NUMPY magic)"
        case .unsupportedVersion(let a, let b): ".npy format version \(a).\(b) is not supported (1.0 and 2.0 are)"
        case .headerTooLarge(let n): ".npy header of \(n) bytes is larger than the \(NumPy.maxHeaderLength)-byte limit"
        case .truncated(let e, let a): "truncated .npy file: need at least \(e) bytes, have \(a)"
        case .badHeader(let why): "bad .npy header: \(why)"
        case .unsupportedDType(let d): "dtype '\(d)' is not supported (little-endian float16, float32 or float64 only: '<f2', '<f4', '<f8')"
        case .dataLengthMismatch(let s, let d, let e, let a): "array of shape \(s) and dtype \(d) needs \(e) data bytes, the file has \(a)"
        case .notAnArchive(let why): "not a .npz archive: \(why)"
        case .entryTooLarge(let n, let s, let l): "entry \(n) is \(s) bytes; the archive's entries together may hold at most \(l) bytes (the memory budget)"
        case .duplicateEntry(let n): "entry \(n) appears twice"
        }
    }
}
