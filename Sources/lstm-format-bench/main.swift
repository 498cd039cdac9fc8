// Benchmark of the verifier: forward and forward + BPTT, float32, at batch 32, 100 steps, input 128, hidden 512,
// one dense layer to 32 (the shapes of scripts/bench_torch.py). Run in release:
//
//     swift run -c release lstm-format-bench [--runs N] [--threads T] [--json] [--forward-only]
//
// Prints the median and minimum wall time over N timed runs (after 2 warm-up runs) of each; --json adds every
// run's time (scripts/bench.sh pools them over its rounds).
import Foundation
import LSTMFormat

struct Options {
    var runs = 20
    var threads = 2
    var json = false
    /// Times the forward pass only (for profiling it on its own).
    var forwardOnly = false
    var batch = 32, steps = 100, input = 128, hidden = 512, dense = 32

    init(_ args: [String]) throws {
        var it = args.dropFirst().makeIterator()
        func int(_ flag: String) throws -> Int {
            guard let v = it.next(), let n = Int(v), n > 0 else { throw BenchError.usage("\(flag) needs a positive integer") }
            return n
        }
        while let a = it.next() {
            switch a {
            case "--runs": runs = try int(a)
            case "--threads": threads = try int(a)
            case "--batch": batch = try int(a)
            case "--steps": steps = try int(a)
            case "--hidden": hidden = try int(a)
            case "--json": json = true
            case "--forward-only": forwardOnly = true
            default: throw BenchError.usage("unknown argument \(a); use --runs N --threads T --batch B --steps T --hidden H --json --forward-only")
            }
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    var description: String { switch self { case .usage(let m): "usage: \(m)" } }
}

/// Deterministic uniform values in [-scale, scale) (the library's SplitMix64).
func values(_ n: Int, scale: Double, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<n).map { _ in rng.symmetricUnit() * scale }
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

func summary(_ ms: [Double]) -> (median: Double, min: Double) {
    let s = ms.sorted()
    let mid = s.count / 2
    return (s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2, s[0])
}

do {
    let o = try Options(CommandLine.arguments)
    BLASThreads.set(o.threads)
    let arch = ModelArchitecture(
        layers: [LSTMLayerSpec(inputSize: o.input, hiddenSize: o.hidden)], returnSequences: true,
        dense: [DenseLayerSpec(inputSize: o.hidden, outputSize: o.dense)])
    var tensors: [String: Tensor] = [:]
    let scale = 1 / Double(o.hidden).squareRoot()
    for (k, (name, shape)) in arch.expectedTensors.enumerated() {
        tensors[name] = Tensor(shape: shape, values: values(shape.reduce(1, *), scale: scale, seed: UInt64(k)), dtype: .float32)
    }
    let model = try LSTMModel(architecture: arch, tensors: tensors)
    let x = Tensor(shape: [o.batch, o.steps, o.input], values: values(o.batch * o.steps * o.input, scale: 1, seed: 100), dtype: .float32)
    let y = Tensor(shape: [o.batch, o.steps, o.dense], values: values(o.batch * o.steps * o.dense, scale: 1, seed: 101), dtype: .float32)
    let prepared = PreparedModel(model, precision: .float32)
    var fwd: [Double] = [], bptt: [Double] = []
    for run in 0..<(o.runs + 2) {
        let f = try time { _ = try prepared.forward(inputs: x) }
        let b = o.forwardOnly ? 0 : try time { _ = try prepared.gradients(inputs: x, targets: y) }
        if run >= 2 { fwd.append(f); bptt.append(b) }
    }
    let (fm, fmin) = summary(fwd), (bm, bmin) = summary(bptt)
    if o.json {
        let list = { (ms: [Double]) in "[" + ms.map { String($0) }.joined(separator: ",") + "]" }
        print(#"{"impl":"lstm-format","threads":\#(o.threads),"runs":\#(o.runs),"forward_median_ms":\#(fm),"forward_min_ms":\#(fmin),"#
              + #""forward_backward_median_ms":\#(bm),"forward_backward_min_ms":\#(bmin),"#
              + #""forward_ms":\#(list(fwd)),"forward_backward_ms":\#(list(bptt))}"#)
    } else {
        print("lstm-format verifier, float32, batch \(o.batch), steps \(o.steps), input \(o.input), hidden \(o.hidden), "
              + "dense \(o.dense), OpenBLAS threads \(BLASThreads.current), \(o.runs) runs")
        print(String(format: "forward          median %8.2f ms   min %8.2f ms", fm, fmin))
        print(String(format: "forward + BPTT   median %8.2f ms   min %8.2f ms", bm, bmin))
    }
} catch {
    FileHandle.standardError.write(Data("lstm-format-bench: \(error)\n".utf8))
    exit(2)
}
