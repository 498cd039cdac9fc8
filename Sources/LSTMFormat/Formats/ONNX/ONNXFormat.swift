import Foundation

/// ONNX models (`.onnx`): a protobuf `ModelProto` whose graph is a chain of `LSTM` nodes and a dense head
/// (`Spec/onnx-mapping.md`).
public enum ONNXFormat: ModelFileFormat {
    public static let name = "onnx"
    public static let fileSuffixes = [".onnx"]

    /// O-R1: `ir_version` (field 1, varint) first, a plausible version, then another known `ModelProto` field.
    public static func matches(_ probe: FileProbe) -> Bool {
        let h = [UInt8](probe.head.prefix(16))
        guard h.count >= 3, h[0] == 0x08, h[1] >= 1, h[1] <= 0x7F else { return false }
        let tag = h[2], field = tag >> 3, wire = tag & 7
        // producer_name 2, producer_version 3, domain 4, model_version 5, doc_string 6, graph 7, opset_import 8,
        // metadata_props 14, training_info 20, functions 25, configuration 26.
        return [2, 3, 4, 5, 6, 7, 8].contains(field) && (wire == 0 || wire == 2)
            || (tag == 0x72 || tag == 0xA2 || tag == 0xCA || tag == 0xD2)
    }

    /// The canonical model of `data`, an ONNX file's bytes. `folder` is where external data may be read from
    /// (nil: external data is refused). Throws `ONNXError`.
    public static func decode(_ data: Data, folder: URL? = nil, warn: (String) -> Void = { _ in }) throws(ONNXError) -> LSTMModel {
        try ONNXReader.read(data, folder: folder, warn: warn)
    }

    /// The ONNX bytes of `model` (O-W1 – O-W4). Throws `ONNXError.notExpressible` naming what ONNX cannot express.
    public static func encode(_ model: LSTMModel) throws(ONNXError) -> Data {
        try ONNXWriter.encode(model)
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        return try decode(data, folder: url.deletingLastPathComponent(), warn: options.warn)
    }

    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        let data = try encode(model)
        do { try data.write(to: url) } catch { throw IOProblem.cannotWrite(IOProblem.reason(error)) }
    }
}
