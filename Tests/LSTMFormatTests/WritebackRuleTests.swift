import CSystemShim
import Foundation
import Testing
@testable import LSTMFormat

/// `Spec/reliability.md` W1a: large writes through `AtomicFile.writeAll` start their own writeback as they go,
/// so W1's `fsync` finds (nearly) nothing left to write. Seen with `cachestat(2)`: the file's dirty pages.
@Suite struct WritebackRuleTests {
    /// cachestat(2) exists (Linux 6.5+) and the temporary folder's file system writes pages back (not tmpfs):
    /// a file written and `fsync`ed has no dirty page left.
    static let observable: Bool = {
        guard let dir = try? FixturePaths.temporaryFolder() else { return false }
        let fd = open(dir.appendingPathComponent("probe").path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let page = [UInt8](repeating: 1, count: 16_384)
        guard page.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == page.count, fsync(fd) == 0 else { return false }
        return lstm_dirty_pages(fd) == 0
    }()

    @Test(.enabled(if: observable, "needs cachestat(2) (Linux 6.5+) and a disk-backed temporary folder"))
    func W1a_aLargeWriteLeavesNoDirtyPagesBehind() throws {
        let dir = try FixturePaths.temporaryFolder()
        let fd = open(dir.appendingPathComponent("large").path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var bytes = Data(count: 40 << 20)  // 10,240 pages, far below the kernel's background writeback threshold
        bytes.withUnsafeMutableBytes { for i in stride(from: 0, to: $0.count, by: 4096) { $0[i] = UInt8(truncatingIfNeeded: i >> 12) } }
        try AtomicFile.writeAll(bytes, toDescriptor: fd)
        let dirty = lstm_dirty_pages(fd)
        // Without W1a all 10,240 pages are still dirty here; with it, at most the kernel's skipped stragglers.
        #expect(dirty >= 0 && dirty < 1024, "\(dirty) of 10240 pages still dirty after the write returned")
    }
}
