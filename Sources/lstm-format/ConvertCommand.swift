import ArgumentParser
import Foundation
import LSTMFormat

struct ConvertCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model file to another format (and optionally another dtype).",
        discussion: """
            The input format is detected from the file's content. The output format is --to, or else the \
            output name's suffix: .lstm (compact), .h5/.hdf5 (canonical HDF5), .keras (Keras 3 archive), \
            .weights.h5 (Keras 3 weights), .safetensors and .pt/.pth (PyTorch state dict). The output is written to a temporary file and renamed: a failed \
            run leaves no partial file and does not touch an existing one.
            """
    )

    @Argument(help: "The model file to read.")
    var input: String

    @Argument(help: "The file to write.")
    var output: String

    @Option(help: "Output format: \(FormatRegistry.all.map { $0.name }.joined(separator: ", ")).")
    var to: String?

    @Option(help: "Convert every tensor to this dtype (float32, float64, float16, bfloat16), rounding to nearest-even.")
    var dtype: DType?

    @Flag(help: "Deflate-compress tensor data where the format supports it (HDF5).")
    var compress = false

    @OptionGroup var model: ModelReadOptions
    @OptionGroup var display: DisplayOptions

    func validate() throws {
        if let to, !FormatRegistry.all.contains(where: { $0.name == to }) {
            throw ValidationError("unknown format '\(to)' (known: \(FormatRegistry.all.map { $0.name }.joined(separator: ", ")))")
        }
        // U5: an output name whose suffix names no format, without --to, is a usage mistake, found before reading.
        if to == nil, (try? FormatRegistry.format(forOutput: URL(fileURLWithPath: output))) == nil {
            var seen = Set<String>()
            let suffixes = FormatRegistry.all.flatMap { $0.fileSuffixes }.filter { seen.insert($0).inserted }.joined(separator: ", ")
            throw ValidationError("cannot tell the output format from the name '\(output)': name it \(suffixes), or pass --to")
        }
    }

    func execute() throws {
        let outURL = URL(fileURLWithPath: output)
        // P2: a model written unchanged as .lstm is the child reader's hand-off, published instead of rewritten.
        let unchanged = dtype == nil && (try? to.map(FormatRegistry.format(named:)) ?? FormatRegistry.format(forOutput: outURL)) == CompactFormat.self
        let read = try model.load(input, unchangedLSTMOutput: unchanged ? outURL : nil)
        var (loaded, sourceFormat) = (read.model, read.format)
        if let dtype {
            Progress.shared.phase("converting to \(dtype.rawValue)")
            loaded = loaded.converted(to: dtype)
        }
        let format = try to.map(FormatRegistry.format(named:)) ?? FormatRegistry.format(forOutput: outURL)
        if !(read.handoff?.publish(to: outURL) ?? false) {
            Progress.shared.phase("writing \(output)")
            try FormatRegistry.write(loaded, to: outURL, format: format, options: WriteOptions(compress: compress, warn: { HeldNotes.shared.add($0) }))
        }
        Progress.shared.finish()
        let dtypes = loaded.dtypes.map(\.rawValue).joined(separator: "+")
        print("\(input) (\(sourceFormat.name)) -> \(output) (\(format.name), \(loaded.tensors.count) tensors, \(dtypes))")
    }
}
