import Foundation
import Testing
@testable import LSTMFormat

/// Thousands of damaged safetensors files: each reads as an error or as a model, never a crash or a hang
/// (`Spec/pytorch-mapping.md`, P-T2). Seeded; the seed is in the test.
@Suite struct SafetensorsMutationTests {
    @Test func damagedFilesNeverCrash() throws {
        let fixture = try #require(PyTorchFixture.all.first { $0.id == "two_lstms_two_linears" })
        let original = try Data(contentsOf: fixture.file("model.safetensors"))
        let headerEnd = 8 + original.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        var rng = SeededRandom(seed: 0xdead_5afe)
        var errors = 0
        let trials = 3000
        for trial in 0..<trials {
            var bytes = [UInt8](original)
            switch trial % 5 {
            case 0:  // flip bytes in the header
                for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[Int(rng.next() % UInt64(headerEnd))] ^= UInt8(1 << (rng.next() % 8)) }
            case 1:  // truncate
                bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            case 2:  // a random header length
                let n = rng.next() >> (rng.next() % 64)
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
            case 3:  // replace a header digit with another digit (offsets, shapes)
                let digits = (8..<headerEnd).filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
                bytes[digits[Int(rng.next() % UInt64(digits.count))]] = 0x30 + UInt8(rng.next() % 10)
            default:  // insert or delete a header byte, fixing the length
                let at = 8 + Int(rng.next() % UInt64(headerEnd - 8))
                if rng.next() % 2 == 0 { bytes.insert(UInt8(rng.next() % 128), at: at) } else { bytes.remove(at: at) }
                let n = UInt64(headerEnd - 8 + (bytes.count - original.count))
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
            }
            do {
                let file = try SafetensorsFile.decode(Data(bytes))
                _ = try PyTorchStateDict.model(file.tensors, orderKnown: false, stored: file.metadata, options: ReadOptions(), format: "safetensors")
            } catch {
                errors += 1
                #expect(!String(describing: error).isEmpty)
            }
        }
        print("safetensors mutations: \(trials) files, \(errors) refused (seed 0xdead5afe)")
        #expect(errors > trials / 2)
    }
}
