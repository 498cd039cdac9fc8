#ifndef LSTMFORMAT_CBLAS_H
#define LSTMFORMAT_CBLAS_H
/* OpenBLAS, loaded on first use (Spec/reliability.md P7).

   The declarations are OpenBLAS's own <cblas.h> (Debian: libopenblas-dev). The library is not linked: a process
   that does no linear algebra (convert, inspect, the isolated read's child, --help) never maps it, never pays for
   its relocations, its libgfortran and libquadmath, nor for the thread pool OpenBLAS starts in its constructor.
   LazyOpenBLAS.c defines the functions below; each opens libopenblas.so.0 the first time any of them is called
   and then calls OpenBLAS's own. Only these are defined: calling another cblas_* function fails to link, and the
   fix is one more line in LazyOpenBLAS.c. */
#include <cblas.h>
#include <stdlib.h>

/* Defined (forwarded to OpenBLAS) in LazyOpenBLAS.c:
   cblas_sgemm, cblas_dgemm, cblas_sgemv, cblas_dgemv, cblas_saxpy, cblas_daxpy, cblas_sdot, cblas_ddot,
   cblas_sscal, cblas_dscal, openblas_set_num_threads, openblas_get_num_threads, openblas_get_corename. */

/* Whether OpenBLAS has been loaded into this process (by a call to any function above). */
int lstmformat_blas_is_loaded(void);

/* The OpenBLAS core whose kernels fit the instruction sets this CPU and OS support, or NULL: "SkylakeX"
   (AVX-512 F, CD, BW, DQ, VL), "Haswell" (AVX2 + FMA). Does not load OpenBLAS. */
static inline const char *lstmformat_blas_core_for_cpu(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

/* Makes OpenBLAS select its kernels again as for OPENBLAS_CORETYPE=core (its DYNAMIC_ARCH builds, Debian's, export
   gotoblas_dynamic_init/quit without declaring them). Must run before the first BLAS call. Returns 0 when this
   OpenBLAS cannot re-select. */
int lstmformat_blas_select_core(const char *core);
#endif
