// OpenBLAS opened on first use (Spec/reliability.md P3): see include/CBLAS.h.
//
// The functions are hidden: the executable never offers them to other libraries, so OpenBLAS's own calls
// resolve inside OpenBLAS and these names cannot interpose on them.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#pragma GCC visibility push(hidden)
#include "CBLAS.h"
#pragma GCC visibility pop

static const char *const library = "libopenblas.so.0";  // Debian's soname (libopenblas0-pthread)
static void *handle;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void open_library(void) {
    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
}

// The address of OpenBLAS's `name`. Without the library (or the symbol) there is nothing sensible to compute
// with: one line on stderr and exit 127, what the dynamic loader does for a missing library.
static void *resolve(const char *name, int required) {
    pthread_once(&once, open_library);
    void *f = handle ? dlsym(handle, name) : NULL;
    if (!f && required) {
        const char *why = dlerror();
        fprintf(stderr, "lstm-format: cannot load %s from %s: %s\n", name, library, why ? why : "not found");
        _exit(127);
    }
    return f;
}

__attribute__((visibility("hidden"))) int lstmformat_blas_is_loaded(void) {
    // RTLD_NOLOAD: only asks whether it is mapped already (by this file or by anything else in the process).
    void *h = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

// FORWARD(return, type, name, (parameters), (arguments)): `name` calls OpenBLAS's `name`, resolved once. The
// first argument is `return`, or nothing for a function that returns void.
#define FORWARD(RETURN, R, name, params, args)                          \
    __attribute__((visibility("hidden"))) R name params {               \
        static R (*f) params;                                           \
        R (*g) params = __atomic_load_n(&f, __ATOMIC_ACQUIRE);          \
        if (!g) {                                                       \
            g = (R (*) params)resolve(#name, 1);                        \
            __atomic_store_n(&f, g, __ATOMIC_RELEASE);                  \
        }                                                               \
        RETURN g args;                                                  \
    }

#define C OPENBLAS_CONST
typedef enum CBLAS_ORDER Order;
typedef enum CBLAS_TRANSPOSE Trans;

FORWARD(, void, cblas_sgemm,
        (C Order o, C Trans ta, C Trans tb, C blasint m, C blasint n, C blasint k, C float alpha, C float *a,
         C blasint lda, C float *b, C blasint ldb, C float beta, float *c, C blasint ldc),
        (o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
FORWARD(, void, cblas_dgemm,
        (C Order o, C Trans ta, C Trans tb, C blasint m, C blasint n, C blasint k, C double alpha, C double *a,
         C blasint lda, C double *b, C blasint ldb, C double beta, double *c, C blasint ldc),
        (o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
FORWARD(, void, cblas_sgemv,
        (C Order o, C Trans t, C blasint m, C blasint n, C float alpha, C float *a, C blasint lda, C float *x,
         C blasint incx, C float beta, float *y, C blasint incy),
        (o, t, m, n, alpha, a, lda, x, incx, beta, y, incy))
FORWARD(, void, cblas_dgemv,
        (C Order o, C Trans t, C blasint m, C blasint n, C double alpha, C double *a, C blasint lda, C double *x,
         C blasint incx, C double beta, double *y, C blasint incy),
        (o, t, m, n, alpha, a, lda, x, incx, beta, y, incy))
FORWARD(, void, cblas_saxpy, (C blasint n, C float alpha, C float *x, C blasint incx, float *y, C blasint incy),
        (n, alpha, x, incx, y, incy))
FORWARD(, void, cblas_daxpy, (C blasint n, C double alpha, C double *x, C blasint incx, double *y, C blasint incy),
        (n, alpha, x, incx, y, incy))
FORWARD(return, float, cblas_sdot, (C blasint n, C float *x, C blasint incx, C float *y, C blasint incy),
        (n, x, incx, y, incy))
FORWARD(return, double, cblas_ddot, (C blasint n, C double *x, C blasint incx, C double *y, C blasint incy),
        (n, x, incx, y, incy))
FORWARD(, void, cblas_sscal, (C blasint n, C float alpha, float *x, C blasint incx), (n, alpha, x, incx))
FORWARD(, void, cblas_dscal, (C blasint n, C double alpha, double *x, C blasint incx), (n, alpha, x, incx))
FORWARD(return, int, openblas_get_num_threads, (void), ())
FORWARD(return, char *, openblas_get_corename, (void), ())

FORWARD(, void, openblas_set_num_threads, (int count), (count))

__attribute__((visibility("hidden"))) int lstmformat_blas_select_core(const char *core) {
    void (*init)(void) = (void (*)(void))resolve("gotoblas_dynamic_init", 0);
    void (*quit)(void) = (void (*)(void))resolve("gotoblas_dynamic_quit", 0);
    if (!init || !quit) return 0;
    setenv("OPENBLAS_CORETYPE", core, 1);
    quit();
    init();
    return 1;
}
