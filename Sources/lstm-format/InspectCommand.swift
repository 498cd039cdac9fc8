import ArgumentParser
import Foundation
import LSTMFormat

struct InspectCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model file's format, architecture, tensors (dtype, shape, CRC-32) and metadata.",
        discussion: """
            inspect reads no tensor data (Spec/reliability.md, M3) where the format allows it: a .lstm file's \
            CRC-32s are shown as stored, not verified; .h5, .weights.h5 and .keras files show shapes and dtypes \
            from the HDF5 metadata (safetensors: from its header) and no CRC-32. --verify-checksums reads every tensor: it verifies a .lstm \
            file's CRC-32s (exit 2 naming the tensor on a mismatch) and computes them for other formats.
            """
    )

    @Argument(help: "The model file to read (any supported format).")
    var model: String

    @Flag(help: "Print the report as JSON (stable schema, see README).")
    var json = false

    @Flag(name: .customLong("verify-checksums"), help: "Read every tensor's data: verify the CRC-32s a .lstm file stores (exit 2 naming the tensor on a mismatch); compute them for other formats.")
    var verifyChecksums = false

    @OptionGroup var read: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func validate() throws {
        if verifyChecksums && read.noVerifyChecksums { throw ValidationError("--verify-checksums and --no-verify-checksums contradict each other; give one") }
    }

    func execute() throws {
        let report: InspectReport
        if verifyChecksums {
            let (loaded, format) = try read.load(model)
            report = InspectReport(file: model, format: format.name, model: loaded)
        } else {
            let (outline, format) = try read.loadOutline(model)
            report = InspectReport(file: model, format: format.name, outline: outline)
        }
        if json {
            print(try report.json())
        } else {
            print(Self.render(report))
        }
    }

    /// What the model does to its input before the first LSTM and how masked steps leave each layer
    /// (Spec/canonical-model.md M17–M24): one line each, none for a plain float-input model.
    static func inputNotes(_ a: ModelArchitecture) -> [String] {
        var notes: [String] = []
        if let e = a.embedding {
            notes.append("embedding: token ids 0…\(e.vocabularySize - 1) -> rows of embedding.E [\(e.vocabularySize), \(a.inputSize)]"
                         + (e.maskZero ? "; id 0 masks its step (mask_zero, M18)" : ""))
        }
        if let v = a.maskValue {
            notes.append("masking: a step whose features all equal \(v) is masked (Keras Masking, M18)")
        }
        if a.isMasked {
            for (k, l) in a.layers.enumerated() {
                notes.append("lstm.\(k) at a masked step: carries h and C over, outputs "
                             + (l.zeroOutputForMask ? "0 (zero_output_for_mask)" : "the carried h") + " (M19)")
            }
        }
        for (k, l) in a.layers.enumerated() {
            if let p = l.projectionSize { notes.append("lstm.\(k) projects h to \(p) values with W_hr (M24)") }
        }
        return notes
    }

    static func render(_ r: InspectReport) -> String {
        let a = r.architecture
        var out = "file    \(r.file)\nformat  \(r.format)\n"
        let kind = a.returnSequences ? "many-to-many" : "many-to-one"
        out += "model   \(a.layers.count) LSTM layer\(a.layers.count == 1 ? "" : "s"), \(a.dense.count) dense, \(kind), input \(a.embedding == nil ? "\(a.inputSize)" : "token ids") -> output \(a.outputSize), \(r.parameterCount) parameters\n\n"
        var layers = TextTable(header: ["layer", "direction", "merge", "input", "hidden", "output", "gate", "cell"], rightAligned: [3, 4, 5])
        for (k, l) in a.layers.enumerated() {
            layers.add(["lstm.\(k)", l.direction.rawValue, l.mergeMode?.rawValue ?? "-", "\(l.inputSize)", "\(l.hiddenSize)", "\(l.outputSize)", l.gateActivation.rawValue, l.cellActivation.rawValue])
        }
        for (k, d) in a.dense.enumerated() {
            layers.add(["dense.\(k)", "-", "-", "\(d.inputSize)", "-", "\(d.outputSize)", d.activation.rawValue, "-"])
        }
        out += layers.render() + "\n"
        out += inputNotes(a).map { $0 + "\n" }.joined()
        for (k, l) in a.layers.enumerated() where l.peepholes { out += "lstm.\(k) has peepholes p_f, p_i, p_o (M25)\n" }
        out += "\n"
        // M3: a CRC-32 is marked when it is the file's stored one, not checked against the data.
        let stored = r.tensors.contains { $0.crc32 != nil && !$0.crc32Verified }
        var tensors = TextTable(header: ["tensor", "dtype", "shape", stored ? "crc32 (stored, not verified)" : "crc32"])
        for t in r.tensors { tensors.add([t.name, t.dtype.rawValue, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", t.crc32 ?? "-"]) }
        out += tensors.render()
        if r.tensors.contains(where: { $0.crc32 == nil }) {
            out += "\n(no CRC-32: inspect read no tensor data; --verify-checksums reads it and computes them)"
        }
        if !r.metadata.isEmpty {
            var meta = TextTable(header: ["metadata", "value"])
            for key in r.metadata.keys.sorted() { meta.add([key, r.metadata[key]!]) }
            out += "\n\n" + meta.render()
        }
        return out
    }
}
