import CFloatConversion
import Foundation
import Testing
@testable import LSTMFormat

/// M15: float32 -> float16 rounds to nearest-even with one rounding, float16 -> float32 is exact. The array
/// routines (F16C instructions where the CPU has them, a software rounding otherwise) must agree bit for bit with
/// Swift's own `Float16(Float)` / `Float(Float16)` (compiler-rt's correctly rounded conversions).
@Suite struct Float16ConversionTests {
    /// Edge cases: zeros, the float16 subnormal range and its rounding boundaries, ties, the overflow threshold,
    /// infinities, float32 subnormals; then seeded random bit patterns (seed printed in the name).
    static func samples() -> [UInt32] {
        var bits: [UInt32] = [0, 0x8000_0000, 0x3380_0000, 0x3300_0000, 0x3300_0001, 0x32FF_FFFF, 0x387F_E000,
                              0x3880_0000, 0x387F_F000, 0x3F80_1000, 0x3F80_3000, 0x3F80_1001, 0x477F_E000,
                              0x477F_EFFF, 0x477F_F000, 0x4780_0000, 0x7F80_0000, 0xFF80_0000, 0x0000_0001,
                              0x007F_FFFF, 0x7F7F_FFFF, 0x3E2A_AAAB, 0xC2F6_E979]
        var rng = SplitMix64(seed: 0xF16C)
        for _ in 0..<200_000 { bits.append(UInt32(truncatingIfNeeded: rng.next())) }
        return bits
    }

    @Test func narrowingMatchesSwiftOnBothPaths() {
        let input = Self.samples()
        var hardware = [UInt16](repeating: 0, count: input.count), software = hardware
        lstmformat_f32_to_f16(input, &hardware, input.count)
        lstmformat_f32_to_f16_software(input, &software, input.count)
        for (k, b) in input.enumerated() {
            let f = Float(bitPattern: b)
            let expected = Float16(f)
            if f.isNaN {
                #expect(Float16(bitPattern: hardware[k]).isNaN && Float16(bitPattern: software[k]).isNaN)
            } else {
                #expect(hardware[k] == expected.bitPattern, "hardware path, input bits \(String(b, radix: 16))")
                #expect(software[k] == expected.bitPattern, "software path, input bits \(String(b, radix: 16))")
            }
        }
    }

    @Test func wideningIsExactForEveryFloat16() {
        let input = (0...UInt16.max).map { $0 }
        var hardware = [Float](repeating: 0, count: input.count), software = hardware
        lstmformat_f16_to_f32(input, &hardware, input.count)
        lstmformat_f16_to_f32_software(input, &software, input.count)
        for (k, h) in input.enumerated() {
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN {
                #expect(hardware[k].isNaN && software[k].isNaN)
                #expect(hardware[k].bitPattern == software[k].bitPattern, "NaN payload, bits \(String(h, radix: 16))")
            } else {
                #expect(hardware[k].bitPattern == expected.bitPattern, "hardware path, bits \(String(h, radix: 16))")
                #expect(software[k].bitPattern == expected.bitPattern, "software path, bits \(String(h, radix: 16))")
            }
        }
    }

    @Test func tensorConversionsUseTheArrayRoutines() {
        // Odd length: the vector loop's tail goes through the scalar code.
        let values: [Float] = [1 + 0x1p-11, 65520, 0x1p-25, -0x1.8p-24, 3.14159, -2, 0, 1e-8, 6e-5, 1000.5, 7]
        let t = Tensor(shape: [values.count], float32: values)
        let h = t.converted(to: .float16)
        #expect(h.float32Values() == values.map { Float(Float16($0)) })
        #expect(h.float64Values() == values.map { Double(Float16($0)) })
        let b = t.converted(to: .bfloat16)
        #expect(b.float32Values() == values.map { BFloat16Bits.toFloat(BFloat16Bits.fromFloat($0)) })
    }
}
