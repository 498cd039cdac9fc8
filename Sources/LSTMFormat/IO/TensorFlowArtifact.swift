import Foundation

/// TensorFlow files that users pass for a Keras model but that hold no model this tool can read: a SavedModel
/// directory and a TensorFlow checkpoint (`Spec/keras-mapping.md`, K-R3). Recognised only to explain a refusal,
/// with the way to get a Keras file from them.
public enum TensorFlowArtifact: Error, CustomStringConvertible, Equatable {
    /// A directory holding `saved_model.pb` (`tf.saved_model.save`, Keras 2 `model.save("dir")`).
    case savedModel
    /// A checkpoint: `<prefix>.index` + `<prefix>.data-00000-of-00001` (`tf.train.Checkpoint`,
    /// Keras 2 `save_weights("prefix")`), or the `checkpoint` bookkeeping file.
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

    /// What `url` is when it is one of these, else nil. Looks only at the directory listing and the file name.
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
        return nil
    }
}
