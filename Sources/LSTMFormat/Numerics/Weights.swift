import CStepKernels
import Foundation

/// A model's weights fused for GEMM: per LSTM cell Wcat [4H, I], Ucat [4H, S] and bcat [4H] (S = P for a
/// projected layer, M24, else H), with peepholes Pcat [3H] (blocks p_f, p_i, p_o, M25) and, projected,
/// W_hr [P, H]; gate blocks in
/// canonical order f, i, c, o (so rows g·H ..< (g+1)·H of Wcat are W_g); per dense layer V [out, in] and c.
///
/// Every canonical tensor is one contiguous range of one buffer, which makes reading or perturbing a single
/// weight (the gradient checker's loop) an O(1) update.
final class Weights<T: BLASScalar> {
    struct Cell {
        let W: Buffer<T>
        let U: Buffer<T>
        let b: Buffer<T>
        /// Uᵀ [S, 4H], kept in sync with U, for a forward step through OpenBLAS: the per-step GEMM h·Ucatᵀ runs
        /// ~30% faster on a non-transposed operand (OpenBLAS packs it more cheaply). Nil in gradient cells and
        /// where the fused float32 kernel runs the forward step (`packed`).
        var UT: Buffer<T>? = nil
        /// W_hr [P, H] of a projected cell (M24), nil otherwise.
        var R: Buffer<T>? = nil
        /// [3H]: p_f, p_i, p_o of a cell with peepholes (M25), nil otherwise.
        var P: Buffer<T>? = nil
        /// U packed for the float32 step kernels (`Spec/bptt.md` B36), kept in sync with U; nil in float64, on
        /// CPUs without AVX-512 and in gradient cells.
        var packed: PackedU? = nil
    }

    /// Where a canonical tensor lives: a buffer, the range in it, and the tensor's shape.
    struct Location {
        let buffer: Buffer<T>
        let offset: Int
        let shape: [Int]
        var count: Int { shape.reduce(1, *) }
    }

    let architecture: ModelArchitecture
    /// cells[k][c] for layer k and its c-th cell in `LSTMLayerSpec.cells` order.
    let cells: [[Cell]]
    let denseV: [Buffer<T>]
    let denseC: [Buffer<T>]
    /// The embedding table E [V, I0] (M17), nil without an embedding.
    let embedding: Buffer<T>?
    let locations: [String: Location]

    /// The checks' copy of a model (`Spec/bptt.md` B31): the LSTM layers' buffers are views of one arena the
    /// size of the largest layer, filled from `model` when a pass reaches the layer (`materialize`); the dense
    /// layers and the embedding stay resident.
    private final class Stream {
        let model: LSTMModel
        let arena: Buffer<T>
        /// The layer whose values the arena holds, nil when none (after `adjust` changed, or a gradient was
        /// written to the arena).
        var resident: Int? = nil
        /// The layer whose tensors other than W and U the arena holds, for a pass whose products read W and U
        /// from the model's float32 tensors (B38); nil when none.
        var partial: Int? = nil
        /// Applied to each tensor's values right after they are converted from `model` (θ + a probe's step):
        /// (name, index in the tensor of the first value, values). Called from several threads at once on
        /// disjoint parts of a tensor (B39).
        var adjust: ((String, Int, UnsafeMutableBufferPointer<T>) -> Void)? = nil
        /// Single elements set through `setElement`, applied after `adjust`.
        var overrides: [String: [Int: T]] = [:]

        init(model: LSTMModel, arena: Buffer<T>) {
            self.model = model
            self.arena = arena
        }
    }

    private let stream: Stream?
    /// The LSTM layer of each streamed tensor.
    private let streamedLayer: [String: Int]
    /// The names of every W_g and U_g (the tensors the widening products can read from the model, B38).
    private let gateMatrices: Set<String>

