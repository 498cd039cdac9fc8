/* The gradient check's probe step and the streamed copy's widening (Spec/bptt.md B39). See include/CStepKernels.h.
   Every element is computed on its own by IEEE operations without contraction, so the vectorized and the plain
   builds give the same bits. */
#pragma STDC FP_CONTRACT OFF
#include "CStepKernels.h"

#define ALWAYS static inline __attribute__((always_inline))

ALWAYS void add_direction(double *w, long n, uint64_t state, double scale, double norm) {
    for (long i = 0; i < n; i++) {
        /* SplitMix64's next() after i + 1 steps, then symmetricUnit(): (z >> 11) * 2^-52 - 1. */
        uint64_t z = state + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z = z ^ (z >> 31);
        double u = (double)(z >> 11) * 0x1p-52 - 1;
        w[i] = w[i] + scale * (u / norm);
    }
}

ALWAYS void widen(const float *src, double *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = (double)src[i];
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq"))) static void add_direction_avx512(double *w, long n, uint64_t s, double a, double b) {
    add_direction(w, n, s, a, b);
}
__attribute__((target("avx2"))) static void widen_avx2(const float *src, double *dst, long n) { widen(src, dst, n); }

static int has(int which) {
    __builtin_cpu_init();
    return which ? __builtin_cpu_supports("avx2") : __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}
#endif

void lstmk_add_direction(double *w, long n, uint64_t state, double scale, double norm) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = has(0);
    if (fast) { add_direction_avx512(w, n, state, scale, norm); return; }
#endif
    add_direction(w, n, state, scale, norm);
}

void lstmk_widen(const float *src, double *dst, long n) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = has(1);
    if (fast) { widen_avx2(src, dst, n); return; }
#endif
    widen(src, dst, n);
}
