import Foundation
import Testing
@testable import LSTMFormat

/// Every real PyTorch fixture imports, predicts what PyTorch predicts and has autograd's gradients
/// (`Spec/pytorch-mapping.md`, P-T1; P-M rules).
@Suite struct PyTorchFixtureTests {
    @Test func manifestIsPresent() {
        #expect(PyTorchFixture.all.count >= 6)
        #expect(PyTorchFixture.refused.count >= 6)
    }

    /// P-M2, P-M4: the architecture equals the module's, given `arch.json` or (for our own files) none.
    @Test(arguments: PyTorchFixture.readable)
    func importsWithTheArchitecture(_ fixture: PyTorchFixture) throws {
        let architecture = try fixture.architecture()
        for (kind, url) in fixture.modelFiles {
            let model = try FormatRegistry.read(url, options: ReadOptions(architecture: architecture)).model
                #expect(model.architecture == architecture, "\(fixture.id) \(kind)")
            #expect(model.metadata["source.tool"] == "pytorch")
        }
    }

    /// P-T1: forward within 1e-5 of PyTorch's predictions.
    @Test(arguments: PyTorchFixture.readable)
    func forwardMatchesPyTorch(_ fixture: PyTorchFixture) throws {
        let x = try NumPy.readNPY(fixture.file("x.npy")), y = try NumPy.readNPY(fixture.file("y.npy"))
        let architecture = try fixture.architecture()
        let files = fixture.modelFiles
        #expect(!files.isEmpty)
        for (kind, url) in files {
            let model = try FormatRegistry.read(url, options: ReadOptions(architecture: architecture)).model
            let got = try LSTMNumerics.forward(model, inputs: x, precision: .float32)
            #expect(got.shape == y.shape, "\(fixture.id) \(kind)")
            let c = ArrayComparison.compare(actual: got.float64Values(), expected: y.float64Values(), shape: y.shape,
                                            tolerance: Tolerance(rtol: 1e-5, atol: 1e-6, basis: "P-T1"))
            #expect(c.passed, "\(fixture.id) \(kind): max abs error \(c.maxAbsError), max relative error \(c.maxRelError)")
        }
    }

    /// P-T1: loss and gradients within 1e-4 of autograd; both PyTorch bias gradients equal the canonical one.
    @Test(arguments: PyTorchFixture.readable)
    func gradientsMatchAutograd(_ fixture: PyTorchFixture) throws {
        let x = try NumPy.readNPY(fixture.file("x.npy")), t = try NumPy.readNPY(fixture.file("t.npy"))
        let expected = try NumPy.readNPZ(fixture.file("expected.npz"))
        let (_, url) = try #require(fixture.modelFiles.first)
        let model = try FormatRegistry.read(url, options: ReadOptions(architecture: try fixture.architecture())).model
        let result = try LSTMNumerics.gradients(model, inputs: x, targets: t, precision: .float64)
        let loss = try #require(expected["loss"]).float64Values()[0]
        #expect(abs(result.loss - loss) <= 1e-4 * abs(loss) + 1e-9, "\(fixture.id): loss \(result.loss) vs \(loss)")
        var gradModel = try LSTMModel(architecture: model.architecture, tensors: result.gradients)
        gradModel.metadata[PyTorchStateDict.Key.sourceModules] = model.metadata[PyTorchStateDict.Key.sourceModules]
        let ours = Dictionary(uniqueKeysWithValues: try PyTorchStateDict.stateDict(gradModel).entries.map { ($0.name, $0.tensor) })
        // A bias=False module gets bias keys here (its bias gradient is not zero); the fixture's keys must all be there.
        #expect(Set(fixture.keys).isSubset(of: Set(ours.keys)), "\(fixture.id): keys \(ours.keys.sorted())")
        for key in fixture.keys {
            let want = try #require(expected["grad/\(key)"], "\(key)").float64Values()
            // The canonical b gradient is written as bias_ih; bias_hh's gradient is the same (P-T1).
            let got = try #require(key.contains("bias_hh") ? ours[key.replacingOccurrences(of: "bias_hh", with: "bias_ih")] : ours[key]).float64Values()
            let scale = want.map(abs).max() ?? 0
            let c = ArrayComparison.compare(actual: got, expected: want, shape: [want.count],
                                            tolerance: Tolerance(rtol: 1e-4, atol: 1e-6 * scale + 1e-9, basis: "P-T1"))
            #expect(c.passed, "\(fixture.id) grad \(key): max abs error \(c.maxAbsError), max relative error \(c.maxRelError)")
        }
    }

    /// P-S3, P-M2: float64, float16 and bfloat16 files keep their dtype and hold torch's roundings of the
    /// float32 weights (round to nearest-even, like `Tensor.converted`).
    @Test func dtypesAreKept() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "dtypes" })
        let architecture = try fixture.architecture()
        let reference = try FormatRegistry.read(fixture.file("float64.safetensors"), options: ReadOptions(architecture: architecture)).model
        for (file, dtype) in [("float16.safetensors", DType.float16), ("bfloat16.safetensors", .bfloat16)] {
            let model = try FormatRegistry.read(fixture.file(file), options: ReadOptions(architecture: architecture)).model
            #expect(model.dtypes == [dtype], "\(file)")
            for (name, t) in model.tensors where !name.contains(".b_") {
                #expect(t == reference.tensors[name]!.converted(to: dtype), "\(file) \(name)")
            }
        }
    }

    /// P-M4: without an architecture the reader infers one and says so; with a wrong one it refuses.
    @Test func inferenceNotesAndMismatchesRefuse() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "lstm_seq" })
        final class Box: @unchecked Sendable { var notes: [String] = [] }
        let box = Box()
        let model = try FormatRegistry.read(fixture.file("model.safetensors"), options: ReadOptions(warn: { box.notes.append($0) })).model
        #expect(model.architecture == (try fixture.architecture()))
        #expect(box.notes.count == 1 && box.notes[0].hasSuffix("; give the model's architecture"), "\(box.notes)")
        var wrong = try fixture.architecture()
        wrong.layers[0].gateActivation = .hardSigmoidKeras2
        let e = #expect(throws: FileError.self) { try FormatRegistry.read(fixture.file("model.safetensors"), options: ReadOptions(architecture: wrong)) }
        #expect(String(describing: e.map { $0 as Any } ?? "").contains("nn.LSTM computes sigmoid/tanh"))
    }

    /// P-M6, P-Z4, P-P2: nn.GRU and nn.RNN by name, legacy and TorchScript files, and a pickle that would run
    /// os.system are refused; nothing is run.
    @Test(arguments: PyTorchFixture.refused)
    func refusesOtherRecurrentModules(_ refusal: PyTorchFixture.Refusal) throws {
        let e = #expect(throws: FileError.self) { try FormatRegistry.read(refusal.url) }
        #expect(String(describing: e.map { $0 as Any } ?? "").contains(refusal.reason), "\(String(describing: e))")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/lstm-format-pwned"))
    }
}
