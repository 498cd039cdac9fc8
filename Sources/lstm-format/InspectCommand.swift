import ArgumentParser
import Foundation
import LSTMFormat

struct InspectCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model file's format, architecture, tensors (dtype, shape, CRC-32) and metadata."
    )

    @Argument(help: "The model file to read (any supported format).")
    var model: String

    @Flag(help: "Print the report as JSON (stable schema, see README).")
    var json = false

    @OptionGroup var read: ModelReadOptions

    func execute() throws {
        let (loaded, format) = try read.load(model)
        let report = InspectReport(file: model, format: format.name, model: loaded)
        if json {
            print(try report.json())
        } else {
            print(Self.render(report))
        }
    }

    static func render(_ r: InspectReport) -> String {
        let a = r.architecture
        var out = "file    \(r.file)\nformat  \(r.format)\n"
        let kind = a.returnSequences ? "many-to-many" : "many-to-one"
        out += "model   \(a.layers.count) LSTM layer\(a.layers.count == 1 ? "" : "s"), \(a.dense.count) dense, \(kind), input \(a.inputSize) -> output \(a.outputSize), \(r.parameterCount) parameters\n\n"
        var layers = TextTable(header: ["layer", "direction", "merge", "input", "hidden", "output", "gate", "cell"], rightAligned: [3, 4, 5])
        for (k, l) in a.layers.enumerated() {
            layers.add(["lstm.\(k)", l.direction.rawValue, l.mergeMode?.rawValue ?? "-", "\(l.inputSize)", "\(l.hiddenSize)", "\(l.outputSize)", l.gateActivation.rawValue, l.cellActivation.rawValue])
        }
        for (k, d) in a.dense.enumerated() {
            layers.add(["dense.\(k)", "-", "-", "\(d.inputSize)", "-", "\(d.outputSize)", d.activation.rawValue, "-"])
        }
        out += layers.render() + "\n"
        for (k, l) in a.layers.enumerated() where l.peepholes { out += "lstm.\(k) has peepholes p_f, p_i, p_o (M25)\n" }
        out += "\n"
        var tensors = TextTable(header: ["tensor", "dtype", "shape", "crc32"])
        for t in r.tensors { tensors.add([t.name, t.dtype.rawValue, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", t.crc32]) }
        out += tensors.render()
        if !r.metadata.isEmpty {
            var meta = TextTable(header: ["metadata", "value"])
            for key in r.metadata.keys.sorted() { meta.add([key, r.metadata[key]!]) }
            out += "\n\n" + meta.render()
        }
        return out
    }
}
