/// The globals `torch.load(weights_only=True)` allows by default (torch 2.15, `torch/_weights_only_unpickler.py`,
/// `_get_allowed_globals`), and the modules it blocks outright (`Spec/pytorch-mapping.md`, P-P2). A pickle naming
/// any other global is refused before anything else happens; none of these is ever called.
enum WeightsOnlyGlobals {
    static let blockedModules: Set<String> = ["sys", "os", "posix", "nt"]

    /// Storage classes and their element dtype (nil: a dtype the canonical model does not hold).
    static let storages: [String: DType?] = {
        var out: [String: DType?] = ["torch.FloatStorage": .float32, "torch.DoubleStorage": .float64,
                                     "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16]
        for name in ["Long", "Int", "Short", "Char", "Byte", "Bool", "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8",
                     "QInt32", "QUInt4x2", "QUInt2x4", "Float8_e5m2", "Float8_e4m3fn", "Float8_e5m2fnuz", "Float8_e4m3fnuz",
                     "UInt16", "UInt32", "UInt64", "Bits8", "Bits16", "Bits1x8", "Bits2x4", "Bits4x2"] {
            out["torch.\(name)Storage"] = DType?.none
        }
        out["torch.storage.UntypedStorage"] = DType?.none
        out["torch.storage.TypedStorage"] = DType?.none
        return out
    }()

    static let rebuildFunctions: Set<String> = [
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._utils._rebuild_device_tensor_from_cpu_tensor", "torch._tensor._rebuild_from_type_v2",
    ]

    static let others: Set<String> = {
        var out: Set<String> = ["collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
                                "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
                                "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
                                "torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine",
                                "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams"]
        let dtypes = ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32", "complex64",
                      "complex128", "cfloat", "cdouble", "chalf", "uint8", "int8", "int16", "short", "int32", "int", "int64",
                      "long", "bool", "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "float8_e5m2", "float8_e4m3fn",
                      "float8_e5m2fnuz", "float8_e4m3fnuz", "uint16", "uint32", "uint64", "bits8", "bits16", "bits1x8",
                      "bits2x4", "bits4x2"] + (1...7).map { "uint\($0)" } + (1...7).map { "int\($0)" }
        for d in dtypes { out.insert("torch.\(d)") }
        for t in ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"] {
            out.insert("torch.\(t)Tensor")
            out.insert("torch.cuda.\(t)Tensor")
        }
        return out
    }()

    static func isAllowed(_ name: String) -> Bool {
        storages[name] != nil || rebuildFunctions.contains(name) || others.contains(name)
    }
}
