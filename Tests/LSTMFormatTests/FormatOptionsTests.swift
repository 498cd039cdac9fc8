import Foundation
import Testing
@testable import LSTMFormat

/// Format-neutral options, detection that parses once, hints instead of flags (`Spec/layout.md`, O1–O4).
@Suite(.serialized) struct FormatOptionsTests {
    struct Sample: FormatOption, Equatable { var value: Int }

    /// O1: a format's options travel in the bag keyed by their type; the Keras folder's shorthand uses it.
    @Test func formatOptionsAreKeyedByType() {
        var options = ReadOptions()
        #expect(options.formatOptions[Sample.self] == nil)
        options.formatOptions[Sample.self] = Sample(value: 7)
        options.keras.configPath = "c.json"
        #expect(options.formatOptions[Sample.self] == Sample(value: 7))
        #expect(options.formatOptions[KerasReadOptions.self] == KerasReadOptions(config: nil, configPath: "c.json"))
        options.formatOptions[Sample.self] = nil
        #expect(options.formatOptions[Sample.self] == nil)
    }

    /// A fixture with a full `.keras` file and a Keras 3 weights-only file of the same model.
    static func weightsAndFull() throws -> (full: URL, weights: URL) {
        let f = try #require(KerasFixture.accepted.first { $0.url("keras") != nil && $0.url("weights_h5") != nil && $0.id.contains("bidi") })
        return (f.url("keras")!, f.url("weights_h5")!)
    }

    /// O2: a weights-only file read with the canonical architecture gives the full file's model, without a note.
    @Test func architectureCompletesAWeightsOnlyFile() throws {
        let (full, weights) = try Self.weightsAndFull()
        let reference = try FormatRegistry.read(full).model
        let json = try InspectReport(file: "m", format: "keras", model: reference).json()
        let architecture = try ModelArchitecture.fromJSON(Data(json.utf8))
        #expect(architecture == reference.architecture)
        final class Box: @unchecked Sendable { var notes: [String] = [] }
        let box = Box()
        let model = try FormatRegistry.read(weights, options: ReadOptions(architecture: architecture, warn: { box.notes.append($0) })).model
        #expect(box.notes.isEmpty)
        #expect(model.architecture == reference.architecture)
        #expect(model.tensors == reference.tensors)
    }

    /// O2: an architecture that does not fit is refused, naming the difference, for weights-only and full files.
    @Test func architectureThatDoesNotFitIsRefused() throws {
        let (full, weights) = try Self.weightsAndFull()
        var wrong = try FormatRegistry.read(full).model.architecture
        wrong.layers[0].hiddenSize += 1
        let e1 = #expect(throws: FileError.self) { try FormatRegistry.read(weights, options: ReadOptions(architecture: wrong)) }
        #expect(e1?.underlying is KerasError, "\(String(describing: e1))")
        var activation = try FormatRegistry.read(full).model.architecture
        activation.layers[0].cellActivation = .relu
        let e2 = #expect(throws: FileError.self) { try FormatRegistry.read(full, options: ReadOptions(architecture: activation)) }
        let message = e2.map { String(describing: $0) } ?? ""
        #expect(e2?.underlying is ArchitectureMismatch)
        #expect(message.contains("lstm.0"), "\(message)")
    }

    /// O2: the architecture JSON is checked and its errors say where.
    @Test func architectureJSONErrorsNameThePath() {
        #expect(throws: ArchitectureJSONError.self) { try ModelArchitecture.fromJSON(Data("{\"layers\": [{\"input_size\": 3}], \"return_sequences\": true, \"dense\": []}".utf8)) }
        let e = #expect(throws: ArchitectureJSONError.self) { try ModelArchitecture.fromJSON(Data("{\"layers\": [], \"dense\": []}".utf8)) }
        #expect(e?.message.contains("returnSequences") == true || e?.message.contains("return") == true, "\(String(describing: e))")
        #expect(throws: ModelError.self) { try ModelArchitecture.fromJSON(Data("{\"layers\": [], \"return_sequences\": true, \"dense\": []}".utf8)) }
    }

    /// O3: detecting an HDF5 file opens it once, whichever format claims it (or none does).
    @Test func detectionParsesAnHDF5FileOnce() throws {
        let (_, weights) = try Self.weightsAndFull()
        for url in [weights, FixturePaths.fixture("demo/model.h5")] {
            let before = HDF5Marks.parseCount.value
            _ = try FormatRegistry.detect(url)
            #expect(HDF5Marks.parseCount.value - before == 1, "\(url.lastPathComponent)")
        }
        // An HDF5 file no format claims: explained from the probe, still one parse.
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("plain.h5")
        try HDF5File.create(plain) { try $0.createGroup("/other") }
        let before = HDF5Marks.parseCount.value
        #expect(throws: FileError.self) { try FormatRegistry.detect(plain) }
        #expect(HDF5Marks.parseCount.value - before == 1)
        // Damaged HDF5: libhdf5's reason comes from the probe's one open.
        let damaged = folder.appendingPathComponent("damaged.h5")
        try Data(FileProbe.hdf5Signature + [UInt8](repeating: 0xAB, count: 600)).write(to: damaged)
        let b2 = HDF5Marks.parseCount.value
        let e = #expect(throws: FileError.self) { try FormatRegistry.detect(damaged) }
        #expect(HDF5Marks.parseCount.value - b2 == 1)
        guard case .unreadableHDF5? = e?.underlying as? FormatError else { Issue.record("\(String(describing: e))"); return }
    }

    /// O4: library messages carry hints in library words, never command-line flags.
    @Test func libraryMessagesNameNoFlags() throws {
        let noSuffix = #expect(throws: FileError.self) { try FormatRegistry.format(forOutput: URL(fileURLWithPath: "/tmp/model.out")) }
        #expect(noSuffix?.underlying as? FormatError == .noFormatForSuffix("model.out"))
        #expect(String(describing: noSuffix!).hasSuffix("; name the output format"))
        #expect(String(describing: KerasError.bfloat16(target: "Keras 3", tensor: "x")).hasSuffix("; convert the tensors to float32 first (exact)"))
        for error in [String(describing: KerasError.cannotInferArchitecture("two candidates")), String(describing: noSuffix!)] {
            #expect(!error.contains("--"), "\(error)")
        }
        final class Box: @unchecked Sendable { var notes: [String] = [] }
        let box = Box()
        ReadOptions(warn: { box.notes.append($0) }, describeHint: { _ in "FLAG" }).note("inferred", hint: .architecture)
        #expect(box.notes == ["inferred; FLAG"])
    }
}
