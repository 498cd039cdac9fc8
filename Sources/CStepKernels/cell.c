/* The fused forward time loop of one cell on several threads (Spec/bptt.md B40). See include/CStepKernels.h.
   Each thread owns a fixed range of 16-unit groups for every row of the batch and every step; after each step
   the threads meet at a barrier, since the next step reads every unit of h(t). Which thread computes a group never
   changes a sum (B35), so the results are the bits of one thread. */
#define _GNU_SOURCE
#include "CStepKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spins before each sched_yield while waiting (a few tens of microseconds; a step takes hundreds). */
#define SPINS 2000

typedef struct {
    _Atomic int arrived;
    _Atomic int phase;
    int threads;
} step_barrier;

static void barrier_wait(step_barrier *b) {
    int phase = atomic_load_explicit(&b->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == b->threads - 1) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&b->phase, phase + 1, memory_order_release);
        return;
    }
    for (int spins = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == phase; spins++) {
        if (spins < SPINS) {
            CPU_RELAX();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

typedef struct {
    const lstmk_cell *cell;
    step_barrier *barrier;
    int g0, g1;
} cell_part;

static void run_part(const cell_part *p) {
    const lstmk_cell *c = p->cell;
    const int batch = c->batch, hidden = c->hidden, steps = c->steps;
    const size_t block = (size_t)batch * hidden;
    const int u0 = p->g0 * 16, u1 = p->g1 * 16 < hidden ? p->g1 * 16 : hidden;
    for (int step = 0; step < steps; step++) {
        /* Input time t; h and C keep h(-1) = C(-1) = 0 in slot 0 (forward) or slot T (reverse). */
        const int t = c->reverse ? steps - 1 - step : step;
        const int slot = c->reverse ? t : t + 1, previous = c->reverse ? t + 1 : t;
        const float *h_prev = c->h + (size_t)previous * block, *c_prev = c->c + (size_t)previous * block;
        float *h_out = c->h + (size_t)slot * block, *c_out = c->c + (size_t)slot * block;
        if (u1 > u0) {
            lstmk_forward_step_groups(batch, hidden, p->g0, p->g1, h_prev, c->packed_gates,
                                      c->z + (size_t)t * batch * 4 * hidden, c_prev, c_out,
                                      c->act_c + (size_t)t * block, h_out, step > 0, step & 1);
            if (c->mask) {
                /* M19: a masked row keeps h(t-1) and C(t-1) (this part's units). */
                size_t n = (size_t)(u1 - u0) * sizeof(float);
                for (int b = 0; b < batch; b++) {
                    if (c->mask[(size_t)t * batch + b] != 0) continue;
                    size_t o = (size_t)b * hidden + u0;
                    memcpy(h_out + o, h_prev + o, n);
                    memcpy(c_out + o, c_prev + o, n);
                }
            }
        }
        if (p->barrier) barrier_wait(p->barrier);
    }
}

#define MAX_THREADS 64

typedef struct {
    cell_part parts[MAX_THREADS];
    _Atomic int go;
} cell_run;

typedef struct {
    cell_run *run;
    int index;
} worker_arg;

static void *run_worker(void *arg) {
    worker_arg *w = arg;
    /* The parts are set once every thread exists (their number decides the split). */
    while (atomic_load_explicit(&w->run->go, memory_order_acquire) == 0) sched_yield();
    run_part(&w->run->parts[w->index]);
    return NULL;
}

void lstmk_forward_cell(const lstmk_cell *cell, int threads) {
    int groups = (cell->hidden + 15) / 16;
    /* More threads than CPUs this process may run on would spin against each other at every barrier. */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0 && threads > CPU_COUNT(&allowed))
        threads = CPU_COUNT(&allowed);
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > groups) threads = groups;
    /* Below about 16 M multiply-adds in all (0.1-0.2 ms on one core) a thread's start and the barriers cost more
       than they save. */
    if ((double)cell->steps * cell->batch * 4.0 * cell->hidden * cell->hidden < (double)(1 << 24)) threads = 1;
    if (threads < 1) threads = 1;
    cell_run run;
    atomic_init(&run.go, 0);
    pthread_t ids[MAX_THREADS];
    worker_arg args[MAX_THREADS];
    /* Every part runs on a thread of its own, never queued behind another (the barrier needs them all at once);
       the split is over the threads that could be created. */
    int started = 1;
    for (; started < threads; started++) {
        args[started] = (worker_arg){&run, started};
        if (pthread_create(&ids[started], NULL, run_worker, &args[started]) != 0) break;
    }
    step_barrier barrier;
    atomic_init(&barrier.arrived, 0);
    atomic_init(&barrier.phase, 0);
    barrier.threads = started;
    for (int k = 0; k < started; k++)
        run.parts[k] = (cell_part){cell, started > 1 ? &barrier : NULL, k * groups / started,
                                   (k + 1) * groups / started};
    atomic_store_explicit(&run.go, 1, memory_order_release);
    run_part(&run.parts[0]);
    for (int k = 1; k < started; k++) pthread_join(ids[k], NULL);
}
