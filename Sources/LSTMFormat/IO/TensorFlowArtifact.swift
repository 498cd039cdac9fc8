import Foundation

/// TensorFlow files that users pass for a Keras model but that hold no model this tool can read: a SavedModel
/// directory and a TensorFlow checkpoint (`Spec/keras-mapping.md`, K-R3). Recognised only to explain a refusal,
/// with the way to get a Keras file from them.
public enum TensorFlowArtifact: Error, CustomStringConvertible, Equatable {
    /// A directory holding `saved_model.pb` (`tf.saved_model.save`, Keras 2 `model.save("dir")`).
    case savedModel
    /// A checkpoint: `<prefix>.index` + `<prefix>.data-00000-of-00001` (`tf.train.Checkpoint`,
    /// Keras 2 `save_weights("prefix")`), or the `checkpoint` bookkeeping file that names the prefix.
    case checkpoint(prefix: String)

    public var description: String {
        switch self {
        case .savedModel:
            "a TensorFlow SavedModel directory (saved_model.pb), not a Keras model file: load it in tf_keras "
                + "(tf_keras.models.load_model(path)) and save it with model.save(\"model.keras\") or model.save(\"model.h5\"), then convert that file"
        case .checkpoint(let prefix):
            "a TensorFlow checkpoint (\(prefix).index / \(prefix).data-*), which holds variables but not the model: build the model in Keras, "
                + "call model.load_weights(\"\(prefix)\"), save it with model.save(\"model.keras\"), then convert that file"
        }
    }

    /// What `url` is when it is one of these, else nil. Looks at the directory listing and the file name, and reads
    /// the first 4 KiB of a file named `checkpoint`.
    static func recognize(_ url: URL) -> TensorFlowArtifact? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("saved_model.pb").path) ? .savedModel : nil
        }
        let name = url.lastPathComponent
        if name.hasSuffix(".index") { return .checkpoint(prefix: String(name.dropLast(6))) }
        if let r = name.range(of: #"\.data-[0-9]{5}-of-[0-9]{5}$"#, options: .regularExpression) {
            return .checkpoint(prefix: String(name[..<r.lowerBound]))
        }
        if name == "saved_model.pb" { return .savedModel }
        if name == "checkpoint", let prefix = checkpointPrefix(url) { return .checkpoint(prefix: prefix) }
        return nil
    }

    /// The prefix a `checkpoint` bookkeeping file names (`model_checkpoint_path: "PREFIX"`, a text protobuf that
    /// `tf.train.CheckpointManager` and Keras 2's `save_weights` write next to the checkpoint), from its first 4 KiB.
    static func checkpointPrefix(_ url: URL) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        let text = String(decoding: (try? handle.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
        let key = "model_checkpoint_path: \""
        guard text.hasPrefix(key), let end = text.dropFirst(key.count).firstIndex(of: "\"") else { return nil }
        let path = text[text.index(text.startIndex, offsetBy: key.count)..<end]
        return path.split(separator: "/").last.map(String.init)
    }
}
