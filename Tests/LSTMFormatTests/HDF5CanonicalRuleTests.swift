import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/hdf5-layout.md` rules H1–H9 on hand-built files: each broken rule is an error naming the HDF5 path.
@Suite struct HDF5CanonicalRuleTests {
    static func read(_ builder: HDF5CanonicalFileBuilder) throws -> LSTMModel {
        let url = FixturePaths.temporaryRoot.appendingPathComponent("hdf5-rule-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try builder.write(to: url)
        return try CanonicalHDF5Format.read(from: url, options: ReadOptions())
    }

    static func expectError(_ edit: (inout HDF5CanonicalFileBuilder) -> Void, _ message: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        var b = HDF5CanonicalFileBuilder.minimal()
        edit(&b)
        let error = #expect(throws: (any Error).self, sourceLocation: sourceLocation) { try read(b) }
        #expect(error.map { String(describing: $0) } == message, sourceLocation: sourceLocation)
    }

    @Test func minimalFileReads() throws {
        let model = try Self.read(.minimal())
        #expect(model.architecture == ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 2, hiddenSize: 3)], returnSequences: true,
                                                        dense: [DenseLayerSpec(inputSize: 3, outputSize: 2)]))
        #expect(model.metadata == ["note": "n"])
        #expect(model.tensor("lstm.0.fwd.W_i")?.float32Values() == [1, 1.125, 1.25, 1.375, 1.5, 1.625])
        #expect(model.tensor("dense.0.c")?.float32Values() == [13, 13.125])
    }

    @Test func acceptsFixedLengthStringsAndAbsentMetadataGroup() throws {  // H2, layout
        var b = HDF5CanonicalFileBuilder.minimal()
        b.attributes["/lstm/0"]?["direction"] = .fixed("forward")
        b.attributes["/"]?["lstm_format"] = .fixed("canonical-lstm")
        b.attributes["/metadata"] = nil
        b.groups.removeAll { $0 == "/metadata" }
        let model = try Self.read(b)
        #expect(model.architecture.layers[0].direction == .forward)
        #expect(model.metadata.isEmpty)
    }

    @Test func h1RejectsOtherFormatAndVersion() {
        Self.expectError({ $0.attributes["/"]?["lstm_format"] = .string("keras") },
                         "/: attribute lstm_format is 'keras', expected 'canonical-lstm' (not a canonical LSTM HDF5 file)")
        Self.expectError({ $0.attributes["/"]?["lstm_format_version"] = .int(2) },
                         "/: lstm_format_version 2 is not supported (this reader reads version 1)")
    }

    @Test func h2RejectsMissingAndInvalidAttributes() {
        Self.expectError({ $0.attributes["/lstm/0"]?["hidden_size"] = nil }, "/lstm/0: attribute hidden_size is missing")
        Self.expectError({ $0.attributes["/"]?["return_sequences"] = .int(2) }, "/: attribute return_sequences is 2, expected 0 or 1")
        Self.expectError({ $0.attributes["/dense/0"]?["output_size"] = .int(0) },
                         "/dense/0: attribute output_size is 0, expected an integer from 1 to 2147483647")
        Self.expectError({ $0.attributes["/lstm/0"]?["input_size"] = .string("2") },
                         "/lstm/0 attribute 'input_size': read integer attribute failed: the attribute holds variable-length string, not an integer")
        Self.expectError({ $0.attributes["/lstm/0"]?["extra"] = .int(1) }, "/lstm/0: unexpected attribute extra")
    }

    /// H8: an extra attribute on the root, a layer, a dense or the embedding group is refused naming the group.
    @Test(arguments: ["/", "/lstm/0", "/dense/0"])
    func H8_anExtraAttributeOnAnyGroupIsRefused(group: String) {
        Self.expectError({ $0.attributes[group]?["extra"] = .int(1) }, "\(group): unexpected attribute extra")
    }

    @Test func h3RejectsUnknownNamesAndMisplacedMergeMode() {
        Self.expectError({ $0.attributes["/dense/0"]?["activation"] = .string("gelu") },
                         "/dense/0: attribute activation has unknown value 'gelu' (known: linear, sigmoid, hard_sigmoid_keras2, hard_sigmoid_keras3, tanh, relu, softmax)")
        Self.expectError({ $0.attributes["/lstm/0"]?["direction"] = .string("sideways") },
                         "/lstm/0: attribute direction has unknown value 'sideways' (known: forward, backward, bidirectional)")
        Self.expectError({ $0.attributes["/lstm/0"]?["merge_mode"] = .string("concat") }, "/lstm/0: unexpected attribute merge_mode")
        Self.expectError({ $0.attributes["/lstm/0"]?["cell_activation"] = .string("softmax") },
                         "/lstm/0: attribute cell_activation is 'softmax', expected an elementwise activation")
        Self.expectError({ $0.attributes["/"]?["num_lstm_layers"] = .int(2) }, "/lstm/1: group is missing")
    }

    @Test func h4RejectsMissingExtraAndMisshapedDatasets() {
        Self.expectError({ $0.datasets["/lstm/0/fwd/U_i"] = HDF5CanonicalFileBuilder.tensor(0, [3, 2]) },
                         "/lstm/0/fwd/U_i: shape [3, 2], expected [3, 3]")
        Self.expectError({ $0.datasets["/lstm/0/fwd/b_o"] = nil }, "/lstm/0/fwd/b_o: dataset is missing")
        Self.expectError({ $0.datasets["/lstm/0/fwd/W_x"] = HDF5CanonicalFileBuilder.tensor(0, [3, 2]) },
                         "/lstm/0/fwd/W_x: unexpected object (not part of the canonical layout)")
        Self.expectError({ $0.datasets["/lstm/0/bwd/W_f"] = HDF5CanonicalFileBuilder.tensor(0, [3, 2]) },
                         "/lstm/0/bwd: unexpected object (not part of the canonical layout)")
        Self.expectError({ $0.datasets["/dense/0/V"] = HDF5CanonicalFileBuilder.tensor(0, [3, 2]) },
                         "/dense/0/V: shape [3, 2], expected [2, 3]")
        Self.expectError({ $0.groups.append("/extra") }, "/extra: unexpected object (not part of the canonical layout)")
        Self.expectError({ $0.groups.append("/lstm/01") }, "/lstm/01: unexpected object (not part of the canonical layout)")
    }

    @Test func h5RejectsUnknownDtypes() {
        Self.expectError({ b in
            b.datasets["/dense/0/c"] = Tensor(shape: [2], values: [1, 2], dtype: .bfloat16)
            b.attributes["/dense/0/c"] = ["dtype": .string("uint16")]  // replaces the layer's "bfloat16"
        }, #"/dense/0/c: readTensor failed: unsupported dataset type 16-bit unsigned integer (expected IEEE float16/32/64, or uint16 with dtype = "bfloat16")"#)
    }

    @Test func h8RejectsInconsistentSizes() {
        Self.expectError({ b in
            b.attributes["/dense/0"]?["input_size"] = .int(4)
            b.datasets["/dense/0/V"] = HDF5CanonicalFileBuilder.tensor(12, [2, 4])
        }, "/: invalid architecture: dense.0: input size 4 does not match the width 3 of the layer before it")
    }
}

@Suite struct HDF5DamagedFileTests {
    /// Every truncation of a valid file is an error, never a crash (HDF5 checks its end-of-file address).
    @Test func truncatedFilesAreErrors() throws {
        let url = FixturePaths.temporaryRoot.appendingPathComponent("hdf5-trunc-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try HDF5CanonicalFileBuilder.minimal().write(to: url)
        let whole = try Data(contentsOf: url)
        var failures = 0
        for length in stride(from: 0, to: whole.count, by: max(1, whole.count / 200)) {
            try whole.prefix(length).write(to: url)
            if (try? CanonicalHDF5Format.read(from: url, options: ReadOptions())) != nil { failures += 1 }
        }
        #expect(failures == 0)
    }
}
