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

    // N1: numpy's Fortran-order files read as numpy reads them. Expected values are the generator's formulas
    // (scripts/make_numpy_fixtures.py), in C order.
    @Test func n1_fortranOrderArraysAreReadInCOrder() throws {
        let two = try NumPy.readNPY(FixturePaths.fixture("numpy/fortran_f4.npy"))
        #expect(two.shape == [2, 3] && two.float32Values() == [-1, -0.5, 0, 0.5, 1, 1.5])
        let three = try NumPy.readNPY(FixturePaths.fixture("numpy/fortran_f8_2x3x4.npy"))
        #expect(three.dtype == .float64 && three.shape == [2, 3, 4])
        #expect(three.float64Values() == (0..<24).map { Double($0) / 4 - 3 })
        let npz = try NumPy.readNPZ(FixturePaths.fixture("numpy/fortran.npz"))
        #expect(npz["b"] == three)
        // Model inputs: float features and integer token ids alike.
        #expect(try NumPy.readModelInput(FixturePaths.fixture("numpy/fortran_f8_2x3x4.npy")) == .features(three))
        let ids = try NumPy.readModelInput(FixturePaths.fixture("numpy/fortran_i4_2x3.npy"))
        #expect(ids == .tokens(try TokenIDs(shape: [2, 3], ids: [0, 2, 4, 1, 3, 5])))
    }

    @Test func n1_zeroAndOneDimensionalFortranArraysAreTheirBytes() throws {
        let one = try NumPy.readNPY(FixturePaths.fixture("numpy/fortran_1d_f4.npy"))
        #expect(one.shape == [3] && one.float32Values() == [1.5, -2, 0.25])
        let zero = try NumPy.readNPY(FixturePaths.fixture("numpy/fortran_0d_f8.npy"))
        #expect(zero.shape == [] && zero.float64Values() == [-6.5])
    }

    @Test func n1_fortranArraysKeepTheLengthAndOverflowChecks() throws {
        let original = try Data(contentsOf: FixturePaths.fixture("numpy/fortran_f8_2x3x4.npy"))
        #expect(throws: NumPyError.dataLengthMismatch(shape: [2, 3, 4], dtype: "<f8", expected: 192, actual: 184)) {
            try NumPy.decodeNPY(original.dropLast(8))
        }
        #expect(throws: NumPyError.dataLengthMismatch(shape: [2, 3, 4], dtype: "<f8", expected: 192, actual: 200)) {
            try NumPy.decodeNPY(original + Data(count: 8))
        }
        var header = "{'descr': '<f8', 'fortran_order': True, 'shape': (4294967296, 4294967296), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var hostile = Data(NumPy.magic + [1, 0, UInt8(header.utf8.count), 0])
        hostile.append(contentsOf: Array(header.utf8) + [UInt8](repeating: 0, count: 64))
        #expect(throws: NumPyError.badHeader("shape [4294967296, 4294967296] overflows")) { try NumPy.decodeNPY(hostile) }
        #expect(throws: NumPyError.badHeader("shape [4294967296, 4294967296] overflows")) { try NumPy.decodeModelInput(hostile) }
    }

    @Test(arguments: [
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
