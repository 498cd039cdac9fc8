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
        let weights = try KerasWeightsH5.readWeights(file, plan: plan)
        var metadata = ["source.format": KerasFormat.name, "source.tool": generation.toolName]
        metadata["source.tool_version"] = version
        if let renamed, let data = try? JSONSerialization.data(withJSONObject: renamed, options: [.sortedKeys, .withoutEscapingSlashes]) {
            metadata["keras.renamed_layers"] = String(decoding: data, as: UTF8.self)
        }
        let model = try KerasModelBuilder.model(plan, weights: weights, metadata: metadata)
        KerasInferenceNotes.report(plan, options: options)  // K-N: only for a model that was read (bad input: its error alone)
        return model
    }

    /// Writes `model` as a `.keras` archive (K-W9): stored, `model.weights.h5` is written straight into it;
    /// compressed (or too large for that), it is built in memory when the model's tensors fit `inMemoryLimit`
    /// bytes (the memory budget, M1), else in a temporary file next to the output.
    static func write(_ model: LSTMModel, to url: URL, options: WriteOptions, inMemoryLimit: UInt64 = MemoryBudget.bytes) throws {
        let plan = try KerasConfigWriter.plan(model, target: .keras3)
        let config = try KerasConfigWriter.json(plan, model: model, target: .keras3)
        var meta: [String: Any] = ["keras_version": writtenKerasVersion]
        // K-W5: names Keras 3 refuses were changed; the originals stay in the file (Keras ignores the key).
        if !plan.renamedLayers.isEmpty { meta[renamedKey] = plan.renamedLayers }
        let metadata = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys, .withoutEscapingSlashes])
        let fill = { (file: HDF5File) in
            try KerasWeightsH5.write(file, plan: plan, weights: KerasWeightMapping.kerasWeightArrays(model), compress: options.compress)
        }
        try? FileManager.default.removeItem(at: url)
        let modelBytes = model.tensors.values.reduce(UInt64(0)) { $0 + UInt64($1.bytes.count) }
        // K-W9: stored, libhdf5 writes the weights straight into the archive, the zip headers in its user block.
        if !options.compress, modelBytes < directLimit, try writeDirectly(metadata: metadata, config: config, to: url, fill) { return }
        if modelBytes <= inMemoryLimit {
            // K-W9: as Keras's H5IOStore builds it in a BytesIO; nothing but the archive touches the disk.
            let image = try HDF5File.createInMemory(label: "\(url.lastPathComponent)/\(weightsEntry)", fill)
            try writeArchive(metadata: metadata, config: config, weights: image.bytes, to: url, compress: options.compress)
            return
        }
        // Next to the (temporary) output, removed on every exit path and on SIGINT/SIGTERM (Spec/reliability.md, W2).
        let temp = URL(fileURLWithPath: url.path + ".weights.h5")
        let slot = TemporaryFiles.register(temp)
        defer { try? FileManager.default.removeItem(at: temp); TemporaryFiles.unregister(slot) }
        try HDF5File.create(temp, fill)
        let weights = try Data(contentsOf: temp, options: .alwaysMapped)
        try weights.withUnsafeBytes { try writeArchive(metadata: metadata, config: config, weights: $0, to: url, compress: options.compress) }
    }

    /// Largest model written straight into a stored archive: well inside the 4 GiB a zip without ZIP64 holds.
    static let directLimit: UInt64 = 3 << 30

    /// The stored archive with `model.weights.h5` written by `fill` straight into it (K-W9, H15); false when the
    /// JSON members are too large to sit in the user block (nothing is written then).
    private static func writeDirectly(metadata: Data, config: Data, to url: URL, _ fill: (HDF5File) throws -> Void) throws -> Bool {
        try metadata.withUnsafeBytes { m in
            try config.withUnsafeBytes { c in
                let leading = [StoredZipWriter.Member(name: metadataEntry, bytes: m), .init(name: configEntry, bytes: c)]
                guard StoredZipWriter.lastMemberStart(after: leading, last: weightsEntry) != nil else { return false }
                try StoredZipWriter.write(leading, last: weightsEntry, to: url) { start in
                    let regions = try HDF5File.create(url, userBlock: start, fill)
                    try HDF5File.detachUserBlock(url, userBlock: start)
                    return regions
                }
                return true
            }
        }
    }

    /// The archive of the three members, entry times 1980-01-01 (K-W4): stored by `StoredZipWriter` (K-W8), or
    /// through ZIPFoundation when compressed or too large for a zip without ZIP64.
    private static func writeArchive(metadata: Data, config: Data, weights: UnsafeRawBufferPointer, to url: URL, compress: Bool) throws {
        let sizes = [(metadataEntry.utf8.count, metadata.count), (configEntry.utf8.count, config.count), (weightsEntry.utf8.count, weights.count)]
        if !compress, StoredZipWriter.fits(sizes) {
            // K-W8: stored members with our CRC-32 (libdeflate).
            try metadata.withUnsafeBytes { m in
                try config.withUnsafeBytes { c in
                    try StoredZipWriter.write([.init(name: metadataEntry, bytes: m), .init(name: configEntry, bytes: c),
                                               .init(name: weightsEntry, bytes: weights)], to: url)
                }
            }
            return
        }
        let archive = try Archive(url: url, accessMode: .create)
        let members: [(String, Int, (Int, Int) -> Data)] = [
            (metadataEntry, metadata.count, { metadata.subdata(in: $0..<($0 + $1)) }),
            (configEntry, config.count, { config.subdata(in: $0..<($0 + $1)) }),
            (weightsEntry, weights.count, { Data(bytes: weights.baseAddress! + $0, count: $1) }),
        ]
        for (name, count, bytes) in members {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(count),
                                 modificationDate: Date(timeIntervalSince1970: 315_532_800),  // 1980-01-01, as Keras writes
                                 compressionMethod: compress ? .deflate : .none) { position, size in
                bytes(Int(position), size)
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
