import Foundation
import Testing
@testable import LSTMFormat

/// Damaged `.lstm` files (`Spec/lstm-format.md`, L20): every byte is checked (preamble fields, the header by its
/// CRC, padding as zeros, tensors by their CRCs, the file size exactly), so every change must throw a
/// `CompactError` — never crash, hang or return a model.
@Suite struct CompactMutationTests {
    static let seed: UInt64 = 0xDA11_A9ED
    static let count = 3000

    enum Mutation: CaseIterable { case bitFlips, byteChange, truncation, splice, insertion, deletion }

    static func mutate(_ file: [UInt8], _ kind: Mutation, _ rng: inout SeededRandom) -> [UInt8] {
        var out = file
        let n = file.count
        switch kind {
        case .bitFlips:
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                out[Int.random(in: 0..<n, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            }
        case .byteChange:
            out[Int.random(in: 0..<n, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        case .truncation:
            out.removeLast(Int.random(in: 1...n, using: &rng))
        case .splice:
            // Copy a run of the file over another place in it.
            let length = Int.random(in: 1...64, using: &rng)
            let from = Int.random(in: 0...(n - length), using: &rng)
            let to = Int.random(in: 0...(n - length), using: &rng)
            out.replaceSubrange(to..<(to + length), with: file[from..<(from + length)])
        case .insertion:
            let bytes = (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            out.insert(contentsOf: bytes, at: Int.random(in: 0...n, using: &rng))
        case .deletion:
            let at = Int.random(in: 0..<n, using: &rng)
            out.removeSubrange(at..<min(n, at + Int.random(in: 1...16, using: &rng)))
        }
        return out
    }

    @Test(.timeLimit(.minutes(5)))
    func L20_damagedFilesAlwaysThrow() throws {
        let arch = ModelArchitecture(
            layers: [LSTMLayerSpec(inputSize: 3, hiddenSize: 4, direction: .bidirectional, mergeMode: .concat),
                     LSTMLayerSpec(inputSize: 8, hiddenSize: 2, direction: .backward)],
            returnSequences: false, dense: [DenseLayerSpec(inputSize: 2, outputSize: 3, activation: .softmax)])
        let model = try RandomModels.model(arch, dtypes: [.float32, .float16, .bfloat16, .float64],
                                           metadata: ["source.format": "test", "name": "Müller"], seed: Self.seed)
        let file = Array(CompactFormat.encode(model))
        #expect(try CompactFormat.decode(Data(file)) == model)

        var rng = SeededRandom(seed: Self.seed)
        var tried = 0, accepted = 0, unchanged = 0
        var perKind: [String: Int] = [:], rules: [String: Int] = [:]
        while tried < Self.count {
            let kind = Mutation.allCases[Int.random(in: 0..<Mutation.allCases.count, using: &rng)]
            let damaged = Self.mutate(file, kind, &rng)
            if damaged == file { unchanged += 1; continue }  // e.g. a splice of equal bytes: not damage
            tried += 1
            perKind["\(kind)", default: 0] += 1
            do {
                _ = try CompactFormat.decode(Data(damaged))
                accepted += 1
                Issue.record("mutation \(tried) (\(kind), seed \(Self.seed)) was accepted")
            } catch {
                // `decode` throws only `CompactError`; note which rule caught the damage.
                let rule = error.description.split(separator: "(").last.map { String($0.dropLast()) } ?? "?"
                rules[rule, default: 0] += 1
            }
        }
        #expect(accepted == 0)
        #expect(perKind.count == Mutation.allCases.count, "every kind of damage was tried: \(perKind)")
        // Damage in the header, the data and the file size is caught by the rules for each.
        #expect(Set(["L5", "L16", "L17", "L19"]).isSubset(of: rules.keys), "rules that fired: \(rules)")
    }
}
