import Foundation

/// How deeply JSON text nests (`Spec/reliability.md`, E1). Foundation's parsers stop at 512 levels with a
/// generic "not valid JSON"; readers check the depth first so the message names the real cause.
enum JSONDepth {
    /// The deepest level Foundation's JSON parsers accept.
    static let limit = 512

    /// Whether `bytes` nests objects and arrays more than `limit` deep (strings are skipped, escapes included).
    static func exceedsLimit(_ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { raw in
            var depth = 0, inString = false, escaped = false
            for byte in raw {
                if inString {
                    if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if depth > limit { return true }
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
            }
            return false
        }
    }

    static let message = "nested too deeply (more than \(limit) levels of objects and arrays)"
}
