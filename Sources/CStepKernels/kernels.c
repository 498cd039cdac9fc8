/* float32 AVX-512 kernels for the LSTM time loop; see include/CStepKernels.h and Spec/bptt.md B34-B36.
   The activations repeat Sources/LSTMFormat/Numerics/FastMath.swift operation for operation (separate multiply
   and add, no contraction), so a gate computed here has the bits FastMath gives for the same pre-activation. */
#pragma STDC FP_CONTRACT OFF
#include "CStepKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int lstmk_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define AVX512 __attribute__((target("avx512f")))
#define INLINE512 __attribute__((target("avx512f"), always_inline)) static inline

/* FastMath.exp: clamp to [-87.3, 88.3] (NaN passes through), Cody-Waite reduction, degree-7 Taylor, 2^k. */
INLINE512 __m512 v_exp(__m512 x0) {
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.3f), _mm512_max_ps(_mm512_set1_ps(-87.3f), x0));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), magic);
    __m512 k = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(k, _mm512_set1_ps(0.693145751953125f))),
                             _mm512_mul_ps(k, _mm512_set1_ps(1.428606765330187045e-6f)));
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 720));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    __m512i ki = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(magic));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ki, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(p, scale);
}

/* FastMath.sigmoid: 1 / (1 + exp(-x)). */
INLINE512 __m512 v_sigmoid(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

/* FastMath.tanh: (1 - e) / (1 + e) with e = exp(-2|x|), the odd Taylor polynomial for |x| < 1/16, sign of x. */
INLINE512 __m512 v_tanh(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 a = _mm512_abs_ps(x);
    __m512 e = v_exp(_mm512_mul_ps(_mm512_set1_ps(-2.0f), a));
    __m512 big = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
    __m512 a2 = _mm512_mul_ps(a, a);
    __m512 s = _mm512_add_ps(_mm512_set1_ps(2.0f / 15), _mm512_mul_ps(a2, _mm512_set1_ps(-17.0f / 315)));
    s = _mm512_add_ps(_mm512_set1_ps(-1.0f / 3), _mm512_mul_ps(a2, s));
    s = _mm512_add_ps(one, _mm512_mul_ps(a2, s));
    __m512 small = _mm512_mul_ps(a, s);
    __mmask16 isSmall = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.0625f), _CMP_LT_OQ);
    __m512 t = _mm512_mask_blend_ps(isSmall, big, small);
    __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_sub_ps(t, negative, _mm512_setzero_ps(), t);
}

/* acc[r][q] = init[16q ..< 16q+16] (or 0) + sum over k of a[r, k] * panel[k, 16q ..< 16q+16], for MR <= 6 rows: one
   FMA chain per element, k in order.
   Meanwhile touches the npf cache lines at pf (the tile's operands of the gate pass), one every 8 k. */
#define MAX_ROWS 6
INLINE512 void panel_product(const int mr, int k, const float *a, int lda, const float *panel,
                             __m512 acc[MAX_ROWS][4], const char *const *pf, int npf, const float *init) {
    /* Each chain starts from 0, or from init[0 ..< 64], the same for every row (B48's bias). */
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = init ? _mm512_loadu_ps(init + 16 * q) : _mm512_setzero_ps();
    for (int j = 0; j < k; j++) {
        if ((j & 7) == 0 && (j >> 3) < npf) _mm_prefetch(pf[j >> 3], _MM_HINT_T0);
        const float *b = panel + (size_t)j * 64;
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * lda + j]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
        }
    }
}

