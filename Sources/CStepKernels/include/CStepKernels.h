#ifndef LSTMFORMAT_STEP_KERNELS_H
#define LSTMFORMAT_STEP_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* float32 kernels for the LSTM time loop (Spec/bptt.md B34-B36): per-step products on weights packed once into
   64-column panels, and the forward step with the gate arithmetic applied to each tile of the product while it is
   still in registers. AVX-512 only; the verifier takes OpenBLAS where lstmk_available() is 0.

   Every element of a product is one sequential FMA chain over k = 0 ..< K, whatever the number of rows or the
   row range a call gets, so splitting the batch across threads never changes a sum. */

/* 1 when the CPU and OS run the AVX-512 F kernels. */
int lstmk_available(void);

/* Floats in a packed copy of a K x N operand: ceil(N / 64) panels of K x 64 (the padding stays 0). */
size_t lstmk_panels_count(int k, int n);

/* Forward layout of U [4H, S] (gate blocks f, i, c, o of H rows each, row-major): panel g holds, for each
   k < S, f, i, c, o of units 16g ..< 16g+16 (64 floats). Writes the entries of U's rows row0 ..< row1 only. */
void lstmk_pack_gates(const float *u, int hidden, int state, int row0, int row1, float *packed);

/* Plain layout of B [K, N] row-major: panel p holds columns 64p ..< 64p+64 for each k. Rows row0 ..< row1. */
void lstmk_pack_panels(const float *b, int k, int n, int row0, int row1, float *packed);

/* One forward step of `rows` sequences of a cell with sigmoid gates and a tanh cell (Spec/bptt.md B34):
   z [rows, 4H] holds W x(t) + b on entry and f, i, C~, o on return, where each pre-activation is
   z + (h(t-1) U^T) (the product omitted when recurrent is 0); C(t) = f C(t-1) + i C~, act_c = tanh(C(t)),
   h(t) = o act_c. h_prev and h_out are [rows, S] (S == H), c_prev, c_out, act_c [rows, H].
   reverse != 0 visits the panels last to first (same results): alternating it step by step starts each step on
   the panels the previous one left in the core's L2 cache (Spec/bptt.md B37). */
void lstmk_forward_step(int rows, int hidden, const float *h_prev, const float *packed_gates, float *z,
                        const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent, int reverse);

/* lstmk_forward_step for the 16-unit groups g0 ..< g1 only (units 16 g0 ..< min(16 g1, H)) of every row. */
void lstmk_forward_step_groups(int rows, int hidden, int g0, int g1, const float *h_prev, const float *packed_gates,
                               float *z, const float *c_prev, float *c_out, float *act_c, float *h_out, int recurrent,
                               int reverse);

/* One cell's buffers for lstmk_forward_cell (time-major, S == H): z [T*B, 4H] holds W x(t) + b on entry and the
   gates on return; h and c [(T+1)*B, H] in slots (the state of input time t in slot t+1, h(-1) = C(-1) = 0 in
   slot 0; reversed: slot t, and slot T holds the zeros); act_c [T*B, H]; mask [T*B] (row b of input time t at
   t*B + b; 0 = masked: the row keeps h(t-1) and C(t-1), M19) or NULL. split: how lstmk_forward_cell shares the
   work among its threads (Spec/bptt.md B46): LSTMK_SPLIT_AUTO chooses, LSTMK_SPLIT_UNITS and LSTMK_SPLIT_ROWS force
   one way (for tests); every split gives the same bits. */
enum { LSTMK_SPLIT_AUTO = 0, LSTMK_SPLIT_UNITS = 1, LSTMK_SPLIT_ROWS = 2 };
typedef struct {
    int batch, steps, hidden, reverse;
    const float *packed_gates;
    float *z, *h, *c, *act_c;
    const uint8_t *mask;
    int split;
    /* B48: when packed_w is not NULL the loop forms z itself, z = b + x W^T by lstmk_project (x [T*B, input]
       time-major, W packed by lstmk_pack_transposed, bias [4H]), each thread its own rows; z's entry values are
       then not read. NULL: z holds W x(t) + b on entry. */
    const float *x;
    int input;
    const float *packed_w, *bias;
} lstmk_cell;

/* The whole forward time loop of a fused cell (Spec/bptt.md B40, B42, B46) on `threads` threads (the caller's and
   threads - 1 it starts and joins; at most as many as CPUs the process may run on; one thread below 2^24
   multiply-adds in all). Unit split: step after step, the 16-unit groups split across the threads in contiguous
   ranges, every row of the batch in each, with a barrier after each step; at each barrier the ranges are re-cut by
   lstmk_share_groups from each thread's speed in the step just done. Row split (B46: chosen when a thread's share
   of the packed U exceeds the core's L2 and each thread gets at least 6 rows): each thread steps a contiguous
   part of the batch through every group, with no barrier. Step s visits its groups in reverse when s is odd
   (B37). With cell->packed_w (B48) z is formed first: by the batch split, each thread its rows of z(t) right before
   step t; by the unit split, each thread a fixed part of z's rows before the first step and its barrier. Same bits
   for any thread count, split and cut (B35, B48). */
