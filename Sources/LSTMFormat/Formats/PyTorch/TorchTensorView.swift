import Foundation

/// A strided view into a storage made into a dense C-order tensor (`Spec/pytorch-mapping.md`, P-Z3): storage
/// offset and strides honoured, every index overflow-checked and inside the storage.
enum TorchTensorView {
    static func materialize(_ ref: TorchTensorRef, name: String, storage: Data) throws -> Tensor {
        guard let entry = WeightsOnlyGlobals.storages[ref.storage.className], let dtype = entry else {
            throw TorchArchiveError.tensor(name: name, reason: "is stored as \(ref.storage.className); only float32, float64, float16 and bfloat16 are supported")
        }
        let size = dtype.byteSize
        guard ref.size.count == ref.stride.count else { throw TorchArchiveError.tensor(name: name, reason: "size \(ref.size) and stride \(ref.stride) differ in rank") }
        let (need, o1) = ref.storage.numel.multipliedReportingOverflow(by: size)
        guard !o1, storage.count >= need else {
            throw TorchArchiveError.storage(key: ref.storage.key, reason: "holds \(storage.count) bytes, fewer than its \(ref.storage.numel) elements")
        }
        guard let count = Tensor.elementCount(ref.size) else { throw TorchArchiveError.tensor(name: name, reason: "size \(ref.size) overflows") }
        if count == 0 { return Tensor.zeros(shape: ref.size, dtype: dtype) }
        var last = ref.offset
        for (n, s) in zip(ref.size, ref.stride) {
            let (span, o2) = (n - 1).multipliedReportingOverflow(by: s)
            let (sum, o3) = last.addingReportingOverflow(span)
            guard !o2, !o3 else { throw TorchArchiveError.tensor(name: name, reason: "its view overflows") }
            last = sum
        }
        guard last < ref.storage.numel else {
            throw TorchArchiveError.tensor(name: name, reason: "its view (offset \(ref.offset), size \(ref.size), stride \(ref.stride)) reaches element \(last) of a \(ref.storage.numel)-element storage")
        }
        // Contiguous in C order: one slice.
        var expected = 1, contiguous = true
        for (n, s) in zip(ref.size, ref.stride).reversed() where n != 1 {
            if s != expected { contiguous = false }
            expected *= n
        }
        let base = storage.startIndex
        if contiguous {
            return try Tensor(dtype: dtype, shape: ref.size, bytes: Data(storage[(base + ref.offset * size)..<(base + (ref.offset + count) * size)]))
        }
        var out = Data(count: count * size)
        let rank = ref.size.count
        out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
            storage.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                var index = [Int](repeating: 0, count: rank)
                var position = ref.offset
                for k in 0..<count {
                    memcpy(dst.baseAddress! + k * size, src.baseAddress! + position * size, size)
                    // Wrapping: past the last index of a dimension (a size-1 dimension may have any stride)
                    // position leaves the view for a moment; the value it comes back to is inside (checked above).
                    var d = rank - 1
                    while d >= 0 {
                        index[d] += 1
                        position &+= ref.stride[d]
                        if index[d] < ref.size[d] { break }
                        position &-= ref.stride[d] &* ref.size[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return try Tensor(dtype: dtype, shape: ref.size, bytes: out)
    }
}