INLINE512 void gate_tile(const int mr, int hidden, int g, const float *h_prev, const float *panel, float *z,
                         const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent) {
    __m512 acc[MAX_ROWS][4];
    int u0 = g * 16, n = hidden - u0 < 16 ? hidden - u0 : 16;
    /* The lines the gate pass reads and writes (B42): z(t) was written by the all-steps input projection long ago
       and C(t), tanh C(t) and h(t) are fresh lines, so each would miss; fetched during the product, their
       misses overlap it instead of stalling the gates. */
    const char *pf[MAX_ROWS * 8];
    int npf = 0;
    for (int r = 0; r < mr; r++) {
        const float *zr = z + (size_t)r * 4 * hidden + u0;
        size_t o = (size_t)r * hidden + u0;
        for (int q = 0; q < 4; q++) pf[npf++] = (const char *)(zr + q * hidden);
        pf[npf++] = (const char *)(c_prev + o);
        pf[npf++] = (const char *)(c_out + o);
        pf[npf++] = (const char *)(act_c + o);
        pf[npf++] = (const char *)(h_out + o);
    }
    panel_product(mr, recurrent ? hidden : 0, h_prev, hidden, panel, acc, pf, npf, 0);
    __mmask16 m = (__mmask16)((1u << n) - 1);
    for (int r = 0; r < mr; r++) {
        float *zr = z + (size_t)r * 4 * hidden + u0;
        size_t o = (size_t)r * hidden + u0;
        __m512 f = v_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, zr), acc[r][0]));
        __m512 i = v_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, zr + hidden), acc[r][1]));
        __m512 c = v_tanh(_mm512_add_ps(_mm512_maskz_loadu_ps(m, zr + 2 * hidden), acc[r][2]));
        __m512 og = v_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, zr + 3 * hidden), acc[r][3]));
        _mm512_mask_storeu_ps(zr, m, f);
        _mm512_mask_storeu_ps(zr + hidden, m, i);
        _mm512_mask_storeu_ps(zr + 2 * hidden, m, c);
        _mm512_mask_storeu_ps(zr + 3 * hidden, m, og);
        __m512 cn = _mm512_add_ps(_mm512_mul_ps(f, _mm512_maskz_loadu_ps(m, c_prev + o)), _mm512_mul_ps(i, c));
        _mm512_mask_storeu_ps(c_out + o, m, cn);
        __m512 a = v_tanh(cn);
        _mm512_mask_storeu_ps(act_c + o, m, a);
        _mm512_mask_storeu_ps(h_out + o, m, _mm512_mul_ps(og, a));
    }
}

AVX512 void lstmk_forward_step_groups(int rows, int hidden, int g0, int g1, const float *h_prev,
                                      const float *packed_gates, float *z, const float *c_prev, float *c_out,
                                      float *act_c, float *h_out, int recurrent, int reverse) {
    /* Row tiles as even as possible (32 rows: 6+6+5+5+5+5, not 6+6+6+6+6+2); a tile's size never changes a sum. */
    int tiles = (rows + MAX_ROWS - 1) / MAX_ROWS;
    if (tiles == 0) return;
    int base = rows / tiles, extra = rows % tiles;
    for (int visit = 0; visit < g1 - g0; visit++) {
        int g = reverse ? g1 - 1 - visit : g0 + visit;
        const float *panel = packed_gates + (size_t)g * hidden * 64;
        for (int t = 0, r = 0; t < tiles; r += base + (t < extra), t++) {
            int mr = base + (t < extra);
            const float *hp = h_prev + (size_t)r * hidden;
            float *zr = z + (size_t)r * 4 * hidden;
            size_t o = (size_t)r * hidden;
            switch (mr) {
#define TILE(n) case n: gate_tile(n, hidden, g, hp, panel, zr, c_prev + o, c_out + o, act_c + o, h_out + o, recurrent); break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#undef TILE
            }
        }
    }
}

AVX512 void lstmk_forward_step(int rows, int hidden, const float *h_prev, const float *packed_gates, float *z,
                               const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent,
                               int reverse) {
    lstmk_forward_step_groups(rows, hidden, 0, (hidden + 15) / 16, h_prev, packed_gates, z, c_prev, c_out, act_c,
                              h_out, recurrent, reverse);
}

INLINE512 void gemm_tile(const int mr, int k, int n, int p, const float *a, int lda, const float *panel, float *c,
                         int ldc) {
    __m512 acc[MAX_ROWS][4];
    panel_product(mr, k, a, lda, panel, acc, 0, 0, 0);
    for (int q = 0; q < 4; q++) {
        int j0 = p * 64 + q * 16, w = n - j0 < 16 ? n - j0 : 16;
        if (w <= 0) break;
        __mmask16 m = (__mmask16)((1u << w) - 1);
        for (int r = 0; r < mr; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + j0, m, acc[r][q]);
    }
}