void lstmk_forward_cell(const lstmk_cell *cell, int threads);

/* Cuts `groups` groups into `threads` contiguous ranges bound[k] ..< bound[k + 1] (bound[0] = 0,
   bound[threads] = groups; 1 <= threads <= groups), each in proportion to speed[k] (groups per unit of time; a
   negative or NaN speed counts as 0), rounded to the nearest group, at least one group each; an even cut when no
   speed is positive. */
void lstmk_share_groups(int threads, int groups, const double *speed, int *bound);

/* Plain layout of B = W^T for W [N, K] row-major (B [K, N]: panel p holds W's rows 64p ..< 64p+64 side by side
   for each k): lstmk_pack_panels's layout of W^T, read from W's rows row0 ..< row1 only (Spec/bptt.md B48). */
void lstmk_pack_transposed(const float *w, int k, int n, int row0, int row1, float *packed);

/* The input projection (Spec/bptt.md B48): C [rows, N] = bias + A [rows, K] B with B packed by
   lstmk_pack_transposed (or lstmk_pack_panels); each element is one FMA chain that starts from bias[j] and adds
   a[i, k] b[k, j] for k = 0 ..< K in order, whatever the rows a call gets. */
void lstmk_project(int rows, int k, int n, const float *a, int lda, const float *packed, const float *bias, float *c,
                   int ldc);

/* C [rows, N] = A [rows, K] B with B packed by lstmk_pack_panels (ldc, lda in floats); reverse as above. */
void lstmk_gemm(int rows, int k, int n, const float *a, int lda, const float *packed, float *c, int ldc,
                int reverse);

/* BPTT's gate gradients for one step of `rows` sequences of a cell with sigmoid gates and a tanh cell
   (Spec/bptt.md B44, backward.c): dh = above + recurrent (recurrent NULL: above alone), dC = dh o (1 - a a) + carry,
   carry = dC f, and z's f, i, C~, o [rows, 4H] become δ_f = dC c_prev f (1 - f), δ_i = dC C~ i (1 - i),
   δ_C~ = dC i (1 - C~ C~), δ_o = dh a o (1 - o), in place. above, recurrent, act_c (a = tanh(C(t))), c_prev
   (C(t-1)) and carry are [rows, H]. The general pass's operations in its order: the same bits.
   zt non-NULL (B49): each δ is copied besides to zt[j * ldt + r] (j < 4H the column of z, r < rows its row), i.e.
   zt is the rows' columns of dZ^T [4H, ldt]. */
void lstmk_backward_gates(int rows, int hidden, const float *above, const float *recurrent, float *z,
                          const float *act_c, const float *c_prev, float *carry, float *zt, long ldt);

/* `count` zeroed floats, 64-byte aligned; from 2 MiB on, 2 MiB aligned and marked for transparent huge pages
   (B49's dZ^T: its tiles are written down 4H lines 4 T B bytes apart, one page each with 4 KiB pages); NULL if
   out of memory. Free with lstmk_free_large. */
float *lstmk_alloc_large(size_t count);
void lstmk_free_large(float *p);

/* dst[j * ldd + r] = src[r * lds + j] for r < rows, j < cols (backward.c; Spec/bptt.md B49). */
void lstmk_transpose(int rows, int cols, const float *src, long lds, float *dst, long ldd);

/* float64 products on float32 weights widened in registers (Spec/bptt.md B38), AVX2 + FMA (widening.c).
   c [m, n] += a [m, K] w^T, w [n, K] row-major (ldw, lda, ldc in elements): c[i, j] = c[i, j] + s(i, j), where
   s(i, j) sums a[i, k] w[j, k] in one fixed order (8 lanes: lane q takes k = 8s + q by FMA in turn; then lane q
   + lane q+4, then (0 + 1) + (2 + 3)), whatever m, n or the rows a call gets. lstmk_dot_double is the same on
   float64 weights, so on float32 values widened to float64 the two give the same bits. */

/* 1 when the CPU and OS run AVX2 and FMA. */
int lstmk_widening_available(void);

void lstmk_dot_widened(int m, int n, int k, const double *a, int lda, const float *w, int ldw, double *c, int ldc);

void lstmk_dot_double(int m, int n, int k, const double *a, int lda, const double *w, int ldw, double *c, int ldc);

/* The gradient check's probe step (Spec/bptt.md B39): w[i] = w[i] + scale * (u_i / norm) for i < n, where u_i is
   the (i+1)-th SplitMix64 value after `state`, as symmetricUnit() gives it ((z >> 11) * 2^-52 - 1): the bits of
   Swift's `w[i] + scale * (r.symmetricUnit() / norm)` loop, element by element. */
void lstmk_add_direction(double *w, long n, uint64_t state, double scale, double norm);

/* dst[i] = (double)src[i] for i < n (exact). */
void lstmk_widen(const float *src, double *dst, long n);

#endif
