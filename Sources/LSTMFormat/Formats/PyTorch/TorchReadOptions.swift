/// Read options only the torch.save reader uses (`Spec/pytorch-mapping.md`, P-C1), carried in
/// `ReadOptions.formatOptions` (`Spec/layout.md`, O1).
public struct TorchReadOptions: FormatOption, Equatable {
    /// The checkpoint entry that holds the state dict (a top-level key, or a path of keys joined by "/").
    public var key: String?

    public init(key: String? = nil) {
        self.key = key
    }
}

extension ReadOptions {
    /// The torch.save options (empty when none were given).
    public var torch: TorchReadOptions {
        get { formatOptions[TorchReadOptions.self] ?? TorchReadOptions() }
        set { formatOptions[TorchReadOptions.self] = newValue }
    }
}
