/* The fused forward time loop of one cell on several threads (Spec/bptt.md B40, B42). See include/CStepKernels.h.
   Each thread owns a contiguous range of 16-unit groups for every row of the batch; after each step the threads
   meet at a barrier, since the next step reads every unit of h(t). The last thread to arrive moves the range
   boundaries so that each thread's share follows its speed in the step just done (the two CPUs of a VM often run
   at different speeds, and a thread may lose its CPU for a while). Which thread computes a group never changes a
   sum (B35), so the results are the bits of one thread. */
#define _GNU_SOURCE
#include "CStepKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spins before each sched_yield while waiting (a few tens of microseconds; a step takes hundreds). */
#define SPINS 2000
#define MAX_THREADS 64

typedef struct {
    const lstmk_cell *cell;
    int threads, groups, rows;
    /* Thread k owns groups bound[k] ..< bound[k + 1] in the current step; spent[k] is its time in the last one. */
    int bound[MAX_THREADS + 1];
    long long spent[MAX_THREADS];
    _Atomic int arrived;
    _Atomic int phase;
    _Atomic int go;
} cell_run;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void lstmk_share_groups(int threads, int groups, const double *speed, int *bound) {
    double total = 0;
    for (int k = 0; k < threads; k++) total += speed[k] > 0 ? speed[k] : 0;
    bound[0] = 0;
    bound[threads] = groups;
    double sum = 0;
    for (int k = 1; k < threads; k++) {
        sum += speed[k - 1] > 0 ? speed[k - 1] : 0;
        /* An even split when no speed is known (all 0, or NaN). */
        int b = total > 0 ? (int)(groups * (sum / total) + 0.5) : k * groups / threads;
        if (b < bound[k - 1] + 1) b = bound[k - 1] + 1;
        if (b > groups - (threads - k)) b = groups - (threads - k);
        bound[k] = b;
    }
}

/* The bounds of the next step: each thread's share in proportion to its groups per nanosecond in the step just
   done (B42). */
static void rebalance(cell_run *run) {
    double speed[MAX_THREADS];
    for (int k = 0; k < run->threads; k++)
        speed[k] = (double)(run->bound[k + 1] - run->bound[k]) / (double)(run->spent[k] > 0 ? run->spent[k] : 1);
    lstmk_share_groups(run->threads, run->groups, speed, run->bound);
}

static void barrier_wait(cell_run *run) {
    int phase = atomic_load_explicit(&run->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&run->arrived, 1, memory_order_acq_rel) == run->threads - 1) {
        rebalance(run);
        atomic_store_explicit(&run->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&run->phase, phase + 1, memory_order_release);
        return;
    }
    for (int spins = 0; atomic_load_explicit(&run->phase, memory_order_acquire) == phase; spins++) {
        if (spins < SPINS) {
            CPU_RELAX();
        } else {
            sched_yield();
            spins = 0;
        }
    }
}

/* B48: z's rows row0 ..< row1 (of T*B) = b + x W^T. */
static void project_rows(const lstmk_cell *c, size_t row0, size_t row1) {
    if (row1 <= row0) return;
    const int g4 = 4 * c->hidden;
    lstmk_project((int)(row1 - row0), c->input, g4, c->x + row0 * c->input, c->input, c->packed_w, c->bias,
                  c->z + row0 * g4, g4);
}

/* B46: thread k steps rows r0 ..< r1 of the batch through every group, with no barrier (the rows are independent
   sequences); a masked row's carry (M19) right after its step. */
