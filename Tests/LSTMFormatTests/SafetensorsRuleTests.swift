import Foundation
import Testing
@testable import LSTMFormat

/// One hand-built byte string per safetensors rule (`Spec/pytorch-mapping.md`, P-S1 … P-S5).
@Suite struct SafetensorsRuleTests {
    /// A file from a header JSON string and data bytes, the length field computed (or given).
    static func file(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
        var out = Data()
        var n = (length ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    static let eight = [UInt8](repeating: 0, count: 8)

    @Test func aValidFileDecodes() throws {
        let f = try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}   "#, data: [0, 0, 128, 63, 0, 0, 0, 64]))
        #expect(f.tensors.map(\.name) == ["a"])
        #expect(f.tensors[0].tensor.float32Values() == [1, 2])
        #expect(f.metadata == ["k": "v"])
    }

    @Test func ruleS1HeaderLength() {
        #expect(throws: SafetensorsError.tooShort(5)) { try SafetensorsFile.decode(Data([1, 2, 3, 4, 5])) }
        #expect(throws: SafetensorsError.headerTooLarge(length: 100_000_001, limit: 100_000_000)) {
            try SafetensorsFile.decode(Self.file("{}", length: 100_000_001))
        }
        #expect(throws: SafetensorsError.headerPastEnd(length: 40, fileSize: 10)) { try SafetensorsFile.decode(Self.file("{}", length: 40)) }
    }

    @Test func ruleS2HeaderJSON() {
        #expect(throws: SafetensorsError.invalidHeader("it does not start with '{'")) { try SafetensorsFile.decode(Self.file(" {}")) }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile.decode(Self.file(#"{"a": 1}"#)) }
        #expect(throws: SafetensorsError.duplicateKey("a")) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile.decode(Self.file(#"{"__metadata__":{"k":1}}"#)) }
        #expect(throws: SafetensorsError.invalidHeader("it is not UTF-8")) { try SafetensorsFile.decode(Self.file("{\u{FFFD}}").replacing(Data([0xEF, 0xBF, 0xBD]), with: Data([0xFF, 0xFE, 0xFD]))) }
    }

    @Test func ruleS3DTypesShapesOffsets() {
        #expect(throws: SafetensorsError.unsupportedDType(tensor: "n", dtype: "I64")) {
            try SafetensorsFile.decode(Self.file(#"{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.invalidOffsets(tensor: "a", offsets: [8, 0])) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.sizeMismatch(tensor: "a", expected: 12, actual: 8)) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.invalidShape(tensor: "a", shape: [4_294_967_296, 4_294_967_296])) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.invalidShape(tensor: "a", shape: [4_611_686_018_427_387_904])) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#, data: Self.eight))
        }
    }

    @Test func ruleS4ContiguousAndCovering() {
        #expect(throws: SafetensorsError.notContiguous(tensor: "a", expectedBegin: 0, actualBegin: 4)) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.notContiguous(tensor: "b", expectedBegin: 8, actualBegin: 4)) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.dataLength(expected: 4, actual: 8)) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Self.eight))
        }
        #expect(throws: SafetensorsError.dataLength(expected: 8, actual: 4)) {
            try SafetensorsFile.decode(Self.file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]))
        }
    }

    /// P-S5: deterministic bytes, header padded to 8, readable by our own reader; seeded random round trip.
    @Test func ruleS5WriterIsDeterministicAndRoundTrips() throws {
        var rng = SeededRandom(seed: 0x5afe_7e25)
        for trial in 0..<50 {
            var tensors: [(name: String, tensor: Tensor)] = []
            for k in 0..<(1 + Int(rng.next() % 5)) {
                let shape = (0..<Int(rng.next() % 3)).map { _ in Int(rng.next() % 4) }
                let dtype = DType.allCases[Int(rng.next() % 4)]
                tensors.append(("t\(k).\(trial)", Tensor(shape: shape, values: rng.values(shape.reduce(1, *)), dtype: dtype)))
            }
            let file = SafetensorsFile(tensors: tensors, metadata: trial % 2 == 0 ? [:] : ["k": "v\(trial)", "format": "pt"])
            let bytes = file.encode()
            #expect(bytes == file.encode())
            let n = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            #expect(n % 8 == 0, "trial \(trial)")
            let back = try SafetensorsFile.decode(bytes)
            #expect(back.metadata == file.metadata)
            #expect(Dictionary(uniqueKeysWithValues: back.tensors.map { ($0.name, $0.tensor) }) == Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }), "trial \(trial)")
        }
    }
}