    /// `transposedU: false` keeps no Uᵀ (the gradient checker's float64 copy: one model-sized buffer less).
    /// `streamed`: the checks' float64 copy, whose LSTM layers are converted one at a time into one arena when a
    /// pass reaches them (B31); only in float64.
    init(_ model: LSTMModel, transposedU: Bool = true, streamed: Bool = false) {
        let arch = model.architecture
        architecture = arch
        var cells: [[Cell]] = []
        var locations: [String: Location] = [:]
        var streamedLayer: [String: Int] = [:]
        var gateMatrices: Set<String> = []
        let isStreamed = streamed && T.self == Double.self
        var arena: Buffer<T>? = nil
        if isStreamed {
            // The largest layer's fused buffers, all of its cells.
            let sizes = arch.layers.map { layer -> Int in
                let h = layer.hiddenSize
                let one = 4 * h * layer.inputSize + 4 * h * layer.stateSize + 4 * h
                    + (layer.projectionSize ?? 0) * h + (layer.peepholes ? 3 * h : 0)
                return one * layer.cells.count
            }
            arena = Buffer<T>(count: sizes.max() ?? 0)
        }
        if let e = arch.embedding {
            let table = Buffer<T>(count: e.vocabularySize * arch.inputSize)
            locations[TensorName.embedding] = Location(buffer: table, offset: 0, shape: [e.vocabularySize, arch.inputSize])
            embedding = table
        } else {
            embedding = nil
        }
        for (k, layer) in arch.layers.enumerated() {
            let h = layer.hiddenSize, i = layer.inputSize, s = layer.stateSize
            var layerCells: [Cell] = []
            var used = 0
            /// A buffer of its own, or the next `count` elements of the arena.
            func buffer(_ count: Int) -> Buffer<T> {
                guard let arena else { return Buffer(count: count) }
                defer { used += count }
                return Buffer(viewing: arena, offset: used, count: count)
            }
            for dir in layer.cells {
                let packed = T.self == Float.self && StepKernels.active
                    ? PackedU(hidden: h, state: s, input: i, fusedForward: StepKernels.fusesForward(layer)) : nil
                let cell = Cell(W: buffer(4 * h * i), U: buffer(4 * h * s), b: buffer(4 * h),
                                UT: transposedU && packed?.gates == nil ? Buffer(count: 4 * h * s) : nil,
                                R: layer.projectionSize.map { buffer($0 * h) },
                                P: layer.peepholes ? buffer(3 * h) : nil, packed: packed)
                if let pcat = cell.P {
                    for (g, gate) in Gate.peepholed.enumerated() {
                        locations[TensorName.peephole(k, dir, gate)] = Location(buffer: pcat, offset: g * h, shape: [h])
                    }
                }
                if let r = cell.R, let p = layer.projectionSize {
                    locations[TensorName.projection(k, dir)] = Location(buffer: r, offset: 0, shape: [p, h])
                }
                for (g, gate) in Gate.allCases.enumerated() {
                    let w = TensorName.lstm(k, dir, .W, gate)
                    let u = TensorName.lstm(k, dir, .U, gate)
                    let b = TensorName.lstm(k, dir, .b, gate)
                    gateMatrices.formUnion([w, u])
                    locations[w] = Location(buffer: cell.W, offset: g * h * i, shape: [h, i])
                    locations[u] = Location(buffer: cell.U, offset: g * h * s, shape: [h, s])
                    locations[b] = Location(buffer: cell.b, offset: g * h, shape: [h])
                }
                layerCells.append(cell)
            }
            cells.append(layerCells)
            if isStreamed {
                for dir in layer.cells {
                    for name in Self.tensorNames(k, dir, layer) { streamedLayer[name] = k }
                }
            }
        }
        var denseV: [Buffer<T>] = [], denseC: [Buffer<T>] = []
        for (j, d) in arch.dense.enumerated() {
            let v = Buffer<T>(count: d.outputSize * d.inputSize), c = Buffer<T>(count: d.outputSize)
            locations[TensorName.denseV(j)] = Location(buffer: v, offset: 0, shape: [d.outputSize, d.inputSize])
            locations[TensorName.denseC(j)] = Location(buffer: c, offset: 0, shape: [d.outputSize])
            denseV.append(v)
            denseC.append(c)
        }
        self.cells = cells
        self.denseV = denseV
        self.denseC = denseC
        self.locations = locations
        self.streamedLayer = streamedLayer
        self.gateMatrices = gateMatrices
        stream = arena.map { Stream(model: model, arena: $0) }
        for (name, tensor) in model.tensors where streamedLayer[name] == nil {
            // LSTMModel guarantees every expected tensor is present with its canonical shape.
            if let loc = locations[name] { load(tensor, into: loc) }
        }
        if stream == nil { for layerCells in cells { for cell in layerCells { refresh(cell) } } }
    }

