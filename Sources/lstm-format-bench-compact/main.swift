// Throughput of the `.lstm` reader and writer on a ~537 MB float32 model, against `cat file > /dev/null` on the
// same file in the same run. Warm page cache (the cache cannot be dropped here). Medians of 5 runs.
//
//     swift run -c release lstm-format-bench-compact [folder]      (default folder: the temporary directory)
//
// Also prints the size overhead of `.lstm` over the raw tensor bytes for a small model.
import Foundation
import LSTMFormat

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A float32 tensor of pseudo-random values (the library's SplitMix64), filled in place.
func randomTensor(_ shape: [Int], rng: inout SplitMix64) -> Tensor {
    let n = shape.reduce(1, *)
    var data = Data(count: n * 4)
    data.withUnsafeMutableBytes { raw in
        let f = raw.bindMemory(to: Float.self)
        for k in 0..<n {
            f[k] = Float(Int32(truncatingIfNeeded: rng.next())) * 0x1p-33
        }
    }
    return try! Tensor(dtype: .float32, shape: shape, bytes: data)
}

func randomModel(_ arch: ModelArchitecture) -> LSTMModel {
    var rng = SplitMix64(seed: 42)
    var tensors: [String: Tensor] = [:]
    for (name, shape) in arch.expectedTensors { tensors[name] = randomTensor(shape, rng: &rng) }
    return try! LSTMModel(architecture: arch, tensors: tensors, metadata: ["source.format": "benchmark"])
}

// Size overhead for a small model: 1 layer, input 4, hidden 8, dense 3.
let small = randomModel(ModelArchitecture(layers: [LSTMLayerSpec(inputSize: 4, hiddenSize: 8)], returnSequences: false,
                                          dense: [DenseLayerSpec(inputSize: 8, outputSize: 3)]))
let raw = small.tensors.values.reduce(0) { $0 + $1.bytes.count }
let smallFile = CompactFormat.encode(small)
let file = smallFile.count
let headerLength = smallFile[16..<24].reversed().reduce(0) { $0 << 8 | Int($1) }
print("small model: preamble 24 + header \(headerLength) + padding \(file - raw - 24 - headerLength) bytes "
      + "(\(small.tensors.count) tensors, each at a 64-byte boundary)")
print("small model (1 layer, input 4, hidden 8, dense 3, float32): raw tensor bytes \(raw), .lstm \(file) bytes, "
      + "overhead \(file - raw) bytes = \(String(format: "%.1f", Double(file - raw) / Double(raw) * 100))%")

// Big model: 2 bidirectional layers (merge sum), input 2048, hidden 2048, float32.
let h = 2048
let arch = ModelArchitecture(
    layers: [LSTMLayerSpec(inputSize: h, hiddenSize: h, direction: .bidirectional, mergeMode: .sum),
             LSTMLayerSpec(inputSize: h, hiddenSize: h, direction: .bidirectional, mergeMode: .sum)],
    returnSequences: true, dense: [DenseLayerSpec(inputSize: h, outputSize: 16)])
let model = randomModel(arch)
let folder = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory())
let url = folder.appendingPathComponent("bench-\(getpid()).lstm")
defer { try? FileManager.default.removeItem(at: url) }

var touched = 0
var save: [Double] = [], copy: [Double] = [], encode: [Double] = [], loadVerify: [Double] = [], loadLazy: [Double] = [], loadTouch: [Double] = [], cat: [Double] = []
for _ in 0..<5 {
    save.append(try seconds { try FormatRegistry.write(model, to: url) })
}
let size = Double(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int)
for _ in 0..<5 {
    cat.append(try seconds {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "cat '\(url.path)' > /dev/null"]
        try p.run()
        p.waitUntilExit()
    })
    loadVerify.append(try seconds {
        let m = try FormatRegistry.read(url).model
        precondition(m.parameterCount == model.parameterCount)
    })
    loadLazy.append(try seconds {
        let m = try FormatRegistry.read(url, options: ReadOptions(verifyChecksums: false)).model
        precondition(m.parameterCount == model.parameterCount)
    })
    loadTouch.append(try seconds {
        let m = try FormatRegistry.read(url, options: ReadOptions(verifyChecksums: false)).model
        var sum: UInt8 = 0  // read one byte per page so every page is mapped in
        for t in m.tensors.values {
            t.bytes.withUnsafeBytes { b in for i in stride(from: 0, to: b.count, by: 4096) { sum &+= b[i] } }
        }
        touched &+= Int(sum)
    })
    copy.append(try seconds {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "cat '\(url.path)' > '\(url.path).copy' && rm '\(url.path).copy'"]
        try p.run()
        p.waitUntilExit()
    })
    encode.append(seconds { precondition(CompactFormat.encode(model).count == Int(size)) })
}

func row(_ name: String, _ xs: [Double]) {
    let t = median(xs)
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0)
          + String(format: "%9.1f ms %10.0f MB/s", t * 1000, size / t / 1e6))
}
print("big model: \(model.parameterCount) float32 parameters, file \(Int(size)) bytes (\(String(format: "%.0f", size / 1e6)) MB); "
      + "warm page cache, median of 5")
row("cat file > /dev/null", cat)
row("cat file > new file (save baseline)", copy)
row("save (FormatRegistry.write, atomic)", save)
row("encode to memory (CRCs + copy, no file)", encode)
row("load, verify CRCs (default)", loadVerify)
row("load, --no-verify-checksums (mmap, lazy)", loadLazy)
row("load, no verify + touch every page", loadTouch)
print("(checksum of touched bytes: \(touched))")
