import Foundation

/// Element type of a stored tensor. Every dtype is little-endian in every file format.
///
/// Conversions between dtypes round to nearest, ties to even (IEEE 754 default), with no double rounding:
/// float64 → bfloat16 goes through float32 with round-to-odd.
public enum DType: String, Codable, CaseIterable, Sendable {
    case float32
    case float64
    case float16
    case bfloat16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64: 8
        case .float32: 4
        case .float16, .bfloat16: 2
        }
    }

    /// Significand bits including the implicit bit: 24, 53, 11, 8. Used to derive comparison tolerances.
    public var significandBits: Int {
        switch self {
        case .float64: 53
        case .float32: 24
        case .float16: 11
        case .bfloat16: 8
        }
    }

    /// Unit roundoff 2^-p: the largest relative error of one rounding to this dtype.
    public var unitRoundoff: Double { Double.ulpOfOne * pow(2.0, Double(53 - significandBits)) / 2 }
}

/// bfloat16 bit conversions (the top 16 bits of an IEEE binary32).
public enum BFloat16Bits {
    /// Rounds a float32 to the nearest bfloat16, ties to even. NaN stays NaN (quiet), infinities stay infinite.
    @inlinable
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounding: UInt32 = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// Rounds a float64 to the nearest bfloat16 with a single rounding: the float64 is first rounded to
    /// float32 *to odd* (which keeps enough information for the second rounding to be correct).
    public static func fromDouble(_ value: Double) -> UInt16 {
        if value.isNaN { return fromFloat(Float.nan) }
        var f = Float(value)
        if f.isInfinite && value.isFinite {
            f = value > 0 ? Float.greatestFiniteMagnitude : -Float.greatestFiniteMagnitude
        } else if f.isFinite, abs(Double(f)) > abs(value) {
            f = Float(bitPattern: f.bitPattern &- 1)  // step toward zero
        }
        if f.isFinite, Double(f) != value {
            f = Float(bitPattern: f.bitPattern | 1)  // sticky bit: round to odd
        }
        return fromFloat(f)
    }

    @inlinable
    public static func toFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
