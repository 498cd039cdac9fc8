import Foundation
import Testing
@testable import LSTMFormat

/// The internal libhdf5 layer, against a file made by h5py (`scripts/make_hdf5_layer_fixture.py`) and by
/// writing and reading back.
@Suite struct HDF5LayerTests {
    static let h5pyFixture = FixturePaths.fixture("hdf5/h5py-layer.h5")

    static func temporaryURL(_ name: String) -> URL {
        FixturePaths.temporaryRoot.appendingPathComponent("hdf5-layer-\(UUID().uuidString)-\(name)")
    }

    @Test func readsH5pyStringAndIntegerAttributes() throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        #expect(try file.stringAttribute("/", "vlen") == "h\u{e9}llo")
        #expect(try file.stringAttribute("/", "fixed") == "abc")
        #expect(try file.stringAttribute("/", "one") == "only")
        #expect(try file.stringArrayAttribute("/", "layer_names") == ["lstm", "dense_1"])
        #expect(try file.stringArrayAttribute("/", "vlen_names") == ["a", "b\u{e9}"])
        #expect(try file.intAttribute("/", "n32") == 7)
        #expect(try file.intAttribute("/", "n64") == -1234567890123)
        #expect(try file.intAttribute("/g/sub", "k") == 3)
        #expect(try file.stringAttribute("/", "absent") == nil)
        #expect(try file.intAttribute("/", "absent") == nil)
        #expect(try file.attributeNames("/") == ["fixed", "layer_names", "n32", "n64", "one", "real", "vlen", "vlen_names"])
        #expect(try file.attributeNames("/bf16") == ["dtype"])
    }

    @Test func wrongAttributeTypesAreErrorsNamingTheAttribute() throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        let notString = #expect(throws: HDF5Error.self) { try file.stringAttribute("/", "real") }
        #expect(notString?.description == "/ attribute 'real': read string attribute failed: the attribute holds 64-bit float, not strings")
        let notInt = #expect(throws: HDF5Error.self) { try file.intAttribute("/", "vlen") }
        #expect(notInt?.attribute == "vlen")
        let notScalar = #expect(throws: HDF5Error.self) { try file.stringAttribute("/", "layer_names") }
        #expect(notScalar?.detail == "expected one string, found 2")
    }

    @Test func navigatesH5pyGroups() throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        #expect(try file.childNames("/") == ["bf16", "f16", "f16be", "f32", "f64be", "g", "gz", "i32", "scalar", "u16"])
        #expect(try file.childNames("/g") == ["sub"])
        #expect(file.exists("/") && file.isGroup("/"))
        #expect(file.isGroup("/g/sub") && !file.isDataset("/g/sub"))
        #expect(file.isDataset("/f32") && !file.isGroup("/f32"))
        #expect(!file.exists("/g/missing/deeper"))
        #expect(!file.exists("/f32/inside"))
        #expect(!file.exists("/nope"))
        let error = #expect(throws: HDF5Error.self) { try file.childNames("/nope") }
        #expect(error?.call == "H5Gopen2")
        #expect(error?.path == "/nope")
        #expect(error?.detail.contains("doesn't exist") == true)
    }

    @Test func readsH5pyDatasetsOfEveryDtype() throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        let f32 = try file.readTensor("/f32")
        #expect(f32.dtype == .float32 && f32.shape == [2, 3])
        #expect(f32.float32Values() == [0.5, 1, 1.5, 2, 2.5, 3])
        let f64 = try file.readTensor("/f64be")
        #expect(f64.dtype == .float64 && f64.float64Values() == [0.25, -1.5, 1e300])
        let f16 = try file.readTensor("/f16")
        #expect(f16.dtype == .float16 && f16.shape == [2, 2])
        #expect(Tensor.decode(f16.bytes, as: UInt16.self) == [0x3C00, 0xC000, 0x3800, 0x7BFF])
        let f16be = try file.readTensor("/f16be")
        #expect(f16be.dtype == .float16 && f16be.float64Values() == [3, -0.25])
        let bf16 = try file.readTensor("/bf16")
        #expect(bf16.dtype == .bfloat16 && Tensor.decode(bf16.bytes, as: UInt16.self) == [0x3F80, 0xC000, 0x3F00])
        let scalar = try file.readTensor("/scalar")
        #expect(scalar.shape == [] && scalar.float32Values() == [2.5])
        #expect(try file.datasetShape("/scalar") == [])
        let gz = try file.readTensor("/gz")
        #expect(gz.shape == [3, 4] && gz.float32Values() == (0..<12).map(Float.init))
    }

    @Test(arguments: [("/i32", "32-bit signed integer"), ("/u16", "16-bit unsigned integer")])
    func unsupportedDatasetTypesAreErrorsNamingPathAndType(path: String, type: String) throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        let error = #expect(throws: HDF5Error.self) { try file.readTensor(path) }
        #expect(error?.path == path)
        #expect(error?.detail.hasPrefix("unsupported dataset type \(type)") == true)
    }

    @Test func failedCallsCarryCallPathAndStackOnOneLine() throws {
        let missing = Self.temporaryURL("missing.h5")
        let openError = #expect(throws: HDF5Error.self) { try HDF5File.open(missing) }
        #expect(openError?.call == "H5Fopen")
        #expect(openError?.path == missing.path)
        #expect(openError?.detail.contains("unable to open file") == true)
        let file = try HDF5File.open(Self.h5pyFixture)
        let readError = #expect(throws: HDF5Error.self) { try file.readTensor("/g/absent") }
        #expect(readError?.description.hasPrefix("/g/absent: H5Dopen2 failed: H5Dopen2") == true)
        #expect(readError?.description.contains("\n") == false)
    }

    @Test func opensAnInMemoryImage() throws {
        let data = try Data(contentsOf: Self.h5pyFixture)
        let file = try HDF5File.open(image: data, label: "memory.h5")
        let other = try HDF5File.open(image: data, label: "memory2.h5")
        #expect(try file.readTensor("/f32").float32Values() == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect(try other.stringAttribute("/", "vlen") == "h\u{e9}llo")
        let bad = #expect(throws: HDF5Error.self) { try HDF5File.open(image: Data("not hdf5".utf8), label: "junk.h5") }
        #expect(bad?.path == "junk.h5")
    }

    @Test func closeIsIdempotentAndLaterCallsFail() throws {
        let file = try HDF5File.open(Self.h5pyFixture)
        try file.close()
        try file.close()
        let error = #expect(throws: HDF5Error.self) { try file.readTensor("/f32") }
        #expect(error?.detail == "the file \(Self.h5pyFixture.path) is closed")
        #expect(!file.exists("/f32"))
    }

    @Test func writesAndReadsBackAttributesAndTensors() throws {
        let url = Self.temporaryURL("roundtrip.h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensors: [(String, Tensor, Bool)] = [
            ("/a/f32", Tensor(shape: [2, 3], float32: [1, -2, 3.25, 0, -0.0, .infinity]), false),
            ("/a/f64", Tensor(shape: [3], float64: [1e-300, .pi, -7]), true),
            ("/b/c/f16", Tensor(shape: [2, 2], values: [1, -2, 0.5, 65504], dtype: .float16), true),
            ("/b/bf16", Tensor(shape: [1, 3], values: [1, -2, 0.5], dtype: .bfloat16), false),
            ("/scalar", Tensor(shape: [], float32: [2.5]), true),
        ]
        do {
            let file = try HDF5File.create(url)
            try file.createGroup("/x/y")
            try file.createGroup("/x")  // existing: no error
            try file.setStringAttribute("/", "s", "first")
            try file.setStringAttribute("/", "s", "\u{3bb} second")  // replaces
            try file.setFixedStringAttribute("/x", "fixed", "bytes")
            try file.setFixedStringArrayAttribute("/x/y", "names", ["lstm", "dense_1", ""])
            try file.setIntAttribute("/x", "n", -42)
            for (path, tensor, compress) in tensors { try file.writeTensor(path, tensor, compress: compress) }
            try file.close()
        }
        let file = try HDF5File.open(url)
        #expect(try file.stringAttribute("/", "s") == "\u{3bb} second")
        #expect(try file.stringAttribute("/x", "fixed") == "bytes")
        #expect(try file.stringArrayAttribute("/x/y", "names") == ["lstm", "dense_1", ""])
        #expect(try file.intAttribute("/x", "n") == -42)
        #expect(try file.childNames("/") == ["a", "b", "scalar", "x"])
        #expect(try file.stringAttribute("/b/bf16", "dtype") == "bfloat16")
        for (path, tensor, _) in tensors {
            #expect(try file.readTensor(path) == tensor, "\(path)")
        }
        let clash = #expect(throws: HDF5Error.self) { try file.createGroup("/scalar/inner") }
        #expect(clash?.path == "/scalar")
        #expect(clash?.detail == "an object that is not a group is already there")
    }

    @Test func sameContentGivesSameBytes() throws {
        func write(_ url: URL) throws -> Data {
            let file = try HDF5File.create(url)
            try file.setIntAttribute("/", "v", 1)
            try file.writeTensor("/g/t", Tensor(shape: [4], float32: [1, 2, 3, 4]), compress: true)
            try file.close()
            return try Data(contentsOf: url)
        }
        let (u1, u2) = (Self.temporaryURL("same1.h5"), Self.temporaryURL("same2.h5"))
        defer { for u in [u1, u2] { try? FileManager.default.removeItem(at: u) } }
        let first = try write(u1)
        Thread.sleep(forTimeInterval: 1.1)  // a stored modification time would now differ
        #expect(try write(u2) == first)
    }

    @Test func concurrentReadersAreSerialized() throws {
        let expected: [Float] = [0.5, 1, 1.5, 2, 2.5, 3]
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            do {
                let file = try HDF5File.open(Self.h5pyFixture)
                for _ in 0..<20 where try file.readTensor("/f32").float32Values() != expected { failures.add() }
            } catch { failures.add() }
        }
        #expect(failures.value == 0)
    }
}

/// A thread-safe counter for the concurrency test.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
