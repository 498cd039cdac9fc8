import Foundation

/// Reads a `.lstm` file (`Spec/lstm-format.md`). The whole layout is validated (L1–L18) with overflow-checked
/// arithmetic before any tensor byte is used; tensor CRC-32s (L19) are verified unless the caller opts out.
/// Tensors are slices of `data`, so a memory-mapped `data` gives tensors that are views of the mapping.
struct CompactReader {
    /// The file; indices below are relative to `data.startIndex`.
    let data: Data

    /// A validated tensor table entry: where the tensor's bytes are in the file.
    private struct Placed {
        var name: String
        var dtype: DType
        var shape: [Int]
        var start: Int
        var end: Int
        var crc: UInt32
    }

    /// What L1–L18 establish: the architecture, the metadata and where every tensor lies.
    private struct Layout {
        var architecture: ModelArchitecture
        var metadata: [String: String]
        var placed: [Placed]
    }

    func read(verifyChecksums: Bool) throws(CompactError) -> LSTMModel {
        let layout = try validatedLayout()
        let placed = layout.placed
        // L19
        if verifyChecksums {
            for p in placed {
                let computed = CRC32.checksum(slice(p.start..<p.end))
                guard computed == p.crc else { throw .tensorChecksumMismatch(tensor: p.name, stored: p.crc, computed: computed) }
            }
        }
        var tensors: [String: Tensor] = [:]
        for p in placed {
            guard var t = try? Tensor(dtype: p.dtype, shape: p.shape, bytes: slice(p.start..<p.end)) else {
                throw .lengthMismatch(tensor: p.name, expected: p.end - p.start, actual: p.end - p.start)
            }
            // Checked above: writers and `inspect` reuse it instead of reading the bytes again.
            if verifyChecksums { t.verifiedCRC32 = p.crc }
            tensors[p.name] = t
        }
        do {
            return try LSTMModel(architecture: layout.architecture, tensors: tensors, metadata: layout.metadata)
        } catch {
            throw .invalidArchitecture(error)
        }
    }

