import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/canonical-model.md` M18: which steps a mask value masks is decided in the model's compute dtype, as Keras
/// decides it, not in the input file's dtype. Real Keras 3.15.1 and tf_keras 2.21.0 models and predictions from
/// scripts/keras_mask_dtype_fixtures.py (Fixtures/keras-masking/dtype): Masking(0.1) → LSTM(4), float32 and float64
/// models, inputs as float64, float32 and float16 files with padded steps of 0.1, 0.1 + 1e-12, float32(0.1) and
/// float16(0.1).
@Suite struct KerasMaskDTypeTests {
    static func url(_ name: String) -> URL { FixturePaths.fixture("keras-masking/dtype/\(name)") }

    /// (model file, input, Keras's output for it): every float32 case from `predict`; the float64 model on the
    /// float64 file from a direct call (Keras 3's `predict` rounds float64 inputs to float32 first).
    static let cases: [(model: String, input: String, expected: String)] =
        ["x64", "x32", "x16"].flatMap { x in
            [("model_f32.keras", x, "y_f32_\(x).npy"), ("model_f32.h5", x, "y_f32h5_\(x).npy")]
        } + [("model_f64.keras", "x32", "y_f64_x32.npy"), ("model_f64.keras", "x16", "y_f64_x16.npy"),
             ("model_f64.keras", "x64", "yc_f64_x64.npy")]

    @Test(arguments: Precision.allCases, 0..<cases.count)
    func M18_masksAsKerasDoesWhateverTheInputDType(_ precision: Precision, _ k: Int) throws {
        let c = Self.cases[k]
        let model = try FormatRegistry.read(Self.url(c.model)).model
        let input = try NumPy.readModelInput(Self.url("\(c.input).npy"))
        let expected = try NumPy.readNPY(Self.url(c.expected)).float64Values()
        let y = try LSTMNumerics.forward(model, input: input, precision: precision).float64Values()
        #expect(y.count == expected.count)
        // A step masked on one side only moves its outputs by 1e-2 or more here; float32 arithmetic, 1e-6.
        let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-5, "\(c.model) on \(c.input) in \(precision): max |Δ| \(worst)")
    }

    /// The rule itself on the float64 file: a float32 model masks the three steps that are float32(0.1) once
    /// rounded (0.1, 0.1 + 1e-12, float32(0.1) widened), a float64 model only float32(0.1) widened; float16(0.1)
    /// is masked by neither.
    @Test func M18_theComparisonDTypeIsTheModels() throws {
        let input = try NumPy.readModelInput(Self.url("x64.npy"))
        let f32 = try FormatRegistry.read(Self.url("model_f32.keras")).model
        let f64 = try FormatRegistry.read(Self.url("model_f64.keras")).model
        #expect(f32.maskComparisonDType == .float32 && f64.maskComparisonDType == .float64)
        let steps = 5
        func masked(_ m: LSTMModel) -> [Int] {
            (input.maskedSteps(m.architecture, dtype: m.maskComparisonDType) ?? []).enumerated().filter(\.element).map(\.offset)
        }
        #expect(masked(f32) == [1, 2, steps + 3])
        #expect(masked(f64) == [steps + 3])
    }
}