static void run_rows(cell_run *run, int k) {
    const lstmk_cell *c = run->cell;
    const int batch = c->batch, hidden = c->hidden, steps = c->steps;
    const size_t block = (size_t)batch * hidden;
    const int r0 = (int)((long long)k * batch / run->threads), r1 = (int)((long long)(k + 1) * batch / run->threads);
    if (r1 <= r0) return;
    for (int step = 0; step < steps; step++) {
        const int t = c->reverse ? steps - 1 - step : step;
        const int slot = c->reverse ? t : t + 1, previous = c->reverse ? t + 1 : t;
        const size_t o = (size_t)r0 * hidden;
        const float *h_prev = c->h + (size_t)previous * block, *c_prev = c->c + (size_t)previous * block;
        float *h_out = c->h + (size_t)slot * block, *c_out = c->c + (size_t)slot * block;
        /* B48: this thread's rows of z(t), just before its step reads them. */
        if (c->packed_w) project_rows(c, (size_t)t * batch + r0, (size_t)t * batch + r1);
        lstmk_forward_step_groups(r1 - r0, hidden, 0, run->groups, h_prev + o, c->packed_gates,
                                  c->z + ((size_t)t * batch + r0) * 4 * hidden, c_prev + o, c_out + o,
                                  c->act_c + (size_t)t * block + o, h_out + o, step > 0, step & 1);
        if (c->mask) {
            for (int b = r0; b < r1; b++) {
                if (c->mask[(size_t)t * batch + b] != 0) continue;
                memcpy(h_out + (size_t)b * hidden, h_prev + (size_t)b * hidden, (size_t)hidden * sizeof(float));
                memcpy(c_out + (size_t)b * hidden, c_prev + (size_t)b * hidden, (size_t)hidden * sizeof(float));
            }
        }
    }
}

static void run_part(cell_run *run, int k) {
    const lstmk_cell *c = run->cell;
    const int batch = c->batch, hidden = c->hidden, steps = c->steps;
    const size_t block = (size_t)batch * hidden;
    if (c->packed_w) {
        /* B48: a fixed part of z's T*B rows per thread (any cut gives the same sums), then the barrier. */
        long long start = run->threads > 1 ? now_ns() : 0;
        const size_t all = (size_t)steps * batch;
        project_rows(c, all * k / run->threads, all * (k + 1) / run->threads);
        if (run->threads > 1) {
            run->spent[k] = now_ns() - start;
            barrier_wait(run);
        }
    }
    for (int step = 0; step < steps; step++) {
        long long start = run->threads > 1 ? now_ns() : 0;
        const int g0 = run->bound[k], g1 = run->bound[k + 1];
        const int u0 = g0 * 16, u1 = g1 * 16 < hidden ? g1 * 16 : hidden;
        /* Input time t; h and C keep h(-1) = C(-1) = 0 in slot 0 (forward) or slot T (reverse). */
        const int t = c->reverse ? steps - 1 - step : step;
        const int slot = c->reverse ? t : t + 1, previous = c->reverse ? t + 1 : t;
        const float *h_prev = c->h + (size_t)previous * block, *c_prev = c->c + (size_t)previous * block;
        float *h_out = c->h + (size_t)slot * block, *c_out = c->c + (size_t)slot * block;
        if (u1 > u0) {
            lstmk_forward_step_groups(batch, hidden, g0, g1, h_prev, c->packed_gates,
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
        if (run->threads > 1) {
            run->spent[k] = now_ns() - start;
            barrier_wait(run);
        }
    }
}

typedef struct {
    cell_run *run;
    int index;
} worker_arg;

static void *run_worker(void *arg) {
    worker_arg *w = arg;
    /* The bounds are set once every thread exists (their number decides the split). */
    while (atomic_load_explicit(&w->run->go, memory_order_acquire) == 0) sched_yield();
    if (w->run->rows) run_rows(w->run, w->index);
    else run_part(w->run, w->index);
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
    int rows = cell->split == LSTMK_SPLIT_ROWS;
    if (cell->split == LSTMK_SPLIT_AUTO && threads > 1) {
        /* B46: split the batch when a thread's share of the packed U would not fit in its core's L2 anyway (so the
           unit split saves no L3 traffic, and its barrier costs) and every thread gets at least one full row tile. */
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        double share = (double)groups * cell->hidden * 64 * sizeof(float) / threads;
        rows = l2 > 0 && share > (double)l2 && cell->batch >= 6 * threads;
    }
    if (rows && threads > cell->batch) threads = cell->batch;
    cell_run run;
    run.cell = cell;
    run.groups = groups;
    run.rows = rows;
    atomic_init(&run.arrived, 0);
    atomic_init(&run.phase, 0);
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
    run.threads = started;
    for (int k = 0; k <= started; k++) run.bound[k] = k * groups / started;
    atomic_store_explicit(&run.go, 1, memory_order_release);
    if (rows) run_rows(&run, 0);
    else run_part(&run, 0);
    for (int k = 1; k < started; k++) pthread_join(ids[k], NULL);
}