    /// The outline without touching tensor bytes (`Spec/reliability.md`, M3): L1–L18 are checked exactly as
    /// `read` checks them (only the preamble, the header and the padding between tensors are read); the CRC-32s
    /// are the stored ones, not verified (L19 is not checked, and data-level rules such as M25's finite
    /// peepholes are `read`'s).
    func outline() throws(CompactError) -> ModelOutline {
        let layout = try validatedLayout()
        return ModelOutline(architecture: layout.architecture,
                            tensors: layout.placed.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape, crc32: $0.crc, crc32Verified: false) },
                            metadata: layout.metadata)
    }

    /// Checks L1–L18 in order (L20) and returns what they establish.
    private func validatedLayout() throws(CompactError) -> Layout {
        let size = data.count
        // L1
        guard size >= CompactLayout.preambleSize else {
            if size >= CompactLayout.magic.count, bytes(0..<8) != CompactLayout.magic { throw .badMagic(found: bytes(0..<8)) }
            throw .truncatedPreamble(fileSize: size)
        }
        guard bytes(0..<8) == CompactLayout.magic else { throw .badMagic(found: bytes(0..<8)) }
        // L2
        let version = UInt32(truncatingIfNeeded: littleEndian(8, 4))
        guard version == CompactLayout.version || version == CompactLayout.maskedVersion else {
            throw .unsupportedVersion(found: version, supported: CompactLayout.maskedVersion)
        }
        // L3: the length is compared as u64 before it is converted or used.
        let storedCRC = UInt32(truncatingIfNeeded: littleEndian(12, 4))
        let headerLength = littleEndian(16, 8)
        guard headerLength <= UInt64(CompactLayout.maxHeaderLength) else {
            throw .headerTooLarge(length: headerLength, limit: CompactLayout.maxHeaderLength)
        }
        // L4: both terms are at most 16 MiB + 24, no overflow.
        let headerEnd = CompactLayout.preambleSize + Int(headerLength)
        guard headerEnd <= size else { throw .truncatedHeader(headerEnd: UInt64(headerEnd), fileSize: size) }
        // L5
        let headerBytes = slice(CompactLayout.preambleSize..<headerEnd)
        let computedCRC = CRC32.checksum(headerBytes)
        guard computedCRC == storedCRC else { throw .headerChecksumMismatch(stored: storedCRC, computed: computedCRC) }
        // L6–L8
        let header = try CompactHeader.decode(headerBytes)
        let architecture = try header.modelArchitecture()
        // L24: a mask in a version-1 file would be ignored by readers of version 1.
        if version == CompactLayout.version, architecture.isMasked { throw .maskNeedsVersion2 }
        let metadata = try header.metadataMap()
        // L9–L16
        guard let dataStart = CompactLayout.aligned(headerEnd) else { throw .truncatedHeader(headerEnd: UInt64(headerEnd), fileSize: size) }
        let placed = try placeTensors(header.tensors, architecture: architecture, dataStart: dataStart, fileSize: size)
        // L17
        let dataEnd = placed.last?.end ?? dataStart
        guard dataEnd == size else { throw .trailingBytes(dataEnd: dataEnd, fileSize: size) }
        // L18
        try checkZero(headerEnd..<min(dataStart, size))
        for (k, p) in placed.enumerated().dropFirst() { try checkZero(placed[k - 1].end..<p.start) }
        return Layout(architecture: architecture, metadata: metadata, placed: placed)
    }

    /// Checks the tensor table entry by entry (L9–L16) and returns the absolute byte range of every tensor.
    private func placeTensors(_ entries: [CompactHeader.Entry], architecture: ModelArchitecture, dataStart: Int,
                              fileSize: Int) throws(CompactError) -> [Placed] {
        let expected = architecture.expectedTensors
        var seen = Set<String>()
        var placed: [Placed] = []
        var nextOffset = 0
        for (k, e) in entries.enumerated() {
            // L9
            guard let dtype = DType(rawValue: e.dtype) else { throw .unknownDType(tensor: e.name, dtype: e.dtype) }
            // L10
            guard seen.insert(e.name).inserted else { throw .duplicateTensor(e.name) }
            // L11
            guard e.shape.allSatisfy({ $0 >= 0 }) else { throw .negativeDimension(tensor: e.name, shape: e.shape) }
            guard let count = Tensor.elementCount(e.shape) else { throw .shapeOverflow(tensor: e.name, shape: e.shape) }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else { throw .shapeOverflow(tensor: e.name, shape: e.shape) }
            // L12
            guard e.length == byteCount else { throw .lengthMismatch(tensor: e.name, expected: byteCount, actual: e.length) }
            // L13
            guard k < expected.count, expected[k].name == e.name else {
                throw .unexpectedTensor(position: k, expected: k < expected.count ? expected[k].name : nil, actual: e.name)
            }
            guard expected[k].shape == e.shape else { throw .shapeMismatch(tensor: e.name, expected: expected[k].shape, actual: e.shape) }
            // L14
            guard e.offset % CompactLayout.alignment == 0 else { throw .misalignedOffset(tensor: e.name, offset: e.offset) }
            // L15
            guard e.offset >= nextOffset else { throw .overlappingTensor(tensor: e.name, offset: e.offset, expected: nextOffset) }
            guard e.offset == nextOffset else { throw .holeBeforeTensor(tensor: e.name, offset: e.offset, expected: nextOffset) }
            // L16
            let (start, o1) = dataStart.addingReportingOverflow(e.offset)
            let (end, o2) = start.addingReportingOverflow(e.length)
            guard !o1, !o2 else { throw .tensorPastEnd(tensor: e.name, end: nil, fileSize: fileSize) }
            guard end <= fileSize else { throw .tensorPastEnd(tensor: e.name, end: end, fileSize: fileSize) }
            placed.append(Placed(name: e.name, dtype: dtype, shape: e.shape, start: start, end: end, crc: e.crc32))
            // The next offset; end - dataStart ≤ fileSize, far from overflow.
            nextOffset = CompactLayout.aligned(end - dataStart) ?? Int.max
        }
        if entries.count < expected.count { throw .missingTensor(expected[entries.count].name) }
        return placed
    }

    private func checkZero(_ range: Range<Int>) throws(CompactError) {
        guard !range.isEmpty else { return }
        let nonZero: (Int, UInt8)? = data.withUnsafeBytes { raw in
            for i in range where raw[i] != 0 { return (i, raw[i]) }
            return nil
        }
        if let (offset, byte) = nonZero { throw .nonZeroPadding(fileOffset: offset, byte: byte) }
    }

    private func bytes(_ range: Range<Int>) -> [UInt8] { Array(slice(range)) }

    private func slice(_ range: Range<Int>) -> Data {
        data[(data.startIndex + range.lowerBound)..<(data.startIndex + range.upperBound)]
    }

    /// An unsigned little-endian integer of `width` bytes at `offset`.
    private func littleEndian(_ offset: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        for (k, b) in bytes(offset..<(offset + width)).enumerated() { v |= UInt64(b) << (8 * k) }
        return v
    }
}
