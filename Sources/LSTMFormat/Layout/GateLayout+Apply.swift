import Foundation

/// The one routine that applies a `GateLayout` (`Spec/layout.md`, G4, G6): framework cell ↔ canonical cell.
/// Weights move byte for byte; only a two-array bias is summed (G3, one rounding).
extension GateLayout {
    /// The canonical cell of a framework cell with `hidden` units. The input size n is read from the input matrix.
    /// No bias arrays: b = 0 in the input weights' dtype (M14).
    ///
    /// - Throws: `LayoutError.shape` when an array does not have the shape this layout gives it,
    ///   `LayoutError.biasCount` when the number of bias arrays is neither 0 nor what the layout stores.
    /// `state`: the width of h when it differs from H (a projected cell, M24: U_g are then [H, state]).
    public func unpack(_ cell: FrameworkCell, hidden h: Int, state: Int? = nil) throws(LayoutError) -> CanonicalCell {
        let n = try inputSize(cell.input, hidden: h)
        let s = state ?? h
        let recurrent = Self.shape(recurrentWeights, s, h)
        guard cell.recurrent.shape == recurrent else {
            throw .shape(layout: name, array: "recurrent weights", expected: recurrent, actual: cell.recurrent.shape)
        }
        let W = Self.split(cell.input, inputWeights, inputs: n, hidden: h, order: gateOrder)
        let U = Self.split(cell.recurrent, recurrentWeights, inputs: s, hidden: h, order: gateOrder)
        let b: [Gate: Tensor]
        if cell.biases.isEmpty {
            b = Dictionary(uniqueKeysWithValues: Gate.allCases.map { ($0, Tensor.zeros(shape: [h], dtype: cell.input.dtype)) })
        } else {
            let shapes = biasShapes(hidden: h)
            guard cell.biases.count == shapes.count else { throw .biasCount(layout: name, expected: shapes.count, actual: cell.biases.count) }
            for (k, (t, s)) in zip(cell.biases, shapes).enumerated() where t.shape != s {
                throw .shape(layout: name, array: "bias \(k)", expected: s, actual: t.shape)
            }
            let whole: Tensor
            switch bias {
            case .single: whole = cell.biases[0]
            case .concatenatedPair: whole = BiasSum.halves(cell.biases[0])
            case .separatePair: whole = BiasSum.sum(cell.biases[0], cell.biases[1])
            }
            b = Self.slices(whole, hidden: h, order: gateOrder)
        }
        return CanonicalCell(W: W, U: U, b: b)
    }

    /// The framework cell of a canonical cell. Blocks of one array that differ in dtype are widened exactly to a
    /// common dtype first (float64 when one is float64, else float32). A two-array bias is written as b and
    /// zeros (G3: their sum is b exactly).
    public func pack(_ cell: CanonicalCell) -> FrameworkCell {
        let arrays = packLazily(cell).map { $0() }
        return FrameworkCell(input: arrays[0], recurrent: arrays[1], biases: Array(arrays[2...]))
    }

    /// `pack` one array at a time: closures that make the input weights, the recurrent weights and each bias
    /// array, in that order, with the bytes `pack` gives. A writer calls each as it writes that array, so it
    /// holds one rearranged copy at a time.
    public func packLazily(_ cell: CanonicalCell) -> [() -> Tensor] {
        let order = gateOrder, inputWeights = inputWeights, recurrentWeights = recurrentWeights
        let b = { Self.concatenated(Self.common(order.map { cell.b[$0]! })) }
        let biases: [() -> Tensor]
        switch bias {
        case .single: biases = [b]
        case .concatenatedPair: biases = [{ let v = b(); return Self.concatenated([v, Tensor.zeros(shape: v.shape, dtype: v.dtype)]) }]
        case .separatePair: biases = [b, { let v = b(); return Tensor.zeros(shape: v.shape, dtype: v.dtype) }]
        }
        return [{ Self.join(Self.common(order.map { cell.W[$0]! }), inputWeights) },
                { Self.join(Self.common(order.map { cell.U[$0]! }), recurrentWeights) }] + biases
    }

    private func inputSize(_ m: Tensor, hidden h: Int) throws(LayoutError) -> Int {
        let ok: Bool
        let n: Int
        if m.shape.count == 2 {
            n = inputWeights == .rows ? m.shape[1] : m.shape[0]
            ok = n > 0 && m.shape == inputShape(inputs: n, hidden: h)
        } else { n = 0; ok = false }
        guard ok else { throw .shape(layout: name, array: "input weights", expected: inputShape(inputs: max(n, 1), hidden: h), actual: m.shape) }
        return n
    }

    // MARK: matrices

