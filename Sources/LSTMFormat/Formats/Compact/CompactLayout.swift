/// Constants of the `.lstm` layout (`Spec/lstm-format.md`).
enum CompactLayout {
    /// L1: "\x89LSTM\r\n\x1a".
    static let magic: [UInt8] = [0x89, 0x4C, 0x53, 0x54, 0x4D, 0x0D, 0x0A, 0x1A]
    /// L2
    static let version: UInt32 = 1
    /// L24: the version of a file whose model is masked (an old reader must refuse it, not ignore the mask).
    static let maskedVersion: UInt32 = 2
    /// Magic, version, header CRC-32, header length.
    static let preambleSize = 24
    /// L3: 16 MiB.
    static let maxHeaderLength = 16 << 20
    /// L14
    static let alignment = 64

    /// `n` rounded up to a multiple of 64, or nil on overflow.
    static func aligned(_ n: Int) -> Int? {
        let (sum, overflow) = n.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }
}
