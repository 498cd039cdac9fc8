import Foundation
import Testing
@testable import LSTMFormat

/// The gate-layout table and its one routine (`Spec/layout.md`, G1–G7), checked against an independent
/// element-by-element reference and hand-built arrays.
@Suite struct LayoutTests {
    /// A canonical cell whose elements are all distinct: W_g[j, r] = gate·1000 + 100 + j·n + r, and so on.
    static func distinctCell(inputs n: Int, hidden h: Int, dtype: DType) -> CanonicalCell {
        func t(_ shape: [Int], _ base: Int) -> Tensor {
            Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Double(base + $0) }, dtype: dtype)
        }
        var W: [Gate: Tensor] = [:], U: [Gate: Tensor] = [:], b: [Gate: Tensor] = [:]
        for (k, g) in Gate.allCases.enumerated() {
            W[g] = t([h, n], k * 1000 + 100)
            U[g] = t([h, h], k * 1000 + 400)
            b[g] = t([h], k * 1000 + 900)
        }
        return CanonicalCell(W: W, U: U, b: b)
    }

    /// Reference for G2: element (row, col) of the framework matrix, computed one element at a time.
    static func reference(_ blocks: [Gate: Tensor], _ storage: GateLayout.MatrixStorage, order: [Gate], inputs n: Int, hidden h: Int) -> [Double] {
        let values = blocks.mapValues { $0.float64Values() }
        let shape = GateLayout.shape(storage, n, h)
        var out = [Double](repeating: .nan, count: shape[0] * shape[1])
        for row in 0..<shape[0] {
            for col in 0..<shape[1] {
                let v: Double
                switch storage {
                case .rows:  // block k = rows kH..<(k+1)H, equal to W_g
                    let k = row / h, j = row % h
                    v = values[order[k]]![j * n + col]
                case .columnsTransposed:  // block k = columns, equal to W_gᵀ
                    let k = col / h, j = col % h
                    v = values[order[k]]![j * n + row]
                case .columnsReshaped:  // block k's C-order elements are W_g's C-order elements
                    let k = col / h, j = col % h
                    v = values[order[k]]![row * h + j]
                }
                out[row * shape[1] + col] = v
            }
        }
        return out
    }

    /// G2, G6: packing matches the element-by-element reference and unpacking returns the same bytes, for every
    /// table entry, odd shapes and every dtype.
    @Test(arguments: GateLayout.all)
    func packMatchesReferenceAndUnpackInvertsIt(_ layout: GateLayout) throws {
        for (n, h) in [(1, 1), (3, 2), (2, 5), (37, 33), (70, 3)] {
            for dtype in DType.allCases where n * h < 300 || dtype == .float32 {
                let cell = Self.distinctCell(inputs: n, hidden: h, dtype: dtype)
                let packed = layout.pack(cell)
                #expect(packed.input.shape == layout.inputShape(inputs: n, hidden: h))
                #expect(packed.input.float64Values() == Self.reference(cell.W, layout.inputWeights, order: layout.gateOrder, inputs: n, hidden: h),
                        "\(layout.name) n=\(n) h=\(h) \(dtype)")
                #expect(packed.recurrent.float64Values() == Self.reference(cell.U, layout.recurrentWeights, order: layout.gateOrder, inputs: h, hidden: h))
                #expect(packed.biases.map(\.shape) == layout.biasShapes(hidden: h))
                let back = try layout.unpack(packed, hidden: h)
                #expect(back == cell, "\(layout.name) n=\(n) h=\(h) \(dtype)")
                // Bytes survive the other way round too: framework → canonical → framework.
                #expect(layout.pack(back) == packed)
            }
        }
    }

    /// G1, G7: PyTorch's weight_ih rows are i, f, g, o and its g is the canonical c.
    @Test func pytorchRowsAreIFGO() throws {
        let h = 2, n = 3
        let weightIH = Tensor(shape: [4 * h, n], float32: (0..<(4 * h * n)).map(Float.init))  // value = row·3 + col
        let weightHH = Tensor(shape: [4 * h, h], float32: (0..<(4 * h * h)).map { Float(100 + $0) })
        let ih = Tensor(shape: [4 * h], float32: [1, 2, 3, 4, 5, 6, 7, 8]), hh = Tensor(shape: [4 * h], float32: [10, 20, 30, 40, 50, 60, 70, 80])
        let c = try GateLayout.pytorch.unpack(FrameworkCell(input: weightIH, recurrent: weightHH, biases: [ih, hh]), hidden: h)
        #expect(c.W[.i]?.float32Values() == [0, 1, 2, 3, 4, 5])
        #expect(c.W[.f]?.float32Values() == [6, 7, 8, 9, 10, 11])
        #expect(c.W[.c]?.float32Values() == [12, 13, 14, 15, 16, 17])
        #expect(c.U[.o]?.float32Values() == [112, 113, 114, 115])
        #expect(c.b[.c]?.float32Values() == [55, 66])  // bias_ih + bias_hh of the g rows
    }

    /// G1, G5, G7: ONNX stores gates i, o, f, c, B = [Wb ‖ Rb], and a leading direction axis.
    @Test func onnxGateOrderAndStackedDirections() throws {
        let h = 1, n = 2
        let W = Tensor(shape: [4, n], float32: [1, 2, 3, 4, 5, 6, 7, 8])  // rows i, o, f, c
        let R = Tensor(shape: [4, h], float32: [10, 20, 30, 40])
        let B = Tensor(shape: [8], float32: [1, 2, 3, 4, 100, 200, 300, 400])
        let stacked = GateLayout.stackDirections([W, W])
        #expect(stacked.shape == [2, 4, n])
        let parts = try GateLayout.splitDirections(stacked, count: 2, array: "W")
        let c = try GateLayout.onnx.unpack(FrameworkCell(input: parts[1], recurrent: R, biases: [B]), hidden: h)
        #expect(c.W[.o]?.float32Values() == [3, 4])
        #expect(c.W[.f]?.float32Values() == [5, 6])
        #expect(c.U[.c]?.float32Values() == [40])
        #expect(c.b[.f]?.float32Values() == [303])
        #expect(throws: LayoutError.directions(array: "W", expected: 3, actual: [2, 4, 2])) { try GateLayout.splitDirections(stacked, count: 3, array: "W") }
    }

    /// G3: a bias pair is summed with one rounding to the bias dtype, which is IEEE addition in that dtype.
    @Test func biasPairSumRoundsOnce() throws {
        var rng = SeededRandom(seed: 0x5eed_0009)  // seed printed by its name
        let a = (0..<4000).map { _ in Float(rng.uniform(1)) * Float(1 << Int(rng.next() % 40)) / Float(1 << 20) }
        let b = (0..<4000).map { _ in Float(rng.uniform(1)) * Float(1 << Int(rng.next() % 40)) / Float(1 << 20) }
        let sum = BiasSum.sum(Tensor(shape: [4000], float32: a), Tensor(shape: [4000], float32: b))
        #expect(sum.dtype == .float32)
        #expect(sum.float32Values() == zip(a, b).map { $0 + $1 })
        // A tie: 1 + 2^-24 rounds to even (1), 1 + 2^-24 + 2^-40 rounds up.
        let tie = BiasSum.sum(Tensor(shape: [2], float32: [1, 1]), Tensor(shape: [2], float32: [0x1p-24, 0x1p-24 + 0x1p-40]))
        #expect(tie.float32Values() == [1, 1 + 0x1p-23])
        let h16 = (0..<2000).map { _ in Float16(rng.uniform(8)) }, k16 = (0..<2000).map { _ in Float16(rng.uniform(0.01)) }
        let s16 = BiasSum.sum(Tensor(shape: [2000], values: h16.map(Double.init), dtype: .float16),
                              Tensor(shape: [2000], values: k16.map(Double.init), dtype: .float16))
        #expect(s16.float64Values() == zip(h16, k16).map { Double($0 + $1) })
        // A written pair is b and zeros: reading it back gives b exactly.
        let cell = Self.distinctCell(inputs: 2, hidden: 3, dtype: .bfloat16)
        let packed = GateLayout.pytorch.pack(cell)
        #expect(packed.biases[1].float64Values().allSatisfy { $0 == 0 })
        #expect(try GateLayout.pytorch.unpack(packed, hidden: 3).b == cell.b)
    }

    /// G3, M14: no bias arrays read as zeros in the weights' dtype.
    @Test func noBiasReadsAsZeros() throws {
        let packed = GateLayout.keras.pack(Self.distinctCell(inputs: 2, hidden: 2, dtype: .float64))
        let c = try GateLayout.keras.unpack(FrameworkCell(input: packed.input, recurrent: packed.recurrent, biases: []), hidden: 2)
        #expect(c.b[.o] == Tensor.zeros(shape: [2], dtype: .float64))
    }

    /// G4: every array's shape is checked before its bytes are touched.
    @Test func wrongShapesAreRefusedNamingTheArray() {
        let good = GateLayout.pytorch.pack(Self.distinctCell(inputs: 3, hidden: 2, dtype: .float32))
        #expect(throws: LayoutError.shape(layout: "PyTorch", array: "input weights", expected: [8, 8], actual: [3, 8])) {
            try GateLayout.pytorch.unpack(FrameworkCell(input: good.input.transposed2D(), recurrent: good.recurrent, biases: good.biases), hidden: 2)
        }
        #expect(throws: LayoutError.shape(layout: "PyTorch", array: "recurrent weights", expected: [8, 2], actual: [8, 3])) {
            try GateLayout.pytorch.unpack(FrameworkCell(input: good.input, recurrent: good.input, biases: good.biases), hidden: 2)
        }
        #expect(throws: LayoutError.biasCount(layout: "PyTorch", expected: 2, actual: 1)) {
            try GateLayout.pytorch.unpack(FrameworkCell(input: good.input, recurrent: good.recurrent, biases: [good.biases[0]]), hidden: 2)
        }
        #expect(throws: LayoutError.shape(layout: "ONNX", array: "bias 0", expected: [16], actual: [8])) {
            try GateLayout.onnx.unpack(FrameworkCell(input: good.input, recurrent: good.recurrent, biases: [good.biases[0]]), hidden: 2)
        }
    }

    /// G6: blocks of one array in different dtypes are widened exactly to a common dtype.
    @Test func mixedDTypesWidenExactly() throws {
        var cell = Self.distinctCell(inputs: 2, hidden: 2, dtype: .float16)
        cell.W[.o] = cell.W[.o]!.converted(to: .float64)
        let packed = GateLayout.keras.pack(cell)
        #expect(packed.input.dtype == .float64)
        #expect(packed.recurrent.dtype == .float16)
        #expect(try GateLayout.keras.unpack(packed, hidden: 2).W[.f] == cell.W[.f]!.converted(to: .float64))
    }
}
