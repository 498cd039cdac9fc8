/* BPTT's gate gradients for one step of a cell with sigmoid gates and a tanh cell (Spec/bptt.md B44). See
   include/CStepKernels.h. The operations and their order are those of the general pass in
   Sources/LSTMFormat/Numerics/BackwardPass.swift (separate multiply and add, no contraction), so every value has
   the bits the general pass gives. */
#pragma STDC FP_CONTRACT OFF
#include "CStepKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) void lstmk_backward_gates(int rows, int hidden, const float *above,
                                                             const float *recurrent, float *z, const float *act_c,
                                                             const float *c_prev, float *carry) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int r = 0; r < rows; r++) {
        const size_t o = (size_t)r * hidden;
        float *f = z + (size_t)r * 4 * hidden, *i = f + hidden, *cc = f + 2 * hidden, *og = f + 3 * hidden;
        for (int u = 0; u < hidden; u += 16) {
            __mmask16 m = (__mmask16)(hidden - u >= 16 ? 0xffff : (1u << (hidden - u)) - 1);
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
    }
}

#else
void lstmk_backward_gates(int rows, int hidden, const float *above, const float *recurrent, float *z,
                          const float *act_c, const float *c_prev, float *carry) {}
#endif
