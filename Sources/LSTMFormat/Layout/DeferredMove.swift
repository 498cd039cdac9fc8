import Foundation

/// A tensor's bytes held as the move that makes them (`Spec/layout.md` G8): a `TensorRows` (a Keras gate
/// block W_g = kernel[:, kH ..< (k+1)H]ᵀ, a Dense kernel's transpose), with its made bytes and CRC-32 once known.
///
/// `Tensor` holds one in place of bytes: its bytes are made once, on first use of `Tensor.bytes`; the `.lstm`
/// writer instead moves it band by band (`TensorRows.bandLimit`), for its CRC-32 and then for the file, so the
/// whole block is never made.
final class DeferredMove: @unchecked Sendable {
    let rows: TensorRows
    private let lock = NSLock()
    private var made: Data?
    private var crc: UInt32?

    init(_ rows: TensorRows) {
        self.rows = rows
    }

    /// The bytes the move gives.
    var byteCount: Int { rows.byteCount }

    /// Whether `bytes` has made the whole block (the `.lstm` writer never does, G8).
    var isMade: Bool { lock.withLock { made != nil } }

    /// The moved bytes, made on first use and kept.
    var bytes: Data {
        lock.withLock {
            if let made { return made }
            let data = rows.make().bytes
            made = data
            return data
        }
    }

    /// CRC-32 of the moved bytes, band by band (the bytes are not made), computed once.
    var crc32: UInt32 {
        if let c = lock.withLock({ made.map(CRC32.checksum) ?? crc }) { return c }
        var c: UInt32 = 0
        rows.forEachBand(limit: TensorRows.bandLimit) { c = CRC32.update(c, $0) }
        lock.withLock { crc = c }
        return c
    }
}
