/* Spec/bptt.md B10a: the float32 sigmoid and tanh of the step kernels (Sources/CStepKernels/kernels.c, the same
   bits as Sources/LSTMFormat/Numerics/FastMath.swift, NumericsStepKernelTests) against a float64 reference over
   every finite float32 input. Prints the largest errors and where they occur; exits 1 when one exceeds B10a's
   bound. Run through scripts/check_fastmath.sh (needs a CPU with AVX-512 F). */
#include "../Sources/CStepKernels/kernels.c"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* B10a's bounds. */
#define TANH_ULP 6.1     /* |tanh error| in units of the float32 ulp of the exact value */
#define SIGMOID_ABS 9e-8 /* |sigmoid error| absolute */
#define SIGMOID_ULP_POS 3.0 /* |sigmoid error| in ulp of the exact value, for x >= 0 */

typedef struct {
    uint64_t lo, hi;
    double abs_s, abs_t, ulp_t, ulp_s_pos;
    float at_abs_s, at_abs_t, at_ulp_t, at_ulp_s_pos;
    int bad_range;
} part;

/* The float32 ulp at |r| (2^-149 below the normal range). */
static double ulp32(double r) {
    double a = fabs(r);
    if (a < 0x1p-126) return 0x1p-149;
    int e;
    frexp(a, &e);
    return ldexp(1.0, e - 24);
}

__attribute__((target("avx512f"))) static void *work(void *arg) {
    part *p = arg;
    float in[16], s[16], t[16];
    for (uint64_t b = p->lo; b < p->hi; b += 16) {
        for (int j = 0; j < 16; j++) {
            uint32_t u = (uint32_t)(b + j);
            memcpy(&in[j], &u, 4);
        }
        _mm512_storeu_ps(s, v_sigmoid(_mm512_loadu_ps(in)));
        _mm512_storeu_ps(t, v_tanh(_mm512_loadu_ps(in)));
        for (int j = 0; j < 16; j++) {
            float x = in[j];
            if (isnan(x)) {
                if (!isnan(s[j]) || !isnan(t[j])) p->bad_range = 1;
                continue;
            }
            if (!(s[j] >= 0 && s[j] <= 1 && t[j] >= -1 && t[j] <= 1)) p->bad_range = 1;
            double d = x, rs = 1.0 / (1.0 + exp(-d)), rt = tanh(d);
            double es = fabs((double)s[j] - rs), et = fabs((double)t[j] - rt), ut = et / ulp32(rt);
            if (es > p->abs_s) { p->abs_s = es; p->at_abs_s = x; }
            if (et > p->abs_t) { p->abs_t = et; p->at_abs_t = x; }
            if (ut > p->ulp_t) { p->ulp_t = ut; p->at_ulp_t = x; }
            if (x >= 0) {
                double us = es / ulp32(rs);
                if (us > p->ulp_s_pos) { p->ulp_s_pos = us; p->at_ulp_s_pos = x; }
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (!lstmk_available()) {
        fprintf(stderr, "check_fastmath: the CPU has no AVX-512 F\n");
        return 2;
    }
    int n = argc > 1 ? atoi(argv[1]) : 1;
    if (n < 1 || n > 64) n = 1;
    pthread_t id[64];
    part ps[64];
    const uint64_t total = 1ull << 32;
    for (int k = 0; k < n; k++) {
        memset(&ps[k], 0, sizeof ps[k]);
        ps[k].lo = total / n / 16 * 16 * k;
        ps[k].hi = k == n - 1 ? total : total / n / 16 * 16 * (k + 1);
        pthread_create(&id[k], NULL, work, &ps[k]);
    }
    part r;
    memset(&r, 0, sizeof r);
    for (int k = 0; k < n; k++) {
        pthread_join(id[k], NULL);
        part *p = &ps[k];
        if (p->abs_s > r.abs_s) { r.abs_s = p->abs_s; r.at_abs_s = p->at_abs_s; }
        if (p->abs_t > r.abs_t) { r.abs_t = p->abs_t; r.at_abs_t = p->at_abs_t; }
        if (p->ulp_t > r.ulp_t) { r.ulp_t = p->ulp_t; r.at_ulp_t = p->at_ulp_t; }
        if (p->ulp_s_pos > r.ulp_s_pos) { r.ulp_s_pos = p->ulp_s_pos; r.at_ulp_s_pos = p->at_ulp_s_pos; }
        r.bad_range |= p->bad_range;
    }
    printf("tanh:    largest error %.3g ulp (x = %a), %.3g absolute (x = %a); bound %.1f ulp\n", r.ulp_t, r.at_ulp_t,
           r.abs_t, r.at_abs_t, TANH_ULP);
    printf("sigmoid: largest error %.3g absolute (x = %a), %.3g ulp for x >= 0 (x = %a); bounds %.2g absolute, "
           "%.1f ulp for x >= 0\n", r.abs_s, r.at_abs_s, r.ulp_s_pos, r.at_ulp_s_pos, SIGMOID_ABS, SIGMOID_ULP_POS);
    printf("results in [-1, 1] and [0, 1], NaN to NaN: %s\n", r.bad_range ? "NO" : "yes");
    int ok = !r.bad_range && r.ulp_t <= TANH_ULP && r.abs_s <= SIGMOID_ABS && r.ulp_s_pos <= SIGMOID_ULP_POS;
    printf("%s\n", ok ? "within B10a's bounds" : "OUTSIDE B10a's bounds");
    return ok ? 0 : 1;
}