    /// The four [H, n] gate matrices of a framework matrix holding n inputs per unit.
    static func split(_ m: Tensor, _ storage: MatrixStorage, inputs n: Int, hidden h: Int, order: [Gate]) -> [Gate: Tensor] {
        let size = m.dtype.byteSize, blockBytes = h * n * size
        var out: [Gate: Tensor] = [:]
        // Zero pages in, zero pages out: an outline read (M3) moves no bytes.
        if m.isDeclaredOnly, let blocks = try? order.map({ _ in try Tensor.declaredOnly(dtype: m.dtype, shape: [h, n]) }) {
            return Dictionary(uniqueKeysWithValues: zip(order, blocks))
        }
        // G8: a transposed block is held as its source and the move; the `.lstm` writer moves it band by band.
        if storage == .columnsTransposed, blockBytes > 0 {
            let source = m.bytes
            return Dictionary(uniqueKeysWithValues: order.enumerated().map { k, gate in
                (gate, Tensor(deferred: TensorRows.transposed(source, offset: k * h * size, sourceStride: 4 * h, rows: n, cols: h,
                                                              dtype: m.dtype)))
            })
        }
        m.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            for (k, gate) in order.enumerated() {
                var data = Data(count: blockBytes)
                if blockBytes > 0 {
                    data.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
                        let s = src.baseAddress!, d = dst.baseAddress!
                        switch storage {
                        case .rows:
                            memcpy(d, s + k * blockBytes, blockBytes)
                        case .columnsReshaped:  // row r of the [n, 4H] matrix, columns kH..<(k+1)H → flat r·H
                            ByteCopy.runs(s + k * h * size, srcStride: 4 * h * size, d, dstStride: h * size, rows: n, runBytes: h * size)
                        case .columnsTransposed:  // W[j, r] = M[r, kH + j]
                            ByteCopy.transpose(s + k * h * size, srcStride: 4 * h, d, dstStride: n, rows: n, cols: h, elementSize: size)
                        }
                    }
                }
                out[gate] = try! Tensor(dtype: m.dtype, shape: [h, n], bytes: data)  // h·n elements by construction
            }
        }
        // A source read in place from a mapped file is done with: drop its pages (M4; the bytes stay readable).
        MappedFile.dropResidentPages(of: m.bytes)
        return out
    }

    /// The framework matrix of four [H, n] gate matrices in framework order (one dtype).
    static func join(_ blocks: [Tensor], _ storage: MatrixStorage) -> Tensor {
        let dtype = blocks[0].dtype, size = dtype.byteSize
        let h = blocks[0].shape[0], n = blocks[0].shape[1], blockBytes = h * n * size
        var data = Data(count: 4 * blockBytes)
        if blockBytes > 0 {
            data.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
                let d = dst.baseAddress!
                for (k, block) in blocks.enumerated() {
                    block.bytes.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                        let s = src.baseAddress!
                        switch storage {
                        case .rows:
                            memcpy(d + k * blockBytes, s, blockBytes)
                        case .columnsReshaped:
                            ByteCopy.runs(s, srcStride: h * size, d + k * h * size, dstStride: 4 * h * size, rows: n, runBytes: h * size)
                        case .columnsTransposed:  // M[r, kH + j] = W[j, r]
                            ByteCopy.transpose(s, srcStride: n, d + k * h * size, dstStride: 4 * h, rows: h, cols: n, elementSize: size)
                        }
                    }
                    // A block read in place from a mapped file is done with: drop its pages (M4).
                    MappedFile.dropResidentPages(of: block.bytes)
                }
            }
        }
        return try! Tensor(dtype: dtype, shape: Self.shape(storage, n, h), bytes: data)  // 4·h·n elements by construction
    }

    // MARK: vectors

    /// The four [H] gate slices of a [4H] vector.
    static func slices(_ v: Tensor, hidden h: Int, order: [Gate]) -> [Gate: Tensor] {
        let bytes = h * v.dtype.byteSize
        var out: [Gate: Tensor] = [:]
        for (k, gate) in order.enumerated() {
            let start = v.bytes.startIndex + k * bytes
            out[gate] = try! Tensor(dtype: v.dtype, shape: [h], bytes: Data(v.bytes[start..<(start + bytes)]))
        }
        return out
    }

    static func concatenated(_ vectors: [Tensor]) -> Tensor {
        var data = Data(capacity: vectors.reduce(0) { $0 + $1.bytes.count })
        for v in vectors { data.append(v.bytes) }
        return try! Tensor(dtype: vectors[0].dtype, shape: [data.count / vectors[0].dtype.byteSize], bytes: data)
    }

    /// The tensors unchanged when they share a dtype; otherwise each widened exactly to float64 (when one is
    /// float64) or float32.
    static func common(_ ts: [Tensor]) -> [Tensor] {
        let dtypes = Set(ts.map(\.dtype))
        guard dtypes.count > 1 else { return ts }
        let target: DType = dtypes.contains(.float64) ? .float64 : .float32
        return ts.map { $0.converted(to: target) }
    }
}
