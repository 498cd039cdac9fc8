import Foundation

/// Arrays with a leading direction axis (`GateLayout.DirectionStorage.stackedLeading`, `Spec/layout.md` G5):
/// ONNX stores the forward and backward cells of a layer as [dirs, …], forward first. Each direction is a
/// contiguous run of bytes, so stacking and splitting are plain copies.
extension GateLayout {
    /// One array of shape [dirs] + the shape of the parts (which must share shape and dtype).
    public static func stackDirections(_ parts: [Tensor]) -> Tensor {
        var data = Data(capacity: parts.reduce(0) { $0 + $1.bytes.count })
        for p in parts { data.append(p.bytes) }
        return try! Tensor(dtype: parts[0].dtype, shape: [parts.count] + parts[0].shape, bytes: data)
    }

    /// The `count` parts of a [count, …] array.
    ///
    /// - Throws: `LayoutError.directions` when the leading dimension is not `count`.
    public static func splitDirections(_ t: Tensor, count: Int, array: String) throws(LayoutError) -> [Tensor] {
        guard t.shape.count >= 1, t.shape[0] == count, count > 0 else { throw .directions(array: array, expected: count, actual: t.shape) }
        let part = t.bytes.count / count, start = t.bytes.startIndex
        return (0..<count).map { k in
            try! Tensor(dtype: t.dtype, shape: Array(t.shape.dropFirst()), bytes: Data(t.bytes[(start + k * part)..<(start + (k + 1) * part)]))
        }
    }
}
