/// One numerical check of a `verify` or `compare` report. JSON keys are snake_case (README, "JSON output").
public struct CheckResult: Codable, Equatable, Sendable {
    /// "gradient_check", "outputs", "loss", "gradient lstm.0.fwd.W_f", "parameter dense.0.V", …
    public var name: String
    public var passed: Bool
    public var maxAbsError: Double
    public var maxRelError: Double
    /// Where the worst element is, e.g. "dense.0.V[3, 1]" or "outputs[0, 4, 2]"; nil when nothing differs.
    public var location: String?
    public var tolerance: Tolerance
    public var detail: String

    public init(name: String, passed: Bool, maxAbsError: Double, maxRelError: Double, location: String?, tolerance: Tolerance, detail: String) {
        self.name = name
        self.passed = passed
        self.maxAbsError = maxAbsError
        self.maxRelError = maxRelError
        self.location = location
        self.tolerance = tolerance
        self.detail = detail
    }

    /// A check from an elementwise array comparison.
    public init(name: String, subject: String, comparison c: ArrayComparison, tolerance: Tolerance) {
        let loc = c.maxAbsError == 0 ? nil : Self.location(subject, c.worstIndex)
        let detail = c.passed
            ? (c.maxAbsError == 0 ? "\(c.count) values bitwise equal" : "\(c.count) values within tolerance")
            : "\(c.mismatches) of \(c.count) values outside tolerance; worst \(c.worstActual) vs expected \(c.worstExpected)"
        self.init(name: name, passed: c.passed, maxAbsError: c.maxAbsError, maxRelError: c.maxRelError, location: loc, tolerance: tolerance, detail: detail)
    }

    enum CodingKeys: String, CodingKey { case name, passed, maxAbsError, maxRelError, location, tolerance, detail }

    /// Writes every key, `location` as null when nothing differs, so the JSON schema has a fixed set of keys.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(passed, forKey: .passed)
        try c.encode(maxAbsError, forKey: .maxAbsError)
        try c.encode(maxRelError, forKey: .maxRelError)
        try c.encode(location, forKey: .location)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(detail, forKey: .detail)
    }

    /// "name[i, j]" for an element of an array, or just "name" for a 0-d one.
    static func location(_ subject: String, _ index: [Int]) -> String {
        index.isEmpty ? subject : subject + "[" + index.map(String.init).joined(separator: ", ") + "]"
    }

    /// A pass/fail fact with no numbers (e.g. "architecture").
    public static func fact(_ name: String, passed: Bool, detail: String) -> CheckResult {
        CheckResult(name: name, passed: passed, maxAbsError: 0, maxRelError: 0, location: nil, tolerance: .exact, detail: detail)
    }
}

/// A list of checks; it passes when every check passes.
public struct CheckReport: Codable, Equatable, Sendable {
    public var command: String
    public var files: [String]
    public var precision: String
    public var checks: [CheckResult]
    public var passed: Bool { checks.allSatisfy(\.passed) }

    public init(command: String, files: [String], precision: String, checks: [CheckResult]) {
        self.command = command
        self.files = files
        self.precision = precision
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey { case command, files, precision, checks, passed }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(command, forKey: .command)
        try c.encode(files, forKey: .files)
        try c.encode(precision, forKey: .precision)
        try c.encode(checks, forKey: .checks)
        try c.encode(passed, forKey: .passed)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        command = try c.decode(String.self, forKey: .command)
        files = try c.decode([String].self, forKey: .files)
        precision = try c.decode(String.self, forKey: .precision)
        checks = try c.decode([CheckResult].self, forKey: .checks)
    }

    /// A short aligned table for people: per-tensor checks are folded into one row per kind ("parameters",
    /// "gradients") showing the worst tensor; every failing check is then listed with its detail.
    public func renderText() -> String {
        var table = TextTable(header: ["check", "result", "max abs err", "max rel err", "where", "tolerance"], rightAligned: [2, 3])
        for row in summaryRows() {
            let tol = row.tolerance
            table.add([row.name, row.passed ? "pass" : "FAIL", short(row.maxAbsError), short(row.maxRelError), row.location ?? "-", tol])
        }
        var out = table.render()
        let failed = checks.filter { !$0.passed }
        for c in failed.prefix(10) { out += "\n\(c.name): \(c.detail)" }
        if failed.count > 10 { out += "\n… and \(failed.count - 10) more failing checks (--json lists them all)" }
        let bases = Set(checks.map(\.tolerance.basis)).sorted()
        out += "\ntolerances: " + bases.joined(separator: "; ")
        out += "\n" + (passed ? "PASS" : "FAIL") + " (\(checks.count - failed.count) of \(checks.count) checks passed)"
        return out
    }

    struct SummaryRow {
        var name: String
        var passed: Bool
        var maxAbsError: Double
        var maxRelError: Double
        var location: String?
        var tolerance: String
    }

    /// Checks named "parameter X" or "gradient X" fold into one row per prefix; others stay as they are.
    func summaryRows() -> [SummaryRow] {
        var rows: [SummaryRow] = []
        var groupIndex: [String: Int] = [:]
        var groupWorst: [String: Double] = [:]
        for c in checks {
            let tol = c.tolerance.isExact ? "exact" : "rtol \(short(c.tolerance.rtol)) atol \(short(c.tolerance.atol))"
            let prefix = ["parameter ", "gradient "].first { c.name.hasPrefix($0) }
            guard let prefix else {
                rows.append(SummaryRow(name: c.name, passed: c.passed, maxAbsError: c.maxAbsError, maxRelError: c.maxRelError, location: c.location, tolerance: tol))
                continue
            }
            let group = prefix == "parameter " ? "parameters" : "gradients"
            let badness = (c.passed ? 0 : 1e300) + c.maxAbsError
            if let k = groupIndex[group] {
                rows[k].passed = rows[k].passed && c.passed
                rows[k].maxRelError = max(rows[k].maxRelError, c.maxRelError)
                if rows[k].tolerance != tol { rows[k].tolerance = "per tensor" }
                if badness > groupWorst[group]! {
                    groupWorst[group] = badness
                    rows[k].location = c.location
                }
                rows[k].maxAbsError = max(rows[k].maxAbsError, c.maxAbsError)
            } else {
                groupIndex[group] = rows.count
                groupWorst[group] = badness
                rows.append(SummaryRow(name: group, passed: c.passed, maxAbsError: c.maxAbsError, maxRelError: c.maxRelError, location: c.location, tolerance: tol))
            }
        }
        for (group, k) in groupIndex {
            let n = checks.filter { $0.name.hasPrefix(group == "parameters" ? "parameter " : "gradient ") }.count
            rows[k].name = "\(group) (\(n) tensors)"
        }
        return rows
    }

    private func short(_ x: Double) -> String {
        x == 0 ? "0" : String(format: "%.3g", x)
    }
}
