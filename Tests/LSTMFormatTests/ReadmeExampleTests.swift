import Foundation
import Testing
import LSTMFormat  // not @testable: the README example uses only public API

/// The README's "As a Swift library" example, on a shipped fixture, so the documented API keeps compiling and
/// doing what the README says.
@Suite struct ReadmeExampleTests {
    @Test func libraryExampleRuns() throws {
        let fixture = FixturePaths.fixture("keras/k3_functional_chain")
        let (model, format) = try FormatRegistry.read(fixture.appendingPathComponent("model.keras"))
        #expect(format.name == "keras")
        #expect(model.architecture.layers.count == 1 && model.parameterCount == 151)
        let W_f = try #require(model.tensors["lstm.0.fwd.W_f"])
        #expect(W_f.shape == [4, 3])
        let dir = try FixturePaths.temporaryFolder()
        try FormatRegistry.write(model.converted(to: .float16), to: dir.appendingPathComponent("model.lstm"))
        #expect(try FormatRegistry.read(dir.appendingPathComponent("model.lstm")).model.dtypes == [.float16])

        let x = try NumPy.readNPY(fixture.appendingPathComponent("x.npy"))
        let y = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
        #expect(y.shape == [x.shape[0], 2])
        let report = try Comparer.compare(model, model.converted(to: .float16), files: ["a", "b"], inputs: nil,
                                          precision: .float64, tolerance: nil)
        #expect(report.passed)
        #expect(report.renderText().hasSuffix("PASS (35 of 35 checks passed)"))
    }
}

/// The README's `inspect --json` example shows the keys in the order the command prints them (sorted), so a
/// reader comparing the two sees the same document (issue 12).
@Suite struct ReadmeJSONExampleTests {
    /// The keys of every JSON object in `text` in their order, by path ("" the root, "/architecture",
    /// "/architecture/layers[]"); of an array only the first element. Tolerates the README's "…" elisions.
    static func keyOrder(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var stack: [(path: String, isObject: Bool, skip: Bool, elements: Int)] = []
        var pendingKey = "?"
        let c = Array(text.unicodeScalars)
        var i = 0
        while i < c.count {
            switch c[i] {
            case "\"":
                var j = i + 1, s = ""
                while j < c.count, c[j] != "\"" {
                    if c[j] == "\\" { j += 1 }
                    if j < c.count { s.unicodeScalars.append(c[j]) }
                    j += 1
                }
                i = j + 1
                var k = i
                while k < c.count, c[k] == " " || c[k] == "\n" { k += 1 }
                if k < c.count, c[k] == ":", let top = stack.last, top.isObject {
                    if !top.skip { out[top.path, default: []].append(s) }
                    pendingKey = s
                }
                continue
            case "{", "[":
                var path = "", skip = false
                if let parent = stack.last {
                    if parent.isObject {
                        path = parent.path + "/" + pendingKey
                        skip = parent.skip
                    } else {
                        path = parent.path + "[]"
                        skip = parent.skip || parent.elements > 0
                        stack[stack.count - 1].elements += 1
                    }
                }
                stack.append((path, c[i] == "{", skip, 0))
            case "}", "]":
                if !stack.isEmpty { stack.removeLast() }
            default: break
            }
            i += 1
        }
        return out
    }

    /// The README's JSON block after `intro`, as keys by object.
    static func example(after intro: String) throws -> [String: [String]] {
        let readme = try String(contentsOf: FixturePaths.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: intro + "\n\n```json\n"))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        return keyOrder(String(readme[start.upperBound..<end.lowerBound]))
    }

    /// Every README object is in the output, with its keys in the output's order.
    static func expectSameOrder(_ example: [String: [String]], _ actual: [String: [String]], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(example.count >= 3, "\(example)", sourceLocation: sourceLocation)
        for (path, keys) in example.sorted(by: { $0.key < $1.key }) {
            let printed = try #require(actual[path], "README object \(path) is not in the output", sourceLocation: sourceLocation)
            #expect(Set(keys).isSubset(of: printed), "\(path): README keys \(keys), output \(printed)", sourceLocation: sourceLocation)
            #expect(keys == printed.filter(Set(keys).contains), "\(path): README order \(keys), output order \(printed)", sourceLocation: sourceLocation)
        }
    }

    @Test func inspectAndCompareJSONExamplesHaveTheOutputsKeyOrder() throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keras = FixturePaths.fixture("keras/k3_functional_chain/model.keras").path
        let m = folder.appendingPathComponent("m.lstm").path
        #expect(try CLI.run(["convert", keras, m]).status == 0)
        let inspect = try CLI.run(["inspect", "--json", m])
        try #require(inspect.status == 0)
        try Self.expectSameOrder(try Self.example(after: "`inspect --json`:"), Self.keyOrder(inspect.stdout))
        let compare = try CLI.run(["compare", keras, m, "--json"])
        try #require(compare.status == 0)
        try Self.expectSameOrder(try Self.example(after: "`verify --json` and `compare --json`:"), Self.keyOrder(compare.stdout))
    }
}
