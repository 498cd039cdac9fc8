import Foundation

/// The canonical HDF5 layout (`Spec/hdf5-layout.md`): a plain HDF5 file with one group per layer and cell, one
/// dataset per canonical tensor, the architecture as attributes and the metadata as attributes of `/metadata`.
/// Readable with h5py, h5ls and h5dump without LSTMFormat.
public enum CanonicalHDF5Format: ModelFileFormat {
    public static let name = "hdf5"
    public static let fileSuffixes = [".h5", ".hdf5"]

    /// An HDF5 file whose root attribute `lstm_format` is "canonical-lstm" (H1). Keras `.h5` files are HDF5
    /// too but lack that attribute.
    public static func matches(_ probe: FileProbe) -> Bool {
        probe.hdf5Marks?.lstmFormat == CanonicalHDF5Layout.formatName
    }

    public static func read(from url: URL, options: ReadOptions) throws -> LSTMModel {
        try CanonicalHDF5Reader.read(url, readsTensorData: !options.declaredTensorsOnly)
    }

    /// M3: every rule of the layout checked, the datasets' dtypes and shapes, none of their data.
    public static func readOutline(from url: URL, options: ReadOptions) throws -> ModelOutline {
        try outlineWithoutTensorData(url, options)
    }

    /// With `options.compress`, datasets are chunked with the shuffle and deflate(6) filters (H6).
    public static func write(_ model: LSTMModel, to url: URL, options: WriteOptions) throws {
        try CanonicalHDF5Writer.write(model, to: url, compress: options.compress)
    }
}
