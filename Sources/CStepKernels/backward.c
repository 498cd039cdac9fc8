/* BPTT's gate gradients for one step of a cell with sigmoid gates and a tanh cell (Spec/bptt.md B44), and dZ transposed beside it (B49). See
   include/CStepKernels.h. The operations and their order are those of the general pass in
   Sources/LSTMFormat/Numerics/BackwardPass.swift (separate multiply and add, no contraction), so every value has
   the bits the general pass gives. */
#pragma STDC FP_CONTRACT OFF
#include "CStepKernels.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define INLINE512 __attribute__((target("avx512f"), always_inline)) static inline

/* dst[j * ldd + r] = src[r * lds + j] for r < rows, j < cols (both at most 16): the 16 x 16 tile transposed in
   registers (rows past `rows` read as 0 and are not stored). Copies only, so every value keeps its bits. */
INLINE512 void transpose_tile(const float *src, size_t lds, int rows, int cols, float *dst, size_t ldd) {
    const __mmask16 cm = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    const __mmask16 rm = (__mmask16)(rows >= 16 ? 0xffff : (1u << rows) - 1);
    __m512 r[16], a[16], b[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + (size_t)i * lds) : _mm512_setzero_ps();
    /* a[2p], a[2p+1]: rows 2p, 2p+1 interleaved (per 128-bit lane: columns 4l, 4l+1 and 4l+2, 4l+3). */
    for (int p = 0; p < 8; p++) {
        a[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        a[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* b[4g + e], 128-bit lane l: rows 4g ..< 4g+4 of column 4l + e. */
    for (int g = 0; g < 4; g++) {
        __m512d x0 = _mm512_castps_pd(a[4 * g]), x1 = _mm512_castps_pd(a[4 * g + 1]);
        __m512d y0 = _mm512_castps_pd(a[4 * g + 2]), y1 = _mm512_castps_pd(a[4 * g + 3]);
        b[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(x0, y0));
        b[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x0, y0));
        b[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x1, y1));
        b[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x1, y1));
    }
    for (int e = 0; e < 4; e++) {
        /* lo: rows 0-3 and 4-7 of columns e and 8+e; hi: of columns 4+e and 12+e (c: rows 0-7, d: rows 8-15). */
        __m512 clo = _mm512_shuffle_f32x4(b[e], b[4 + e], 0x88), chi = _mm512_shuffle_f32x4(b[e], b[4 + e], 0xdd);
        __m512 dlo = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0x88), dhi = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0xdd);
        const int col[4] = {e, 8 + e, 4 + e, 12 + e};
        const __m512 out[4] = {_mm512_shuffle_f32x4(clo, dlo, 0x88), _mm512_shuffle_f32x4(clo, dlo, 0xdd),
                               _mm512_shuffle_f32x4(chi, dhi, 0x88), _mm512_shuffle_f32x4(chi, dhi, 0xdd)};
        for (int q = 0; q < 4; q++) {
            if (col[q] >= cols) continue;
            float *d = dst + (size_t)col[q] * ldd;
            /* A whole aligned line is streamed (no read of the line first, and dZ^T is read again only by the
               weight-gradient products after the whole pass). */
            if (rows >= 16 && ((uintptr_t)d & 63) == 0) _mm512_stream_ps(d, out[q]);
            else _mm512_mask_storeu_ps(d, rm, out[q]);
        }
    }
}

__attribute__((target("avx512f"))) void lstmk_transpose(int rows, int cols, const float *src, long lds, float *dst,
                                                        long ldd) {
    for (int r = 0; r < rows; r += 16)
        for (int j = 0; j < cols; j += 16)
            transpose_tile(src + (size_t)r * lds + j, (size_t)lds, rows - r, cols - j, dst + (size_t)j * ldd + r,
                           (size_t)ldd);
    /* Streamed stores are weakly ordered: fence them before the caller hands dZ^T to other threads (B49). */
    _mm_sfence();
}

