import Foundation
import Testing
@testable import LSTMFormat

/// Every real Keras fixture imports with the manifest's architecture, Keras's own weights, Keras's predictions
/// and TF's gradients (`Spec/keras-mapping.md`, K-T1 … K-T4).
@Suite struct KerasFixtureTests {
    @Test func manifestIsPresent() {
        #expect(KerasFixture.accepted.count >= 20)
        #expect(KerasFixture.refused.count >= 5)
    }

    /// K-T1: the architecture equals the one Keras's config describes (manifest), whatever file kind is read.
    @Test(arguments: KerasFixture.accepted)
    func importsArchitecture(_ fixture: KerasFixture) throws {
        for (kind, url, options) in try fixture.readings() {
            let (model, format) = try FormatRegistry.read(url, options: options)
            #expect(model.architecture == fixture.architecture, "\(fixture.id) \(kind) via \(format.name)")
            let keras3Weights = kind == "weights_v3_h5" || (kind == "weights_h5" && fixture.writer == "keras3")
            let expectedFormat = kind == "keras" ? "keras" : keras3Weights ? "keras-weights" : "keras-h5"
            #expect(format.name == expectedFormat, "\(fixture.id) \(kind)")
            #expect(model.metadata["source.format"] == expectedFormat)
            #expect(model.metadata["source.tool"] == (fixture.writer == "keras3" ? "keras" : "tf_keras"), "\(fixture.id) \(kind)")
        }
    }

    /// K-T2: mapping the canonical tensors back to Keras's layout gives exactly Keras's get_weights() arrays.
    @Test(arguments: KerasFixture.accepted)
    func weightsEqualGetWeights(_ fixture: KerasFixture) throws {
        let expected = try NumPy.readNPZ(#require(fixture.file(fixture.expected)))
        let names = try #require(fixture.layers).map(\.name).filter { expected["weights/\(KerasFixture.npzName($0))/0"] != nil }
        for (kind, url, options) in try fixture.readings() {
            let model = try FormatRegistry.read(url, options: options).model
            let arrays = KerasWeightMapping.kerasWeights(model)
            #expect(arrays.count == names.count, "\(fixture.id) \(kind)")
            for (name, layerArrays) in zip(names, arrays) {
                for (i, got) in layerArrays.enumerated() {
                    guard let want = expected["weights/\(KerasFixture.npzName(name))/\(i)"] else {
                        // use_bias=False: Keras has no bias array; the canonical bias is zero (M14).
                        #expect(got.float64Values().allSatisfy { $0 == 0 }, "\(fixture.id) \(kind) \(name)/\(i)")
                        continue
                    }
                    #expect(got.shape == want.shape, "\(fixture.id) \(kind) \(name)/\(i)")
                    #expect(got.float64Values() == want.float64Values(), "\(fixture.id) \(kind) \(name)/\(i)")
                }
            }
        }
    }

    /// K-T3: the forward pass in float32 matches Keras's predictions to a relative error of 1e-5.
    @Test(arguments: KerasFixture.accepted)
    func forwardMatchesKeras(_ fixture: KerasFixture) throws {
        let x = try NumPy.readNPY(#require(fixture.file(fixture.inputs)))
        let y = try NumPy.readNPY(#require(fixture.file(fixture.outputs)))
        for (kind, url, options) in try fixture.readings() {
            let model = try FormatRegistry.read(url, options: options).model
            let got = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
            #expect(got.shape == y.shape, "\(fixture.id) \(kind)")
            let c = ArrayComparison.compare(actual: got.float64Values(), expected: y.float64Values(), shape: y.shape,
                                            tolerance: Tolerance(rtol: 1e-5, atol: 1e-6, basis: "K-T3"))
            #expect(c.passed, "\(fixture.id) \(kind): max abs error \(c.maxAbsError), max relative error \(c.maxRelError) at \(c.worstIndex)")
            print("keras-fidelity outputs \(fixture.id) \(kind) max_abs=\(c.maxAbsError) max_rel=\(c.maxRelError)")
        }
    }

    /// K-T4: the loss and the gradients (mapped to Keras's layout) match TF's to 1e-4.
    @Test(arguments: KerasFixture.accepted)
    func gradientsMatchTensorFlow(_ fixture: KerasFixture) throws {
        let x = try NumPy.readNPY(#require(fixture.file(fixture.inputs)))
        let t = try NumPy.readNPY(#require(fixture.file(fixture.targets)))
        let expected = try NumPy.readNPZ(#require(fixture.file(fixture.expected)))
        let names = try #require(fixture.layers).map(\.name).filter { expected["grad/\(KerasFixture.npzName($0))/0"] != nil }
        let (_, url, options) = try #require(try fixture.readings().first)
        let model = try FormatRegistry.read(url, options: options).model
        let result = try LSTMNumerics.gradients(model, inputs: x, targets: t, precision: .float64)
        let loss = try #require(expected["loss"]).float64Values()[0]
        #expect(abs(result.loss - loss) <= 1e-4 * abs(loss) + 1e-9, "\(fixture.id): loss \(result.loss) vs \(loss)")
        let gradModel = try LSTMModel(architecture: model.architecture, tensors: result.gradients)
        for (name, arrays) in zip(names, KerasWeightMapping.kerasWeights(gradModel)) {
            for (i, got) in arrays.enumerated() {
                guard let wantTensor = expected["grad/\(KerasFixture.npzName(name))/\(i)"] else { continue }  // no bias in Keras
                let want = wantTensor.float64Values()
                let scale = want.map(abs).max() ?? 0
                let c = ArrayComparison.compare(actual: got.float64Values(), expected: want, shape: got.shape,
                                                tolerance: Tolerance(rtol: 1e-4, atol: 1e-4 * scale * 1e-2 + 1e-9, basis: "K-T4"))
                #expect(c.passed, "\(fixture.id) grad \(name)/\(i): max abs error \(c.maxAbsError), max relative error \(c.maxRelError)")
                print("keras-fidelity gradient \(fixture.id) \(name)/\(i) max_abs=\(c.maxAbsError) max_rel=\(c.maxRelError)")
            }
        }
    }

    /// K-C1, K-C2, K-C3: unsupported layers, options and graphs are refused naming the layer and its class.
    @Test(arguments: KerasFixture.refused)
    func refusesUnsupported(_ fixture: KerasFixture) throws {
        let refusal = try #require(fixture.refuse)
        for (kind, url, options) in try fixture.readings() {
            do {
                _ = try FormatRegistry.read(url, options: options)
                Issue.record("\(fixture.id) \(kind) was read, expected a refusal of \(refusal.layer)")
            } catch {
                let message = String(describing: error)
                #expect(message.contains("'\(refusal.layer)'"), "\(fixture.id) \(kind): \(message)")
                #expect(message.contains(refusal.class) || message.contains("unknown activation"), "\(fixture.id) \(kind): \(message)")
            }
        }
    }
}
