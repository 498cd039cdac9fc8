import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` P3b: the read path's replacements for Foundation calls that cost protocol-conformance
/// scans write exactly what those calls wrote.
@Suite struct StartupPathTests {
    /// P3b: `KerasModelBuilder.jsonArray` (the `keras.*` metadata lists) is byte for byte JSONSerialization's
    /// output, for every ASCII character (control characters, quote, backslash, slash) and some non-ASCII ones.
    @Test func ruleP3bKerasJSONArraysAreJSONSerializationsBytes() throws {
        let single = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) } + ["é", "\u{2028}", "😀", "a\u{0}b", ""]
        for list in [single, [], ["input_layer", "lstm", "dense"], ["a/b\\c\"d\te"]] + single.map({ [$0] }) {
            let reference = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
            #expect(KerasModelBuilder.jsonArray(list) == reference, "\(list)")
        }
    }

    /// P3b: the memory budget reads `LSTMFORMAT_MEMORY_BUDGET` itself (getenv), as ProcessInfo's dictionary did.
    @Test func ruleP3bTheMemoryBudgetReadsItsVariable() {
        let saved = getenv(MemoryBudget.variable).map { String(cString: $0) }
        defer { if let saved { setenv(MemoryBudget.variable, saved, 1) } else { unsetenv(MemoryBudget.variable) } }
        setenv(MemoryBudget.variable, "3M", 1)
        #expect(MemoryBudget.bytes == 3 << 20)
        unsetenv(MemoryBudget.variable)
        #expect(MemoryBudget.bytes == ProcessInfo.processInfo.physicalMemory / 2)
    }
}
