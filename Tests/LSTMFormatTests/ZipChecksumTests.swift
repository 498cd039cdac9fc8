import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` Z2: a large stored member's CRC-32 is summed in two halves on two threads and joined;
/// the result is the member's CRC-32, and a damaged byte in either half is still found.
@Suite struct ZipChecksumTests {
    /// Joining the CRC-32s of two parts gives the CRC-32 of the whole (the bitwise reference in the test support),
    /// wherever the split falls, empty parts included.
    @Test func Z2_joinedHalvesGiveTheWholesChecksum() {
        var rng = SplitMix64(seed: 22)
        let bytes = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let whole = ReferenceCRC32.checksum(bytes)
        for split in [0, 1, 4999, 5000, 9999, 10_000] {
            let a = bytes[..<split].withUnsafeBytes { CRC32.checksum($0) }, b = bytes[split...].withUnsafeBytes { CRC32.checksum($0) }
            #expect(CRC32.combine(a, b, length: bytes.count - split) == whole, "split at \(split)")
        }
    }

    /// A stored member above the two-thread threshold passes with its true CRC-32 (summed in one piece) and is
    /// refused with a byte changed in its first or its second half.
    @Test(arguments: [nil, -100, 100])
    func Z2_aLargeStoredMemberIsCheckedWhole(damagedAt: Int?) throws {
        var rng = SplitMix64(seed: 23)
        let words = (ZipArchive.parallelChecksumThreshold + 4096) / 8 + 1
        var member = [UInt8]((0..<words).map { _ in rng.next() }.withUnsafeBytes { Array($0) })
        let recorded = member.withUnsafeBytes { CRC32.checksum($0) }
        if let at = damagedAt { member[member.count / 2 + at] ^= 0x40 }
        var zip = ZipBuilder()
        zip.stored("w.bin", member, crc32: recorded)
        let folder = try FixturePaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("big.zip")
        try Data(zip.bytes()).write(to: url)
        let archive = try ZipArchive(url: url)
        let entry = try #require(archive["w.bin"])
        if damagedAt == nil {
            #expect(try archive.storedRange(entry, limit: .max)?.count == member.count)
        } else {
            let actual = member.withUnsafeBytes { CRC32.checksum($0) }
            #expect(throws: ZipError.checksumMismatch(member: "w.bin", recorded: recorded, actual: actual)) {
                _ = try archive.storedRange(entry, limit: .max)
            }
        }
    }
}
