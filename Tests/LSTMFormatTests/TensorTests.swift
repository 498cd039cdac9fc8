import Foundation
import Testing
@testable import LSTMFormat

@Suite struct TensorTests {
    @Test func bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between bfloat16 1.0 and 1 + 2^-7: ties go to the even significand (1.0).
        #expect(BFloat16Bits.fromFloat(1 + 0x1p-8) == 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        #expect(BFloat16Bits.fromFloat(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(BFloat16Bits.toFloat(0x3F82) == 1 + 0x1p-6)
    }

    @Test func bfloat16FromDoubleAvoidsDoubleRounding() {
        // Just above the bfloat16 tie 1 + 2^-8 by 2^-40: float32 rounding alone would land on the tie and then
        // round down to 1.0; the correct single rounding is up to 1 + 2^-7.
        #expect(BFloat16Bits.fromDouble(1 + 0x1p-8 + 0x1p-40) == 0x3F81)
    }

    @Test func float16ConversionRounds() {
        let t = Tensor(shape: [2], float64: [1.0 + 0x1p-11, 65520])  // tie -> 1.0; 65520 overflows to inf
        let h = t.converted(to: .float16)
        #expect(h.float64Values()[0] == 1.0)
        #expect(h.float64Values()[1] == .infinity)
    }

    @Test func byteCountIsChecked() {
        #expect(throws: TensorError.byteCountMismatch(shape: [2, 3], dtype: .float32, expected: 24, actual: 20)) {
            try Tensor(dtype: .float32, shape: [2, 3], bytes: Data(count: 20))
        }
        #expect(throws: TensorError.invalidShape([Int.max, 3])) {
            try Tensor(dtype: .float32, shape: [Int.max, 3], bytes: Data())
        }
    }
}