AVX512 void lstmk_gemm(int rows, int k, int n, const float *a, int lda, const float *packed, float *c, int ldc,
                       int reverse) {
    int panels = (n + 63) / 64;
    for (int visit = 0; visit < panels; visit++) {
        int p = reverse ? panels - 1 - visit : visit;
        const float *panel = packed + (size_t)p * k * 64;
        for (int r = 0; r < rows; r += MAX_ROWS) {
            int mr = rows - r < MAX_ROWS ? rows - r : MAX_ROWS;
            const float *ar = a + (size_t)r * lda;
            float *cr = c + (size_t)r * ldc;
            switch (mr) {
#define TILE(n_) case n_: gemm_tile(n_, k, n, p, ar, lda, panel, cr, ldc); break;
                TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#undef TILE
            }
        }
    }
}

INLINE512 void project_tile(const int mr, int k, int n, int p, const float *a, int lda, const float *panel,
                            const float *bias64, float *c, int ldc) {
    __m512 acc[MAX_ROWS][4];
    panel_product(mr, k, a, lda, panel, acc, 0, 0, bias64);
    for (int q = 0; q < 4; q++) {
        int j0 = p * 64 + q * 16, w = n - j0 < 16 ? n - j0 : 16;
        if (w <= 0) break;
        __mmask16 m = (__mmask16)((1u << w) - 1);
        for (int r = 0; r < mr; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + j0, m, acc[r][q]);
    }
}

/* Rows of A per block (B48): at K = 128 a block is 48 KB, read from L1/L2 while every panel passes over it.
   (24, 48, 192 rows and one block of all rows measured the same within 5 %.) */
#define PROJECT_BLOCK 96

AVX512 void lstmk_project(int rows, int k, int n, const float *a, int lda, const float *packed, const float *bias,
                          float *c, int ldc) {
    int panels = (n + 63) / 64;
    float bias64[64];
    for (int r0 = 0; r0 < rows; r0 += PROJECT_BLOCK) {
        int r1 = rows - r0 < PROJECT_BLOCK ? rows : r0 + PROJECT_BLOCK;
        for (int p = 0; p < panels; p++) {
            const float *panel = packed + (size_t)p * k * 64;
            for (int j = 0; j < 64; j++) bias64[j] = p * 64 + j < n ? bias[p * 64 + j] : 0.0f;
            for (int r = r0; r < r1; r += MAX_ROWS) {
                int mr = r1 - r < MAX_ROWS ? r1 - r : MAX_ROWS;
                const float *ar = a + (size_t)r * lda;
                float *cr = c + (size_t)r * ldc;
                switch (mr) {
#define TILE(n_) case n_: project_tile(n_, k, n, p, ar, lda, panel, bias64, cr, ldc); break;
                    TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#undef TILE
                }
            }
        }
    }
}

#else
int lstmk_available(void) { return 0; }
void lstmk_project(int rows, int k, int n, const float *a, int lda, const float *packed, const float *bias,
                   float *c, int ldc) {}
void lstmk_forward_step_groups(int rows, int hidden, int g0, int g1, const float *h_prev, const float *packed_gates,
                               float *z, const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent,
                               int reverse) {}
void lstmk_forward_step(int rows, int hidden, const float *h_prev, const float *packed_gates, float *z,
                        const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent, int reverse) {}
void lstmk_gemm(int rows, int k, int n, const float *a, int lda, const float *packed, float *c, int ldc,
                int reverse) {}
#endif

size_t lstmk_panels_count(int k, int n) { return (size_t)((n + 63) / 64) * (size_t)k * 64; }

void lstmk_pack_gates(const float *u, int hidden, int state, int row0, int row1, float *packed) {
    for (int row = row0; row < row1; row++) {
        int q = row / hidden, unit = row % hidden, g = unit / 16, lane = q * 16 + unit % 16;
        const float *src = u + (size_t)row * state;
        float *dst = packed + (size_t)g * state * 64 + lane;
        for (int k = 0; k < state; k++) dst[(size_t)k * 64] = src[k];
    }
}

void lstmk_pack_panels(const float *b, int k, int n, int row0, int row1, float *packed) {
    for (int row = row0; row < row1; row++) {
        const float *src = b + (size_t)row * n;
        for (int j = 0; j < n; j++) packed[((size_t)(j / 64) * k + row) * 64 + j % 64] = src[j];
    }
}

void lstmk_pack_transposed(const float *w, int k, int n, int row0, int row1, float *packed) {
    (void)n;
    for (int j = row0; j < row1; j++) {
        const float *src = w + (size_t)j * k;
        float *dst = packed + (size_t)(j / 64) * k * 64 + j % 64;
        for (int i = 0; i < k; i++) dst[(size_t)i * 64] = src[i];
    }
}
