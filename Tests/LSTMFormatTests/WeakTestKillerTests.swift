import Foundation
import Testing
@testable import LSTMFormat

/// Tests for checks a review could remove or invert with the whole suite staying green (issue 12, "Tests that
/// fail when the code is wrong"). Each asserts the specific refusal or choice, and was seen to fail with the
/// code broken.
@Suite struct WeakTestKillerTests {
    static let model = RandomModels.make(architecture: RandomModels.architecture(), seed: 12)

    /// M13: a tensor the architecture does not name is refused, not carried along.
    @Test func M13_anExtraTensorIsRefused() throws {
        var tensors = Self.model.tensors
        tensors["lstm.0.fwd.W_x"] = Tensor(shape: [1], float32: [1])
        #expect(throws: ModelError.unexpectedTensor("lstm.0.fwd.W_x")) {
            _ = try LSTMModel(architecture: Self.model.architecture, tensors: tensors, metadata: [:])
        }
    }

    /// H10: metadata HDF5 cannot store (an empty key, NUL in a key or a value) is refused by the writer.
    @Test(arguments: [("", "v", "HDF5 attribute names cannot be empty"), ("a\u{0}b", "v", "the key contains a NUL character"),
                      ("k", "x\u{0}y", "the value contains a NUL character")])
    func H10_unstorableMetadataIsRefused(key: String, value: String, reason: String) throws {
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let m = try LSTMModel(architecture: Self.model.architecture, tensors: Self.model.tensors, metadata: [key: value])
        let url = folder.appendingPathComponent("m.h5")
        let error = #expect(throws: FileError.self) { try FormatRegistry.write(m, to: url, format: CanonicalHDF5Format.self) }
        guard case .unstorableMetadata(let k, let r)? = error?.underlying as? CanonicalHDF5Error else {
            Issue.record("expected unstorableMetadata, got \(String(describing: error))"); return
        }
        #expect(k == key)
        #expect(r == reason)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    /// The verifier's finite_parameters check fails on a NaN and names its place; passes when all are finite.
    @Test func finiteParametersFailsOnANaNAndNamesIt() throws {
        let good = Verifier.finiteParameters(Self.model)
        #expect(good.passed)
        var values = Self.model.tensors["lstm.0.fwd.U_c"]!.float64Values()
        values[5] = .nan
        let shape = Self.model.tensors["lstm.0.fwd.U_c"]!.shape
        let bad = try Self.model.replacing(["lstm.0.fwd.U_c": Tensor(shape: shape, values: values, dtype: .float32)])
        let check = Verifier.finiteParameters(bad)
        #expect(!check.passed)
        #expect(check.detail == "\(CheckResult.location("lstm.0.fwd.U_c", Tensor.index(ofFlat: 5, shape: shape))) is not finite")
    }

    /// The summary's worst location is the element furthest outside the tolerance (largest |a − e| / allowed),
    /// not the closest and not the largest absolute error.
    @Test func worstLocationIsTheFurthestOutsideTheTolerance() {
        let tolerance = Tolerance(rtol: 0.1, atol: 0, basis: "test")
        // diff / allowed: 0.5/10, 0.3/0.1, 0, 0.05/0.1: element 1 is worst; element 0 has the largest abs error.
        let c = ArrayComparison.compare(actual: [100.5, 1.3, 2, 1.05], expected: [100, 1, 2, 1], shape: [2, 2], tolerance: tolerance)
        #expect(c.worstIndex == [0, 1])
        #expect(c.worstActual == 1.3 && c.worstExpected == 1)
        #expect(c.mismatches == 1)
        #expect(!c.passed)
    }
}
