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
