// Shared by the fused sequence kernels (lstm_sequence.c, gru_sequence.c): how a step's hidden
// units are split among threads, the processing order, and packed-weight buffers.
#ifndef DESCENT_SEQUENCE_H
#define DESCENT_SEQUENCE_H
#include "descent_kernels.h"
#include <stdlib.h>

// A step's input-side bias (recurrent.c): g[b, q·h + j] += bias[q·h + j], and its gradient's
// sum acc[q·h + j] += Σ_b dg[b, q·h + j] in double, for units [j0, j1) of each of `gates`
// blocks (rows gates·h apart).
void dk_add_gate_bias_f32(int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *bias, float *g);
void dk_sum_gate_rows_f64(int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *dg, double *acc);

// Double accumulators for a bias gradient of n values (zeroed), or NULL when none is asked for.
static inline double *bias_accumulators(const float *dbias, int64_t n) {
    if (!dbias) return NULL;
    double *acc = calloc((size_t)n, sizeof(double));
    if (!acc) abort();
    return acc;
}

// dbias = acc rounded to float; frees acc.
static inline void store_bias_gradient(double *acc, float *dbias, int64_t n) {
    if (!acc) return;
    for (int64_t i = 0; i < n; i++) dbias[i] = (float)acc[i];
    free(acc);
}

// The hidden units [j0, j1) of part p of `parts`: whole 32-column panels.
static inline void unit_range(int64_t h, int64_t parts, int64_t p, int64_t *j0, int64_t *j1) {
    int64_t panels = (h + 31) / 32;
    int64_t a = panels * p / parts, b = panels * (p + 1) / parts;
    *j0 = a * 32;
    *j1 = b * 32 < h ? b * 32 : h;
}

// Parts of a step: one per thread (whole panels). (Four per thread, handed out as threads come
// free, measured no better with a busy second CPU and cost more small products.)
static inline int64_t parts_for(const dk_recurrent_shape *s) {
    int64_t panels = (s->hidden + 31) / 32, parts = s->threads;
    if (parts > panels) parts = panels;
    return parts < 1 ? 1 : parts;
}

// A 64-byte aligned buffer of n floats (the GEMM kernel loads packed panels aligned).
static inline float *packed_buffer(int64_t n) {
    float *p = aligned_alloc(64, (sizeof(float) * (size_t)n + 63) / 64 * 64);
    if (!p) abort();
    return p;
}

// The step processed at position s of the loop.
static inline int64_t step_at(const dk_recurrent_shape *s, int64_t i) { return s->reverse ? s->steps - 1 - i : i; }

// Under autocast (s->bfloat16) the products run on the bf16 kernel: W_hh is packed as bfloat16
// words (dk_bgemm_pack_b, in the same 4-byte slots), h and dG are rounded as they are packed, and
// each product's sums are rounded to bfloat16 (autocast's rounded result) before they are stored
// or added.

// 4-byte slots of a packed K×N operand B.
static inline int64_t packed_slots(const dk_recurrent_shape *s, int64_t K, int64_t N) {
    return s->bfloat16 ? dk_bgemm_packed_b_words(K, N) : dk_sgemm_packed_b_floats(K, N);
}

// op(B) (K×N, B = s->whh + offset with rows ldb apart) packed into dst.
static inline void pack_operand(const dk_recurrent_shape *s, int transB, int64_t K, int64_t N, int64_t offset, int64_t ldb,
                                float *dst) {
    if (s->bfloat16) dk_bgemm_pack_b(transB, K, N, s->whh + offset, ldb, (uint32_t *)dst);
    else dk_sgemm_pack_b(transB, K, N, s->whh + offset, ldb, dst);
}

// C[:, j0:j1] (= or +=) A·B[:, j0:j1] with B packed by pack_operand.
static inline void packed_product(const dk_recurrent_shape *s, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                                  const float *packed, int64_t j0, int64_t j1, float *C, int64_t ldc, int accumulate) {
    if (s->bfloat16) dk_bgemm_prepacked(M, N, K, A, lda, (const uint32_t *)packed, j0, j1, C, ldc, accumulate, 1);
    else dk_sgemm_prepacked(M, N, K, A, lda, packed, j0, j1, C, ldc, accumulate);
}

// W_hhᵀ (H × gates·H) packed for h·W_hhᵀ as one block per gate, so that a part's hidden units
// are whole panels in each gate. The blocks are packed_slots(s, H, H) apart.
static inline float *pack_gate_blocks(const dk_recurrent_shape *s, int gates) {
    int64_t H = s->hidden, slots = packed_slots(s, H, H);
    float *packed = packed_buffer(gates * slots);
    for (int q = 0; q < gates; q++) pack_operand(s, 1, H, H, q * H * H, H, packed + q * slots);
    return packed;
}

// W_hh (gates·H × H) packed for dG·W_hh.
static inline float *pack_recurrent_weight(const dk_recurrent_shape *s, int gates) {
    int64_t H = s->hidden;
    float *packed = packed_buffer(packed_slots(s, gates * H, H));
    pack_operand(s, 0, gates * H, H, 0, H, packed);
    return packed;
}

// g[:, q·H + j0 : q·H + j1] (= or +=) h · W_hhᵀ for each gate q, with the blocks of
// pack_gate_blocks: one part's columns of a step's recurrent product (g rows gates·H apart).
static inline void gate_products(const dk_recurrent_shape *s, int gates, const float *h, const float *packed, int64_t j0,
                                 int64_t j1, float *g, int accumulate) {
    int64_t B = s->batch, H = s->hidden, slots = packed_slots(s, H, H);
    for (int q = 0; q < gates; q++) packed_product(s, B, H, H, h, H, packed + q * slots, j0, j1, g + q * H, gates * H, accumulate);
}

// dh[:, j0:j1] += dG · W_hh[:, j0:j1] (W_hh packed by pack_recurrent_weight): the gradient that
// reaches a state through the next step's recurrent product, for one part's units.
static inline void add_recurrent_gradient(const dk_recurrent_shape *s, int gates, const float *dG, const float *packed,
                                          int64_t j0, int64_t j1, float *dh) {
    int64_t B = s->batch, H = s->hidden;
    packed_product(s, B, H, gates * H, dG, gates * H, packed, j0, j1, dh, H, 1);
}

// Runs one parallel phase per step: forward over the steps in processing order, with *t the
// step and *next the one after it (-1 after the last); backward in reverse, ending with a phase
// for t = -1 that only completes the gradient of the initial state.
static inline void run_steps(const dk_recurrent_shape *s, int backward, int64_t parts, dk_task_fn task, void *ctx,
                             int64_t *t, int64_t *next) {
    int64_t T = s->steps;
    for (int64_t k = 0; k < T + backward; k++) {
        int64_t i = backward ? T - 1 - k : k;
        *t = i >= 0 ? step_at(s, i) : -1;
        *next = i + 1 < T ? step_at(s, i + 1) : -1;
        dk_parallel_for(parts, s->threads, task, ctx);
    }
}

#endif
