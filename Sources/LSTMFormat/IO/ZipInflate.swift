import CZlibShim
import Foundation

/// Raw deflate decoding of one zip member with zlib, bounded on both sides (`Spec/reliability.md`, Z1, Z3).
enum ZipInflate {
    /// Deflate cannot expand one byte into more than 1032 (258-byte matches of 2-bit codes); a member that
    /// declares more is refused before its buffer is allocated.
    static let maxRatio: UInt64 = 1032

    /// Inflates `compressed` into exactly `size` bytes. Stops at the end of the input and at `size` bytes of
    /// output; anything but a stream that ends exactly there is a `ZipError.damaged`.
    static func inflate(_ compressed: Data, size: UInt64, member: String) throws -> Data {
        let (bound, o) = UInt64(compressed.count).multipliedReportingOverflow(by: maxRatio)
        guard o || size <= bound + 64 else {
            throw ZipError.damaged(member, "declares \(size) bytes from \(compressed.count) compressed bytes, more than deflate can produce")
        }
        guard size <= UInt64(Int.max) else { throw ZipError.memberTooLarge(member, size: size, limit: UInt64(Int.max)) }
        // One spare byte: output that reaches it is more than the member declares.
        var out = Data(count: Int(size) + 1)
        var stream = z_stream()
        guard lstm_inflate_init_raw(&stream) == Z_OK else { throw ZipError.damaged(member, "zlib could not start inflating") }
        defer { inflateEnd(&stream) }
        let produced: Int = try compressed.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            try out.withUnsafeMutableBytes { (output: UnsafeMutableRawBufferPointer) in
                var inDone = 0, outDone = 0
                let inBase = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
                let outBase = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
                while true {
                    // zlib counts in 32-bit lengths: feed at most 1 GiB per call.
                    let inChunk = min(input.count - inDone, 1 << 30), outChunk = min(output.count - outDone, 1 << 30)
                    stream.next_in = inBase.map { $0 + inDone }
                    stream.avail_in = uInt(inChunk)
                    stream.next_out = outBase.map { $0 + outDone }
                    stream.avail_out = uInt(outChunk)
                    let status = CZlibShim.inflate(&stream, Z_NO_FLUSH)
                    let consumed = inChunk - Int(stream.avail_in), made = outChunk - Int(stream.avail_out)
                    inDone += consumed
                    outDone += made
                    if status == Z_STREAM_END || outDone == output.count { return outDone }
                    guard status == Z_OK || status == Z_BUF_ERROR else {
                        let why = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw ZipError.damaged(member, "the deflate stream is invalid (\(why))")
                    }
                    if consumed == 0 && made == 0 {
                        throw ZipError.damaged(member, "the deflate stream ends early (\(outDone) of \(size) bytes)")
                    }
                }
            }
        }
        guard produced <= Int(size) else { throw ZipError.damaged(member, "it inflates to more than its declared \(size) bytes") }
        guard produced == Int(size) else { throw ZipError.damaged(member, "it inflates to \(produced) bytes, not its declared \(size)") }
        out.removeLast()
        return out
    }
}
