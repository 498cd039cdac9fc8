import Foundation

/// What a model file declares about its model — the architecture, every canonical tensor's dtype and shape, the
/// metadata — as `inspect` reports it (`Spec/reliability.md`, M3). A format whose structure can be read without
/// its tensor data gives an outline without reading any (`ModelFileFormat.readOutline`); `ModelOutline(model:)`
/// makes one from a fully read model.
public struct ModelOutline: Codable, Equatable, Sendable {
    /// One canonical tensor, in canonical order.
    public struct TensorInfo: Codable, Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// CRC-32 (ISO-HDLC, as zlib's) of the tensor's little-endian bytes: computed from the data, or the one the file
        /// stores (`.lstm`, L19); nil when the format stores none and the data was not read.
        public var crc32: UInt32?
        /// Whether `crc32` was computed from the tensor's bytes in this read (for `.lstm`: and found equal to the
        /// stored one). False for a stored CRC-32 that was not checked against the data.
        public var crc32Verified: Bool

        public init(name: String, dtype: DType, shape: [Int], crc32: UInt32?, crc32Verified: Bool) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.crc32 = crc32
            self.crc32Verified = crc32Verified
        }

        /// Product of the dimensions (shapes in an outline were checked for overflow by its reader).
        public var elementCount: Int { Tensor.elementCount(shape) ?? 0 }
    }

    public var architecture: ModelArchitecture
    /// The architecture's tensors (`ModelArchitecture.expectedTensors`), in canonical order.
    public var tensors: [TensorInfo]
    public var metadata: [String: String]

    public init(architecture: ModelArchitecture, tensors: [TensorInfo], metadata: [String: String]) {
        self.architecture = architecture
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The outline of a model whose data was read: every CRC-32 computed from the tensor's bytes (or reused
    /// from a `.lstm` read that verified it, L26).
    public init(model: LSTMModel) {
        self.init(architecture: model.architecture,
                  tensors: model.orderedTensors.map {
                      TensorInfo(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape, crc32: $0.tensor.crc32, crc32Verified: true)
                  },
                  metadata: model.metadata)
    }

    /// Number of scalar parameters, from the shapes (the same as `LSTMModel.parameterCount`).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
}

extension ModelFileFormat {
    /// The outline from a reader that honours `ReadOptions.declaredTensorsOnly` (HDF5-based, safetensors; M3): it
    /// checks everything it checks on a full read except the data, and its model of zero tensors is dropped here.
    static func outlineWithoutTensorData(_ url: URL, _ options: ReadOptions) throws -> ModelOutline {
        var declaredOnly = options
        declaredOnly.declaredTensorsOnly = true
        let model = try read(from: url, options: declaredOnly)
        return ModelOutline(architecture: model.architecture,
                            tensors: model.orderedTensors.map {
                                .init(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape, crc32: nil, crc32Verified: false)
                            },
                            metadata: model.metadata)
    }
}

extension Tensor {
    /// A tensor of `dtype` and `shape` whose bytes are zeros that take no memory: an anonymous read-only
    /// mapping, every page the shared zero page. Only for readers building a model that gives its outline and
    /// is then dropped (`ReadOptions.declaredTensorsOnly`, M3) — never for a model anyone computes with or writes.
    static func declaredOnly(dtype: DType, shape: [Int]) throws -> Tensor {
        guard let count = Tensor.elementCount(shape), case let (bytes, false) = count.multipliedReportingOverflow(by: dtype.byteSize) else {
            throw TensorError.invalidShape(shape)
        }
        guard bytes > 0 else { return try Tensor(dtype: dtype, shape: shape, bytes: Data()) }
        guard let base = mmap(nil, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), base != MAP_FAILED else {
            throw IOProblem.cannotOpen("cannot map \(bytes) bytes: \(String(cString: strerror(errno)))")
        }
        var t = try Tensor(dtype: dtype, shape: shape, bytes: Data(bytesNoCopy: base, count: bytes, deallocator: .custom { p, n in munmap(p, n) }))
        t.isDeclaredOnly = true
        return t
    }
}