float *lstmk_alloc_large(size_t count) {
    /* Under one huge page: 64-byte aligned, the size rounded to a line (no 2 MiB per small cell). */
    const size_t huge = (size_t)2 << 20, bytes0 = count * sizeof(float);
    const size_t align = bytes0 >= huge ? huge : 64;
    size_t bytes = (bytes0 + align - 1) / align * align;
    if (bytes == 0) bytes = align;
    void *p = NULL;
    if (posix_memalign(&p, align, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (align == huge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return (float *)p;
}

void lstmk_free_large(float *p) { free(p); }

__attribute__((target("avx512f"))) void lstmk_backward_gates(int rows, int hidden, const float *above,
                                                             const float *recurrent, float *z, const float *act_c,
                                                             const float *c_prev, float *carry, float *zt, long ldt) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const size_t g4 = (size_t)4 * hidden;
    /* Blocks of 16 rows: each 16-unit group's tile of δ is transposed into zt (B49) while it is in L1. */
    for (int r0 = 0; r0 < rows; r0 += 16) {
        const int nr = rows - r0 < 16 ? rows - r0 : 16;
        for (int u = 0; u < hidden; u += 16) {
            __mmask16 m = (__mmask16)(hidden - u >= 16 ? 0xffff : (1u << (hidden - u)) - 1);
            for (int r = r0; r < r0 + nr; r++) {
                const size_t o = (size_t)r * hidden;
                float *f = z + (size_t)r * g4, *i = f + hidden, *cc = f + 2 * hidden, *og = f + 3 * hidden;
                /* dh(t) = from above + dZ(t+1) U (none for the last computed step). */
                __m512 dh = _mm512_maskz_loadu_ps(m, above + o + u);
                if (recurrent) dh = _mm512_add_ps(dh, _mm512_maskz_loadu_ps(m, recurrent + o + u));
                __m512 a = _mm512_maskz_loadu_ps(m, act_c + o + u), cp = _mm512_maskz_loadu_ps(m, c_prev + o + u);
                __m512 fv = _mm512_maskz_loadu_ps(m, f + u), iv = _mm512_maskz_loadu_ps(m, i + u);
                __m512 cv = _mm512_maskz_loadu_ps(m, cc + u), ov = _mm512_maskz_loadu_ps(m, og + u);
                /* dC(t) = dh ⊙ o ⊙ tanh'(C(t)) + dC(t+1) ⊙ f(t+1), tanh' = 1 - a a. */
                __m512 dc = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(dh, ov), _mm512_sub_ps(one, _mm512_mul_ps(a, a))),
                                          _mm512_maskz_loadu_ps(m, carry + o + u));
                _mm512_mask_storeu_ps(carry + o + u, m, _mm512_mul_ps(dc, fv));
                /* δ_g = (dC ⊙ x) ⊙ y ⊙ (1 - y) for a sigmoid gate y, (dC ⊙ i) ⊙ (1 - C̃ C̃) for the tanh one. */
                _mm512_mask_storeu_ps(f + u, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, cp), fv), _mm512_sub_ps(one, fv)));
                _mm512_mask_storeu_ps(i + u, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, cv), iv), _mm512_sub_ps(one, iv)));
                _mm512_mask_storeu_ps(cc + u, m, _mm512_mul_ps(_mm512_mul_ps(dc, iv), _mm512_sub_ps(one, _mm512_mul_ps(cv, cv))));
                _mm512_mask_storeu_ps(og + u, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dh, a), ov), _mm512_sub_ps(one, ov)));
            }
            if (zt)
                for (int q = 0; q < 4; q++) {
                    const size_t j = (size_t)q * hidden + u;
                    transpose_tile(z + (size_t)r0 * g4 + j, g4, nr, hidden - u, zt + j * (size_t)ldt + r0, (size_t)ldt);
                }
        }
    }
    /* Streamed stores are weakly ordered: fence them before the caller hands dZ^T to other threads (B49). */
    if (zt) _mm_sfence();
}

#else
void lstmk_backward_gates(int rows, int hidden, const float *above, const float *recurrent, float *z,
                          const float *act_c, const float *c_prev, float *carry, float *zt, long ldt) {}
void lstmk_transpose(int rows, int cols, const float *src, long lds, float *dst, long ldd) {}
float *lstmk_alloc_large(size_t count) { return (float *)calloc(count ? count : 1, sizeof(float)); }
void lstmk_free_large(float *p) { free(p); }
#endif
