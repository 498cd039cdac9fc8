import Foundation
import ZIPFoundation

/// Keras 3 `.keras` archives (`Spec/keras-mapping.md`, K-F2): a zip with `config.json` (the model config),
/// `metadata.json` (`keras_version`, …) and `model.weights.h5` (the Keras 3 weights layout).
enum KerasArchive {
    static let configEntry = "config.json"
    static let metadataEntry = "metadata.json"
    static let weightsEntry = "model.weights.h5"
    /// Largest JSON entry read (a config of a few thousand layers is far below this).
    static let jsonLimit: UInt64 = 64 << 20
    /// Largest weights entry read into memory: the memory budget (`Spec/reliability.md`, M2).
    static var weightsLimit: UInt64 { MemoryBudget.bytes }
    /// The Keras version written into `metadata.json`: the Keras 3 whose loader the writer is tested with.
    static let writtenKerasVersion = "3.15.1"
    /// `metadata.json` key of the layers the writer renamed (written name → original name, K-W5).
    static let renamedKey = "lstm_format_renamed_layers"

    static func read(_ url: URL, options: ReadOptions) throws -> LSTMModel {
        let archive = try ZipArchive(url: url)
        let config = try entry(archive, configEntry, limit: jsonLimit)
        var version: String?
        var renamed: [String: String]?
        if archive[metadataEntry] != nil,
           let meta = try JSONSerialization.jsonObject(with: entry(archive, metadataEntry, limit: jsonLimit)) as? [String: Any] {
            version = meta["keras_version"] as? String
            renamed = meta[renamedKey] as? [String: String]
        }
        let generation = version.flatMap(KerasGeneration.init(version:)) ?? .keras3
        guard let member = archive[weightsEntry] else { throw KerasError.missingEntry(weightsEntry) }
        let label = "\(url.lastPathComponent)/\(weightsEntry)"
        // A stored member (what Keras writes) is read in place from the mapped archive (M4).
        let file = if let mapping = archive.mapping, let range = try archive.storedRange(member, limit: weightsLimit) {
            try HDF5File.open(mapping: mapping, range: range, label: label)
        } else {
            try HDF5File.open(image: archive.read(member, limit: weightsLimit), label: label)
        }
        defer { try? file.close() }
        file.readsTensorData = !options.declaredTensorsOnly
        let plan: KerasModelPlan
        do {
            plan = try KerasConfig.parse(config, generation: generation)
        } catch KerasError.subclassedModel(let className) {
            // K-C10: a subclassed model's config has no layers; its weights say what they are.
            do {
                plan = try KerasShapeInference.keras3(file)
            } catch {
                throw KerasError.subclassedModel(className: "\(className)' (and its weights do not show an LSTM chain: \(error)")
            }
            options.note("'\(className)' is a subclassed model (its config has no layer list): " + KerasShapeInference.warning(plan), hint: .kerasConfig)
        }
        KerasInferenceNotes.report(plan, options: options)
        let weights = try KerasWeightsH5.readWeights(file, plan: plan)
        var metadata = ["source.format": KerasFormat.name, "source.tool": generation.toolName]
        metadata["source.tool_version"] = version
        if let renamed, let data = try? JSONSerialization.data(withJSONObject: renamed, options: [.sortedKeys, .withoutEscapingSlashes]) {
            metadata["keras.renamed_layers"] = String(decoding: data, as: UTF8.self)
        }
        return try KerasModelBuilder.model(plan, weights: weights, metadata: metadata)
    }

    static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        let plan = try KerasConfigWriter.plan(model, target: .keras3)
        let config = try KerasConfigWriter.json(plan, model: model, target: .keras3)
        var meta: [String: Any] = ["keras_version": writtenKerasVersion]
        // K-W5: names Keras 3 refuses were changed; the originals stay in the file (Keras ignores the key).
        if !plan.renamedLayers.isEmpty { meta[renamedKey] = plan.renamedLayers }
        let metadata = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys, .withoutEscapingSlashes])
        // Next to the (temporary) output, removed on every exit path and on SIGINT/SIGTERM (Spec/reliability.md, W2).
        let temp = URL(fileURLWithPath: url.path + ".weights.h5")
        let slot = TemporaryFiles.register(temp)
        defer { try? FileManager.default.removeItem(at: temp); TemporaryFiles.unregister(slot) }
        try HDF5File.create(temp) { try KerasWeightsH5.write($0, plan: plan, weights: KerasWeightMapping.kerasWeights(model), compress: options.compress) }
        let weights = try Data(contentsOf: temp, options: .alwaysMapped)
        let members = [(metadataEntry, metadata), (configEntry, config), (weightsEntry, weights)]
        try? FileManager.default.removeItem(at: url)
        if !options.compress, StoredZipWriter.fits(members.map { ($0.0.utf8.count, $0.1.count) }) {
            // K-W8: stored members with our CRC-32 (libdeflate), straight from the mapped weights file.
            try metadata.withUnsafeBytes { m in
                try config.withUnsafeBytes { c in
                    try weights.withUnsafeBytes { w in
                        try StoredZipWriter.write([.init(name: metadataEntry, bytes: m), .init(name: configEntry, bytes: c),
                                                   .init(name: weightsEntry, bytes: w)], to: url)
                    }
                }
            }
            return
        }
        let archive = try Archive(url: url, accessMode: .create)
        for (name, data) in members {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                 modificationDate: Date(timeIntervalSince1970: 315_532_800),  // 1980-01-01, as Keras writes
                                 compressionMethod: options.compress ? .deflate : .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    /// The bytes of one member of a `.keras` archive (checked against its CRC-32).
    static func member(_ url: URL, _ name: String) throws -> Data {
        try entry(try ZipArchive(url: url), name, limit: weightsLimit)
    }

    private static func entry(_ archive: ZipArchive, _ name: String, limit: UInt64) throws -> Data {
        guard let e = archive[name] else { throw KerasError.missingEntry(name) }
        return try archive.read(e, limit: limit)
    }
}
