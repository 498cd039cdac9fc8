/* float64 products on float32 weights widened in registers, for the float64 passes at a small batch
   (Spec/bptt.md B38). See include/CStepKernels.h. */
#pragma STDC FP_CONTRACT OFF
#include "CStepKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int lstmk_widening_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
}

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE2 __attribute__((target("avx2,fma"), always_inline)) static inline

/* Four float32 (widened exactly) or float64 weights at w + j; `lanes` < 4 reads only that many (the rest 0). */
INLINE2 __m256d load_w32(const void *w, int j, int lanes) {
    const float *p = (const float *)w + j;
    if (lanes == 4) return _mm256_cvtps_pd(_mm_loadu_ps(p));
    __m128i m = _mm_setr_epi32(lanes > 0 ? -1 : 0, lanes > 1 ? -1 : 0, lanes > 2 ? -1 : 0, 0);
    return _mm256_cvtps_pd(_mm_maskload_ps(p, m));
}

INLINE2 __m256d load_w64(const void *w, int j, int lanes) {
    const double *p = (const double *)w + j;
    if (lanes == 4) return _mm256_loadu_pd(p);
    __m256i m = _mm256_setr_epi64x(lanes > 0 ? -1 : 0, lanes > 1 ? -1 : 0, lanes > 2 ? -1 : 0, 0);
    return _mm256_maskload_pd(p, m);
}

INLINE2 __m256d load_a(const double *a, int j, int lanes) {
    if (lanes == 4) return _mm256_loadu_pd(a + j);
    __m256i m = _mm256_setr_epi64x(lanes > 0 ? -1 : 0, lanes > 1 ? -1 : 0, lanes > 2 ? -1 : 0, 0);
    return _mm256_maskload_pd(a + j, m);
}

/* The fixed order of every sum: lane q of two accumulators (8 lanes) collects the terms k = 8s + q, s = 0, 1, …
   in turn, one FMA each; then lanes q and q+4 are added, then (0 + 1) + (2 + 3). */
INLINE2 double reduce(__m256d lo, __m256d hi) {
    __m256d s = _mm256_add_pd(lo, hi);
    double v[4];
    _mm256_storeu_pd(v, s);
    return (v[0] + v[1]) + (v[2] + v[3]);
}

#define MAX_A 4
/* c[i, j] += sum_k a[i, k] w[j, k] for rows i < mr <= MAX_A of a and one row j of w. */
#define DOT_ROW(LOAD)                                                                                          \
    INLINE2 void dot_row_##LOAD(int mr, int k, const double *a, int lda, const void *wrow, double *c, int ldc) { \
        __m256d lo[MAX_A], hi[MAX_A];                                                                           \
        for (int i = 0; i < mr; i++) lo[i] = hi[i] = _mm256_setzero_pd();                                       \
        int j = 0;                                                                                              \
        for (; j + 8 <= k; j += 8) {                                                                            \
            __m256d w0 = LOAD(wrow, j, 4), w1 = LOAD(wrow, j + 4, 4);                                           \
            for (int i = 0; i < mr; i++) {                                                                      \
                lo[i] = _mm256_fmadd_pd(load_a(a + (size_t)i * lda, j, 4), w0, lo[i]);                          \
                hi[i] = _mm256_fmadd_pd(load_a(a + (size_t)i * lda, j + 4, 4), w1, hi[i]);                      \
            }                                                                                                   \
        }                                                                                                       \
        if (j < k) {                                                                                            \
            int r = k - j, n0 = r < 4 ? r : 4, n1 = r - n0;                                                     \
            __m256d w0 = LOAD(wrow, j, n0), w1 = LOAD(wrow, j + 4, n1);                                         \
            for (int i = 0; i < mr; i++) {                                                                      \
                lo[i] = _mm256_fmadd_pd(load_a(a + (size_t)i * lda, j, n0), w0, lo[i]);                         \
                hi[i] = _mm256_fmadd_pd(load_a(a + (size_t)i * lda, j + 4, n1), w1, hi[i]);                     \
            }                                                                                                   \
        }                                                                                                       \
        for (int i = 0; i < mr; i++) c[(size_t)i * ldc] = c[(size_t)i * ldc] + reduce(lo[i], hi[i]);            \
    }
DOT_ROW(load_w32)
DOT_ROW(load_w64)

#define DOT(NAME, TYPE, LOAD)                                                                                  \
    AVX2 void NAME(int m, int n, int k, const double *a, int lda, const TYPE *w, int ldw, double *c, int ldc) { \
        for (int j = 0; j < n; j++) {                                                                           \
            const TYPE *wrow = w + (size_t)j * ldw;                                                             \
            for (int i = 0; i < m; i += MAX_A) {                                                                \
                int mr = m - i < MAX_A ? m - i : MAX_A;                                                         \
                const double *ai = a + (size_t)i * lda;                                                         \
                double *ci = c + (size_t)i * ldc + j;                                                           \
                switch (mr) {                                                                                   \
                case 1: dot_row_##LOAD(1, k, ai, lda, wrow, ci, ldc); break;                                     \
                case 2: dot_row_##LOAD(2, k, ai, lda, wrow, ci, ldc); break;                                     \
                case 3: dot_row_##LOAD(3, k, ai, lda, wrow, ci, ldc); break;                                     \
                default: dot_row_##LOAD(4, k, ai, lda, wrow, ci, ldc); break;                                    \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }
DOT(lstmk_dot_widened, float, load_w32)
DOT(lstmk_dot_double, double, load_w64)

#else
int lstmk_widening_available(void) { return 0; }
void lstmk_dot_widened(int m, int n, int k, const double *a, int lda, const float *w, int ldw, double *c, int ldc) {}
void lstmk_dot_double(int m, int n, int k, const double *a, int lda, const double *w, int ldw, double *c, int ldc) {}
#endif