    /// Streamed (B31): makes the arena hold layer `k`'s values — converted from the model, then `adjust`ed and
    /// overridden — unless it already does. Every pass calls it before it uses a layer's weights. Without a
    /// stream it does nothing.
    func materialize(layer k: Int) {
        guard let stream, stream.resident != k else { return }
        let layer = architecture.layers[k]
        for dir in layer.cells {
            for name in Self.tensorNames(k, dir, layer) { fill(name, stream) }
        }
        stream.resident = k
        stream.partial = nil
    }

    /// Layer `k`'s fused W and U for the widening products (B38), per cell in `layer.cells` order. Streamed
    /// with no `adjust` and float32 gate tensors: read from the model, with the elements set through
    /// `setElement` over them; only the layer's other tensors are converted into the arena. Otherwise the
    /// float64 buffers, converted first when streamed. Only for `Weights<Double>`.
    func wideningRows(layer k: Int) -> [(W: WideningRows, U: WideningRows)] {
        let layer = architecture.layers[k]
        let h = layer.hiddenSize, i = layer.inputSize, s = layer.stateSize
        func fused(_ b: Buffer<T>) -> UnsafePointer<Double> {
            UnsafePointer(UnsafeMutableRawPointer(b.p).assumingMemoryBound(to: Double.self))
        }
        func fromBuffers() -> [(W: WideningRows, U: WideningRows)] {
            cells[k].map { (WideningRows(fused: fused($0.W), hidden: h, k: i), WideningRows(fused: fused($0.U), hidden: h, k: s)) }
        }
        guard let stream else { return fromBuffers() }
        let names = layer.cells.map { dir in
            (Gate.allCases.map { TensorName.lstm(k, dir, .W, $0) }, Gate.allCases.map { TensorName.lstm(k, dir, .U, $0) })
        }
        let float32 = names.allSatisfy { w, u in (w + u).allSatisfy { stream.model.tensors[$0]?.dtype == .float32 } }
        guard stream.adjust == nil, stream.resident != k, float32 else {
            materialize(layer: k)
            return fromBuffers()
        }
        if stream.partial != k {
            for dir in layer.cells {
                for name in Self.tensorNames(k, dir, layer) where !gateMatrices.contains(name) { fill(name, stream) }
            }
            stream.partial = k
            stream.resident = nil
        }
        func rows(_ gateNames: [String], _ width: Int) -> WideningRows {
            WideningRows(gates: gateNames.map { stream.model.tensors[$0]! },
                         overrides: gateNames.map { (stream.overrides[$0] ?? [:]).mapValues { Double($0) } },
                         hidden: h, k: width)
        }
        return names.map { w, u in (rows(w, i), rows(u, s)) }
    }

    /// Tensor `name` in its place: θ from the model, `adjust`, then the overridden elements. A large float32
    /// tensor is widened and adjusted in parts on every core (B39): each element on its own, so the same bits.
    private func fill(_ name: String, _ stream: Stream) {
        guard let loc = locations[name], let tensor = stream.model.tensors[name] else { return }
        let values = UnsafeMutableBufferPointer(start: loc.buffer.p + loc.offset, count: loc.count)
        let adjust = stream.adjust
        if T.self == Double.self, tensor.dtype == .float32, loc.count >= 1 << 16 {
            let out = UnsafeMutableRawPointer(values.baseAddress!).assumingMemoryBound(to: Double.self)
            tensor.bytes.withUnsafeBytes { raw in
                let src = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                RowParallel.run(parts: Self.fillThreads, count: loc.count, align: 1024) { part in
                    lstmk_widen(src + part.lowerBound, out + part.lowerBound, part.count)
                    adjust?(name, part.lowerBound, UnsafeMutableBufferPointer(rebasing: values[part]))
                }
            }
        } else {
            load(tensor, into: loc)
            adjust?(name, 0, values)
        }
        for (index, value) in stream.overrides[name] ?? [:] { values[index] = value }
    }

