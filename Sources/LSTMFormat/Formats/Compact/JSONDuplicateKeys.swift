import Foundation

/// Finds a key repeated within one JSON object (`Spec/lstm-format.md`, L6). JSON parsers disagree on repeated
/// keys (Foundation keeps the first, Python the last), so a header with one could mean different models to
/// different readers; the reader rejects it before parsing. This scanner only follows strings and nesting; the
/// JSON parser that runs afterwards checks everything else.
enum JSONDuplicateKeys {
    private struct Level {
        var isObject: Bool
        var keys: Set<String> = []
        var expectingKey: Bool
    }

    /// The first repeated key, or nil.
    static func first(in bytes: Data) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            let b = raw.bindMemory(to: UInt8.self)
            var stack: [Level] = []
            var i = 0
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "{"): stack.append(Level(isObject: true, expectingKey: true))
                case UInt8(ascii: "["): stack.append(Level(isObject: false, expectingKey: false))
                case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
                case UInt8(ascii: ","): if let top = stack.indices.last, stack[top].isObject { stack[top].expectingKey = true }
                case UInt8(ascii: "\""):
                    // Only keys are decoded into strings; values are skipped.
                    guard let top = stack.indices.last, stack[top].isObject, stack[top].expectingKey else {
                        i = skipString(b, from: i + 1)
                        break
                    }
                    let (string, end) = readString(b, from: i + 1)
                    i = end
                    stack[top].expectingKey = false
                    if !stack[top].keys.insert(string).inserted { return string }
                default: break
                }
                i += 1
            }
            return nil
        }
    }

    /// The index of the closing quote of the string starting after an opening quote (or the end).
    private static func skipString(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
        return min(i, b.count)
    }

    /// The string starting after an opening quote, unescaped, and the index of its closing quote (or the end).
    private static func readString(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> (String, Int) {
        // Most keys have no escape: one UTF-8 decode of the bytes as they are.
        var end = start
        while end < b.count, b[end] != UInt8(ascii: "\""), b[end] != UInt8(ascii: "\\") { end += 1 }
        if end == b.count || b[end] == UInt8(ascii: "\"") {
            return (String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self), end)
        }
        var units: [UInt16] = []
        var run: [UInt8] = []
        var i = start
        func flush() {
            units.append(contentsOf: String(decoding: run, as: UTF8.self).utf16)
            run.removeAll()
        }
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            guard b[i] == UInt8(ascii: "\\"), i + 1 < b.count else { run.append(b[i]); i += 1; continue }
            flush()
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): units.append(0x08)
            case UInt8(ascii: "f"): units.append(0x0C)
            case UInt8(ascii: "n"): units.append(0x0A)
            case UInt8(ascii: "r"): units.append(0x0D)
            case UInt8(ascii: "t"): units.append(0x09)
            case UInt8(ascii: "u"):
                guard i + 4 <= b.count, let u = UInt16(String(decoding: UnsafeBufferPointer(rebasing: b[i..<(i + 4)]), as: UTF8.self), radix: 16)
                else { continue }  // invalid escape: the JSON parser rejects it
                units.append(u)
                i += 4
            default: units.append(UInt16(e))  // \" \\ \/
            }
        }
        flush()
        return (String(decoding: units, as: UTF16.self), i)
    }
}
