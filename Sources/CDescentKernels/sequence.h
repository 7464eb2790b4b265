// Shared by the fused sequence kernels (lstm_sequence.c, gru_sequence.c): how a sequence's work
// is split among threads (by batch rows or by hidden units, run_sequence), the processing order,
// and packed-weight buffers.
#ifndef DESCENT_SEQUENCE_H
#define DESCENT_SEQUENCE_H
#include "descent_kernels.h"
#include <stdlib.h>

// A step's input-side bias (recurrent.c): g[b, q·h + j] += bias[q·h + j], and its gradient's
// sum acc[q·h + j] += Σ_b dg[b, q·h + j] in double, for units [j0, j1) of each of `gates`
// blocks (rows gates·h apart).
void dk_add_gate_bias_f32(int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *bias, float *g);
void dk_sum_gate_rows_f64(int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *dg, double *acc);

// Rows of a batch block: the bias gradients sum each block's rows apart (every step, in double),
// then the blocks in order, so that the sums do not depend on how the work is split.
#define SEQ_BLOCK_ROWS 8

static inline int64_t row_blocks(const dk_recurrent_shape *s) { return (s->batch + SEQ_BLOCK_ROWS - 1) / SEQ_BLOCK_ROWS; }

// Double accumulators for a bias gradient of n values, one row of n per batch block (zeroed), or
// NULL when none is asked for.
static inline double *bias_accumulators(const dk_recurrent_shape *s, const float *dbias, int64_t n) {
    if (!dbias) return NULL;
    double *acc = calloc((size_t)(row_blocks(s) * n) + 1, sizeof(double));  // (+ 1: an empty batch)
    if (!acc) abort();
    return acc;
}

// acc[block][q·h + j] += Σ over its rows b in [b0, b1) of dg[b, q·h + j], for units [j0, j1) of
// each gate block (dg: rows gates·h apart, starting at row 0 of the step; b0 a block's first row).
static inline void sum_bias_gradient(const dk_recurrent_shape *s, int64_t gates, int64_t b0, int64_t b1, int64_t j0,
                                     int64_t j1, const float *dg, double *acc) {
    int64_t h = s->hidden, n = gates * h;
    for (int64_t r = b0; r < b1; r += SEQ_BLOCK_ROWS) {
        int64_t rows = b1 - r < SEQ_BLOCK_ROWS ? b1 - r : SEQ_BLOCK_ROWS;
        dk_sum_gate_rows_f64(rows, gates, h, j0, j1, dg + r * n, acc + r / SEQ_BLOCK_ROWS * n);
    }
}

// dbias = the blocks' sums added in order, rounded to float; frees acc.
static inline void store_bias_gradient(const dk_recurrent_shape *s, double *acc, float *dbias, int64_t n) {
    if (!acc) return;
    for (int64_t i = 0; i < n; i++) {
        double total = 0;
        for (int64_t k = 0; k < row_blocks(s); k++) total += acc[k * n + i];
        dbias[i] = (float)total;
    }
    free(acc);
}

// The rows [b0, b1) and hidden units [j0, j1) that one part of a sequence's work owns.
typedef struct {
    int64_t b0, b1, j0, j1;
} seq_part;

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
// pack_gate_blocks: one part's columns of a step's recurrent product, for `rows` rows of h and g
// (g's rows gates·H apart).
static inline void gate_products(const dk_recurrent_shape *s, int64_t rows, int gates, const float *h, const float *packed,
                                 int64_t j0, int64_t j1, float *g, int accumulate) {
    int64_t H = s->hidden, slots = packed_slots(s, H, H);
    for (int q = 0; q < gates; q++) packed_product(s, rows, H, H, h, H, packed + q * slots, j0, j1, g + q * H, gates * H, accumulate);
}

// dh[b0:b1, j0:j1] += dG[b0:b1] · W_hh[:, j0:j1] (W_hh packed by pack_recurrent_weight; dG a
// step's (B, gates·H), dh (B, H)): the gradient that reaches a state through the next step's
// recurrent product, for one part's rows and units.
static inline void add_recurrent_gradient(const dk_recurrent_shape *s, int gates, const float *dG, const float *packed,
                                          seq_part part, float *dh) {
    int64_t H = s->hidden;
    packed_product(s, part.b1 - part.b0, H, gates * H, dG + part.b0 * gates * H, gates * H, packed, part.j0, part.j1,
                   dh + part.b0 * H, H, 1);
}

// One step of a sequence for one part: t the step, next the one after it in processing order
// (-1: none; backward ends with t = -1, a step that only completes the initial state's gradient).
typedef void (*seq_step_fn)(const void *ctx, seq_part part, int64_t t, int64_t next);

typedef struct {
    const dk_recurrent_shape *s;
    int backward;
    int64_t parts, t, next;
    seq_step_fn step;
    const void *ctx;
} seq_run;

// The k-th step of the loop and the one after it: forward in processing order, backward in
// reverse, ending with t = -1.
static inline void seq_step_at(const dk_recurrent_shape *s, int backward, int64_t k, int64_t *t, int64_t *next) {
    int64_t T = s->steps, i = backward ? T - 1 - k : k;
    *t = i >= 0 ? step_at(s, i) : -1;
    *next = i + 1 < T ? step_at(s, i + 1) : -1;
}

// A part of whole batch blocks runs every step on its rows, all units.
static void seq_rows_task(void *v, int64_t p) {
    const seq_run *r = v;
    const dk_recurrent_shape *s = r->s;
    int64_t blocks = row_blocks(s), b0 = blocks * p / r->parts * SEQ_BLOCK_ROWS, b1 = blocks * (p + 1) / r->parts * SEQ_BLOCK_ROWS;
    seq_part part = {b0, b1 < s->batch ? b1 : s->batch, 0, s->hidden};
    for (int64_t k = 0; k < s->steps + r->backward; k++) {
        int64_t t, next;
        seq_step_at(s, r->backward, k, &t, &next);
        r->step(r->ctx, part, t, next);
    }
}

// A part of whole panels of units runs the step r->t on them, all rows.
static void seq_units_task(void *v, int64_t p) {
    const seq_run *r = v;
    seq_part part = {0, r->s->batch, 0, 0};
    unit_range(r->s->hidden, r->parts, p, &part.j0, &part.j1);
    r->step(r->ctx, part, r->t, r->next);
}

// Runs `step` over the sequence (forward, or backward with its extra step t = -1), split among
// threads by batch rows where there are as many blocks of rows as there are threads that whole
// panels of units could keep busy: each thread then runs every step on its own rows (a row's
// state is read only by its own next step), with one parallel phase for the sequence. Otherwise
// one parallel phase per step, split by units: the h·W_hhᵀ of the next step reads every unit.
// (LSTM, batch 32, 128 units on 2 threads: split by units, a thread was idle at the phases' ends
// in about 13% of the step's samples.)
static inline void run_sequence(const dk_recurrent_shape *s, int backward, seq_step_fn step, const void *ctx) {
    seq_run r = {.s = s, .backward = backward, .step = step, .ctx = ctx};
    int64_t blocks = row_blocks(s), rowParts = s->threads < blocks ? s->threads : blocks;
    if (rowParts < 1) rowParts = 1;
    if (rowParts >= parts_for(s)) {
        r.parts = rowParts;
        dk_parallel_for(rowParts, s->threads, seq_rows_task, &r);
        return;
    }
    r.parts = parts_for(s);
    for (int64_t k = 0; k < s->steps + backward; k++) {
        seq_step_at(s, backward, k, &r.t, &r.next);
        dk_parallel_for(r.parts, s->threads, seq_units_task, &r);
    }
}

#endif
