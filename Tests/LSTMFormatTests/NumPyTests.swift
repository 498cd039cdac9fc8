import Foundation
import Testing
@testable import LSTMFormat

/// Files under Fixtures/numpy are written by numpy itself (scripts/make_numpy_fixtures.py).
@Suite struct NumPyTests {
    @Test func readsVersion1Float32() throws {
        let t = try NumPy.readNPY(FixturePaths.fixture("numpy/v1_f4_2x3.npy"))
        #expect(t.dtype == .float32)
        #expect(t.shape == [2, 3])
        #expect(t.float32Values() == [-1, -0.5, 0, 0.5, 1, 1.5])
    }

    @Test func readsVersion2Float64() throws {
        let t = try NumPy.readNPY(FixturePaths.fixture("numpy/v2_f8_3.npy"))
        #expect(t.dtype == .float64)
        #expect(t.shape == [3])
        #expect(t.float64Values() == [1.0, 2.5, -3.25])
    }

    @Test func readsFloat16AndScalars() throws {
        let h = try NumPy.readNPY(FixturePaths.fixture("numpy/v1_f2_2.npy"))
        #expect(h.dtype == .float16 && h.float64Values() == [0.5, -2.0])
        let s = try NumPy.readNPY(FixturePaths.fixture("numpy/scalar_f8.npy"))
        #expect(s.shape == [] && s.float64Values() == [7.5])
    }

    @Test(arguments: [
        ("fortran_f4.npy", "Fortran-order"),
        ("big_endian_f4.npy", "'>f4' is not supported"),
        ("int32.npy", "'<i4' is not supported"),
    ])
    func refusesUnsupportedArrays(file: String, message: String) {
        let url = FixturePaths.fixture("numpy/\(file)")
        do {
            _ = try NumPy.readNPY(url)
            Issue.record("\(file) was accepted")
        } catch {
            let text = String(describing: error)
            #expect(text.contains(message), "\(text)")
            #expect(text.hasPrefix(url.path), "the message names the file: \(text)")
        }
    }

    @Test func roundTripIsByteExactAndNumpyShaped() throws {
        let original = try Data(contentsOf: FixturePaths.fixture("numpy/v1_f4_2x3.npy"))
        let tensor = try NumPy.decodeNPY(original)
        // numpy 2.x writes the same header we do for a version 1.0 C-order float32 array.
        #expect(try NumPy.encodeNPY(tensor) == original)
    }

    @Test func readsNumpySavezStoredAndCompressed() throws {
        let stored = try NumPy.readNPZ(FixturePaths.fixture("numpy/stored.npz"))
        #expect(Set(stored.keys) == ["x", "loss"])
        #expect(stored["x"]?.float32Values() == [-1, -0.5, 0, 0.5, 1, 1.5])
        #expect(stored["loss"]?.shape == [] && stored["loss"]?.float64Values() == [0.25])
        let compressed = try NumPy.readNPZ(FixturePaths.fixture("numpy/compressed.npz"))
        #expect(compressed["y"]?.float64Values() == [0, 1, 2])
    }

    @Test func writtenNpzReadsBackAndIsDeterministic() throws {
        let dir = try FixturePaths.temporaryFolder()
        let arrays: [(name: String, tensor: Tensor)] = [
            ("lstm.0.fwd.W_f", Tensor(shape: [2, 2], float32: [1, 2, 3, 4])),
            ("loss", Tensor(shape: [], float64: [0.125])),
        ]
        let a = dir.appendingPathComponent("a.npz"), b = dir.appendingPathComponent("b.npz")
        try NumPy.writeNPZ(arrays, to: a)
        try NumPy.writeNPZ(arrays, to: b)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        let back = try NumPy.readNPZ(a)
        #expect(back["lstm.0.fwd.W_f"] == arrays[0].tensor)
        #expect(back["loss"] == arrays[1].tensor)
    }

    @Test func truncatedDataIsRejected() throws {
        let original = try Data(contentsOf: FixturePaths.fixture("numpy/v1_f4_2x3.npy"))
        #expect(throws: NumPyError.dataLengthMismatch(shape: [2, 3], dtype: "<f4", expected: 24, actual: 20)) {
            try NumPy.decodeNPY(original.dropLast(4))
        }
        #expect(throws: NumPyError.badMagic) { try NumPy.decodeNPY(Data("hello world!".utf8)) }
    }
}
