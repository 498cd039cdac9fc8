#include "CByteCopy.h"
#include <immintrin.h>
#include <stdint.h>

// Tiles of TILE x TILE elements keep the TILE source rows and TILE destination rows a tile touches in L1/L2 and
// the TLB while it is transposed, whatever the strides (a Keras kernel with 3072 units has 48 KiB rows).
#define TILE 64

static void scalar_block(const uint32_t *src, size_t ss, uint32_t *dst, size_t ds, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * ds + r] = src[r * ss + c];
}

void lstmformat_transpose32_scalar(const void *src_, size_t ss, void *dst_, size_t ds, size_t rows, size_t cols) {
    const uint32_t *src = src_;
    uint32_t *dst = dst_;
    for (size_t r0 = 0; r0 < rows; r0 += TILE) {
        size_t rn = rows - r0 < TILE ? rows - r0 : TILE;
        for (size_t c0 = 0; c0 < cols; c0 += TILE) {
            size_t cn = cols - c0 < TILE ? cols - c0 : TILE;
            scalar_block(src + r0 * ss + c0, ss, dst + c0 * ds + r0, ds, rn, cn);
        }
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))

// One 8 x 8 block: eight unaligned row loads, the classic unpack / shuffle / permute transpose, eight row stores.
AVX2 static inline void block8(const uint32_t *src, size_t ss, uint32_t *dst, size_t ds) {
    __m256 r0 = _mm256_loadu_ps((const float *)(src + 0 * ss)), r1 = _mm256_loadu_ps((const float *)(src + 1 * ss));
    __m256 r2 = _mm256_loadu_ps((const float *)(src + 2 * ss)), r3 = _mm256_loadu_ps((const float *)(src + 3 * ss));
    __m256 r4 = _mm256_loadu_ps((const float *)(src + 4 * ss)), r5 = _mm256_loadu_ps((const float *)(src + 5 * ss));
    __m256 r6 = _mm256_loadu_ps((const float *)(src + 6 * ss)), r7 = _mm256_loadu_ps((const float *)(src + 7 * ss));
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps((float *)(dst + 0 * ds), _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps((float *)(dst + 1 * ds), _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps((float *)(dst + 2 * ds), _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps((float *)(dst + 3 * ds), _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps((float *)(dst + 4 * ds), _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps((float *)(dst + 5 * ds), _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps((float *)(dst + 6 * ds), _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps((float *)(dst + 7 * ds), _mm256_permute2f128_ps(u3, u7, 0x31));
}

AVX2 static void transpose_avx2(const uint32_t *src, size_t ss, uint32_t *dst, size_t ds, size_t rows, size_t cols) {
    for (size_t r0 = 0; r0 < rows; r0 += TILE) {
        size_t rn = rows - r0 < TILE ? rows - r0 : TILE;
        for (size_t c0 = 0; c0 < cols; c0 += TILE) {
            size_t cn = cols - c0 < TILE ? cols - c0 : TILE;
            size_t r8 = rn & ~(size_t)7, c8 = cn & ~(size_t)7;
            for (size_t r = 0; r < r8; r += 8)
                for (size_t c = 0; c < c8; c += 8)
                    block8(src + (r0 + r) * ss + c0 + c, ss, dst + (c0 + c) * ds + r0 + r, ds);
            // Edges: the columns right of the last whole block, then the rows below it.
            if (c8 < cn) scalar_block(src + r0 * ss + c0 + c8, ss, dst + (c0 + c8) * ds + r0, ds, r8, cn - c8);
            if (r8 < rn) scalar_block(src + (r0 + r8) * ss + c0, ss, dst + c0 * ds + r0 + r8, ds, rn - r8, cn);
        }
    }
}

int lstmformat_transpose32_has_avx2(void) { return __builtin_cpu_supports("avx2") ? 1 : 0; }

void lstmformat_transpose32(const void *src, size_t ss, void *dst, size_t ds, size_t rows, size_t cols) {
    if (lstmformat_transpose32_has_avx2()) transpose_avx2(src, ss, dst, ds, rows, cols);
    else lstmformat_transpose32_scalar(src, ss, dst, ds, rows, cols);
}
#else
int lstmformat_transpose32_has_avx2(void) { return 0; }

void lstmformat_transpose32(const void *src, size_t ss, void *dst, size_t ds, size_t rows, size_t cols) {
    lstmformat_transpose32_scalar(src, ss, dst, ds, rows, cols);
}
#endif
