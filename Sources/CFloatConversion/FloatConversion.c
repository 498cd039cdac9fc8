// float32 <-> float16 conversion of whole arrays. The F16C instructions (VCVTPS2PH / VCVTPH2PS, on x86-64 since
// 2012) convert 8 values per instruction with IEEE round-to-nearest-even and handle subnormals, infinities and
// NaNs in hardware; they are chosen at run time, so the binary still runs on CPUs without them.
#include "CFloatConversion.h"

#include <string.h>

static uint16_t f32_to_f16_one(uint32_t x) {
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) {  // infinity or NaN
        if (absx == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
        return (uint16_t)(sign | 0x7e00u | ((absx >> 13) & 0x3ffu));  // quiet NaN, top payload bits kept
    }
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds to infinity (>= 65520)
    if (absx < 0x38800000u) {  // below the smallest normal float16 (2^-14): subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign;  // below half the smallest subnormal (2^-25): rounds to 0
        uint32_t exponent = absx >> 23;
        uint32_t mantissa = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent;  // 14..24 bits of the 24-bit significand drop
        uint32_t value = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rest > half || (rest == half && (value & 1u))) value += 1;
        return (uint16_t)(sign | value);
    }
    // Normal: rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, ties to even; a carry
    // into the exponent is correct (it also produces infinity at the top, excluded above).
    uint32_t value = (absx - 0x38000000u) >> 13;
    uint32_t rest = absx & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (value & 1u))) value += 1;
    return (uint16_t)(sign | value);
}

static uint32_t f16_to_f32_one(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) {
        if (mantissa == 0) return sign | 0x7f800000u;  // infinity
        return sign | 0x7fc00000u | (mantissa << 13);  // NaN: quieted, payload kept (as VCVTPH2PS does)
    }
    if (exponent == 0) {
        if (mantissa == 0) return sign;
        // Subnormal: normalize.
        int e = -1;
        do { mantissa <<= 1; e++; } while (!(mantissa & 0x400u));
        return sign | ((uint32_t)(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
    }
    return sign | ((exponent + 112) << 23) | (mantissa << 13);
}

void lstmformat_f32_to_f16_software(const void *src, void *dst, size_t count) {
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < count; i++) {
        uint32_t x;
        memcpy(&x, s + 4 * i, 4);
        uint16_t h = f32_to_f16_one(x);
        memcpy(d + 2 * i, &h, 2);
    }
}

void lstmformat_f16_to_f32_software(const void *src, void *dst, size_t count) {
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < count; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        uint32_t x = f16_to_f32_one(h);
        memcpy(d + 4 * i, &x, 4);
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

__attribute__((target("avx,f16c")))
static void f32_to_f16_f16c(const void *src, void *dst, size_t count) {
    const float *s = src;
    unsigned char *d = dst;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(d + 2 * i), h);
    }
    lstmformat_f32_to_f16_software(s + i, d + 2 * i, count - i);
}

__attribute__((target("avx,f16c")))
static void f16_to_f32_f16c(const void *src, void *dst, size_t count) {
    const unsigned char *s = src;
    float *d = dst;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 2 * i)));
        _mm256_storeu_ps(d + i, f);
    }
    lstmformat_f16_to_f32_software(s + 2 * i, d + i, count - i);
}

int lstmformat_has_f16c(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    }
    return cached;
}

void lstmformat_f32_to_f16(const void *src, void *dst, size_t count) {
    if (lstmformat_has_f16c()) f32_to_f16_f16c(src, dst, count);
    else lstmformat_f32_to_f16_software(src, dst, count);
}

void lstmformat_f16_to_f32(const void *src, void *dst, size_t count) {
    if (lstmformat_has_f16c()) f16_to_f32_f16c(src, dst, count);
    else lstmformat_f16_to_f32_software(src, dst, count);
}
#else
int lstmformat_has_f16c(void) { return 0; }
void lstmformat_f32_to_f16(const void *src, void *dst, size_t count) { lstmformat_f32_to_f16_software(src, dst, count); }
void lstmformat_f16_to_f32(const void *src, void *dst, size_t count) { lstmformat_f16_to_f32_software(src, dst, count); }
#endif