    /// Threads that convert a streamed layer (B39).
    private static var fillThreads: Int { Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, 8)) }

    /// Streamed (B31): every parameter becomes its value in the model passed through `adjust` (nil: θ itself);
    /// elements set before are forgotten. The resident tensors are rewritten now, the streamed ones when a pass
    /// reaches their layer.
    func setAdjustment(_ adjust: ((String, Int, UnsafeMutableBufferPointer<T>) -> Void)?) {
        guard let stream else { preconditionFailure("setAdjustment needs streamed weights") }
        stream.adjust = adjust
        stream.overrides = [:]
        stream.resident = nil
        stream.partial = nil
        for name in stream.model.tensors.keys where streamedLayer[name] == nil { fill(name, stream) }
    }

    /// Streamed (B31): a place for `count` values (a gradient) that holds no parameter: the arena when it is
    /// large enough (the arena no longer holds a layer afterwards), else nil.
    func scratch(count: Int) -> UnsafeMutableBufferPointer<T>? {
        guard let stream, count <= stream.arena.count else { return nil }
        stream.resident = nil
        stream.partial = nil
        return UnsafeMutableBufferPointer(start: stream.arena.p, count: count)
    }

    /// The canonical tensors of cell `dir` of LSTM layer `k`.
    private static func tensorNames(_ k: Int, _ dir: CellDirection, _ layer: LSTMLayerSpec) -> [String] {
        var names = Gate.allCases.flatMap { gate in TensorName.Kind.allCases.map { TensorName.lstm(k, dir, $0, gate) } }
        if layer.projectionSize != nil { names.append(TensorName.projection(k, dir)) }
        if layer.peepholes { names += Gate.peepholed.map { TensorName.peephole(k, dir, $0) } }
        return names
    }

    /// Rewrites U's derived copies (UT, `packed`) from U, for all of U's rows or only `rows`; and the packed W
    /// (B48) from W's same rows.
    private func refresh(_ cell: Cell, rows range: Range<Int>? = nil) {
        if let packed = cell.packed {
            let u = UnsafeRawPointer(cell.U.p).assumingMemoryBound(to: Float.self)
            packed.pack(u, rows: range ?? 0..<cell.b.count)
            packInput(cell, rows: range)
        }
        transpose(cell, rows: range)
    }

    /// Rewrites the packed W (B48) from W, for all of W's rows or only `rows`.
    private func packInput(_ cell: Cell, rows range: Range<Int>? = nil) {
        guard let packed = cell.packed else { return }
        let w = UnsafeRawPointer(cell.W.p).assumingMemoryBound(to: Float.self)
        packed.packInput(w, rows: range ?? 0..<cell.b.count)
    }

    /// The cell whose W is `buffer`, if any.
    private func cell(withW buffer: Buffer<T>) -> Cell? {
        for layerCells in cells { for cell in layerCells where cell.W === buffer { return cell } }
        return nil
    }

    /// Rewrites UT from U, for all of U's rows or only `rows` (one gate's block after a gate tensor changed).
    private func transpose(_ cell: Cell, rows range: Range<Int>? = nil) {
        guard let ut = cell.UT else { return }
        let rows = cell.b.count, cols = cell.U.count / rows
        // Blocks of 32 rows × 32 columns keep both the reads and the writes within cache lines.
        let all = range ?? 0..<rows
        let tile = 32
        for r0 in stride(from: all.lowerBound, to: all.upperBound, by: tile) {
            let r1 = Swift.min(r0 + tile, all.upperBound)
            for c0 in stride(from: 0, to: cols, by: tile) {
                let c1 = Swift.min(c0 + tile, cols)
                for r in r0..<r1 { for c in c0..<c1 { ut.p[c * rows + r] = cell.U.p[r * cols + c] } }
            }
        }
    }

    /// The cell whose U is `buffer`, if any.
    private func cell(withU buffer: Buffer<T>) -> Cell? {
        for layerCells in cells { for cell in layerCells where cell.U === buffer { return cell } }
        return nil
    }

    /// `tensor` (shaped as `loc`) converted straight into its place: no tensor-sized array on the way (B31).
    private func load(_ tensor: Tensor, into loc: Location) {
        T.copyValues(of: tensor, into: loc.buffer.p + loc.offset)
    }

    func location(_ name: String) throws(NumericsError) -> Location {
        guard let loc = locations[name] else { throw .unknownTensor(name) }
        return loc
    }

    func element(_ name: String, _ index: Int) throws(NumericsError) -> T {
        let loc = try location(name)
        guard index >= 0, index < loc.count else { throw .indexOutOfRange(tensor: name, index: index, count: loc.count) }
        if let k = streamedLayer[name], let stream {
            if let v = stream.overrides[name]?[index] { return v }
            if stream.adjust == nil, stream.resident != k, let v = modelElement(stream.model.tensors[name], index) { return v }
            materialize(layer: k)
        }
        return loc.buffer.p[loc.offset + index]
    }

    /// Element `index` of a float32 or float64 tensor of the model, as its conversion gives it; nil for others.
    private func modelElement(_ tensor: Tensor?, _ index: Int) -> T? {
        guard let tensor else { return nil }
        switch tensor.dtype {
        case .float32:
            return tensor.bytes.withUnsafeBytes { T(Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))) }
        case .float64:
            return tensor.bytes.withUnsafeBytes { T(Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)))) }
        case .float16, .bfloat16:
            return nil
        }
    }

    func setElement(_ name: String, _ index: Int, to value: T) throws(NumericsError) {
        let loc = try location(name)
        guard index >= 0, index < loc.count else { throw .indexOutOfRange(tensor: name, index: index, count: loc.count) }
        if let k = streamedLayer[name], let stream {
            // Recorded for every later conversion of the layer; written now only where the arena holds it.
            stream.overrides[name, default: [:]][index] = value
            guard stream.resident == k || (stream.partial == k && !gateMatrices.contains(name)) else { return }
        }
        let p = loc.offset + index
        loc.buffer.p[p] = value
        if let c = cell(withU: loc.buffer) {
            let rows = c.b.count, cols = c.U.count / rows
            c.UT?.p[(p % cols) * rows + p / cols] = value
            if c.packed != nil { refresh(c, rows: p / cols ..< p / cols + 1) }
        } else if let c = cell(withW: loc.buffer), c.packed != nil {
            let cols = c.W.count / c.b.count
            packInput(c, rows: p / cols ..< p / cols + 1)
        }
    }

    func replace(_ name: String, with tensor: Tensor) throws(NumericsError) {
        let loc = try location(name)
        guard tensor.shape == loc.shape else { throw .tensorShape(tensor: name, expected: loc.shape, actual: tensor.shape) }
        precondition(stream == nil, "replace on streamed weights")
        load(tensor, into: loc)
        didUpdate(loc)
    }

    /// Canonical tensor `name`'s values in place; call `didUpdate(name)` after writing to them. Not for streamed
    /// weights (their LSTM layers are rewritten from the model when a pass reaches them).
    func values(_ name: String) throws(NumericsError) -> UnsafeMutableBufferPointer<T> {
        let loc = try location(name)
        precondition(stream == nil, "values(_:) on streamed weights: use setAdjustment")
        return UnsafeMutableBufferPointer(start: loc.buffer.p + loc.offset, count: loc.count)
    }

    /// Brings derived copies (Uᵀ, the packed U) up to date after tensor `name` was written through `values(_:)`.
    func didUpdate(_ name: String) throws(NumericsError) {
        didUpdate(try location(name))
    }

    private func didUpdate(_ loc: Location) {
        if let c = cell(withW: loc.buffer), c.packed != nil {
            let cols = c.W.count / c.b.count
            packInput(c, rows: loc.offset / cols ..< loc.offset / cols + loc.shape[0])
            return
        }
        guard let c = cell(withU: loc.buffer) else { return }
        let cols = c.U.count / c.b.count
        refresh(c, rows: loc.offset / cols ..< loc.offset / cols + loc.shape[0])
    }
}
