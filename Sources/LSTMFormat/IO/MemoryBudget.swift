import Foundation

/// How many bytes a reader or the verifier may allocate for one model (`Spec/reliability.md`, M1).
///
/// Half the physical memory, or `LSTMFORMAT_MEMORY_BUDGET` (bytes, with an optional K, M, G or T suffix, powers
/// of 1024). A file declaring more is refused before anything is allocated, so a tiny file that declares
/// gigabytes never makes the tool allocate them.
public enum MemoryBudget {
    public static var bytes: UInt64 {
        // getenv, not ProcessInfo's environment, which builds a dictionary of every variable on each call (a third
        // of a million instructions, twice per read: Spec/reliability.md P3).
        if let s = getenv(variable).map({ String(cString: $0) }), let v = parse(s) { return v }
        return ProcessInfo.processInfo.physicalMemory / 2
    }

    /// The environment variable that sets the budget. The command line refuses a value `parse` does not take
    /// (`Spec/reliability.md`, U2); the library then uses the default.
    public static let variable = "LSTMFORMAT_MEMORY_BUDGET"

    /// Parses "123", "512M", "8G" (powers of 1024); nil for anything else.
    public static func parse(_ text: String) -> UInt64? {
        let s = text.trimmingCharacters(in: .whitespaces).uppercased()
        let shifts: [Character: UInt64] = ["K": 10, "M": 20, "G": 30, "T": 40]
        if let last = s.last, let shift = shifts[last], let v = UInt64(s.dropLast()) {
            let (r, o) = v.multipliedReportingOverflow(by: 1 << shift)
            return o ? nil : r
        }
        return UInt64(s)
    }

    /// Throws `MemoryBudgetError.exceeded` when `bytes` (nil: overflowed while counting) is over the budget.
    public static func check(_ bytes: UInt64?, for what: String) throws {
        let budget = self.bytes
        guard let bytes, bytes <= budget else { throw MemoryBudgetError.exceeded(what: what, bytes: bytes, budget: budget) }
    }

    /// The bytes of tensors with these shapes and element size (nil on overflow).
    public static func bytes(shapes: [[Int]], elementSize: Int) -> UInt64? {
        var total: UInt64 = 0
        for shape in shapes {
            var n = UInt64(elementSize)
            for d in shape {
                guard d >= 0 else { return nil }
                let (m, o) = n.multipliedReportingOverflow(by: UInt64(d))
                guard !o else { return nil }
                n = m
            }
            let (t, o) = total.addingReportingOverflow(n)
            guard !o else { return nil }
            total = t
        }
        return total
    }
}

public enum MemoryBudgetError: Error, CustomStringConvertible, Equatable, Sendable {
    case exceeded(what: String, bytes: UInt64?, budget: UInt64)

    public var description: String {
        switch self {
        case .exceeded(let what, let bytes, let budget):
            let needs = bytes.map { "needs \(Self.gib($0))" } ?? "needs more than 2^64 bytes"
            return "this \(what) \(needs), more than the memory budget of \(Self.gib(budget)) (set LSTMFORMAT_MEMORY_BUDGET to change it)"
        }
    }

    /// GiB with two decimals (a whole number from 10 GiB); below 0.01 GiB in MiB, and below 1 MiB in bytes, so a
    /// small budget never reads "0.00 GiB".
    static func gib(_ bytes: UInt64) -> String {
        let g = Double(bytes) / Double(1 << 30)
        if g >= 10 { return "\(Int(g.rounded())) GiB" }
        if g >= 0.01 { return String(format: "%.2f GiB", g) }
        return bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) : "\(bytes) bytes"
    }
}
