#ifndef LSTMFORMAT_CBLAS_SHIM_H
#define LSTMFORMAT_CBLAS_SHIM_H
#include <cblas.h>
#include <stdlib.h>

/* OpenBLAS's run-time kernel selection in DYNAMIC_ARCH builds (Debian's): exported but not declared in cblas.h.
   Weak, so a build of OpenBLAS without them still links; the shim then reports that it cannot re-select. */
__attribute__((weak)) void gotoblas_dynamic_init(void);
__attribute__((weak)) void gotoblas_dynamic_quit(void);

/* The OpenBLAS core whose kernels fit the instruction sets this CPU and OS support, or NULL: "SkylakeX"
   (AVX-512 F, CD, BW, DQ, VL), "Haswell" (AVX2 + FMA). */
static inline const char *lstmformat_blas_core_for_cpu(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

/* Makes OpenBLAS select its kernels again as for OPENBLAS_CORETYPE=core. Must run before the first BLAS call.
   Returns 0 when this OpenBLAS cannot re-select. */
static inline int lstmformat_blas_select_core(const char *core) {
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit) return 0;
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    return 1;
}
#endif
