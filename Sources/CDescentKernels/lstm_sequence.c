// A whole LSTM layer-direction in float32 on the prepacked GEMM (AVX-512 or AVX2,
// sgemm_prepacked.c): the time loop runs here (sequence.h's run_sequence). Each thread owns a range
// of batch rows and runs every step on them (one parallel phase for the sequence), or, where the
// batch is too small for the threads, a range of hidden units (whole 32-column panels) with one
// parallel phase per step. A part does, for its rows and units, the four gate columns of h·W_hhᵀ
// (W_hh packed once per sequence) and the cell. Backward mirrors it: each part forms its columns of
// dh = dG·W_hh and then their cell gradient. The forward saves the activated gates, tanh(c') and
// the states entering each step, so the backward evaluates no exp. Gate layout as PyTorch stacks
// them: i, f, g, o. Under autocast the products run on the bf16 kernel with rounded results
// (s->bfloat16; sequence.h). See Ops/FusedRecurrentSequence.swift for the primitive;
// Ops/RecurrentSequence.swift is its oracle.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "sequence.h"

// One row of the forward cell over n units: the gate pointers are separate (restrict) so that
// the compiler vectorizes without checking for overlap. Gates: pre-activations in, activations out.
static inline __attribute__((always_inline)) void row_forward(int64_t n, int run, float *restrict gi, float *restrict gf,
        float *restrict gg, float *restrict go, const float *restrict c, const float *restrict hp, float *restrict hn,
        float *restrict cn, float *restrict out, float *restrict tc) {
    for (int64_t j = 0; j < n; j++) {
        float i = dk_sigmoid(gi[j]), f = dk_sigmoid(gf[j]), g = dk_tanh(gg[j]), o = dk_sigmoid(go[j]);
        float cv = f * c[j] + i * g, t = dk_tanh(cv), hv = o * t, cold = c[j], hold = hp[j];
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        tc[j] = t;
        // Past a sequence's end the state is carried unchanged and the output is 0.
        hn[j] = run ? hv : hold;
        cn[j] = run ? cv : cold;
        out[j] = run ? hv : 0.0f;
    }
}

// Forward cell for units [j0, j1) of every row (g: (rows, 4H), the others (rows, H)).
static inline __attribute__((always_inline)) void dk_lstm_units_forward_f32_impl(int64_t rows, int64_t h, int64_t j0,
        int64_t j1, float *g, const float *c, const float *hp, const float *m, float *hn, float *cn, float *out, float *tc) {
    for (int64_t b = 0; b < rows; b++) {
        float *gr = g + b * 4 * h + j0;
        int64_t r = b * h + j0;
        row_forward(j1 - j0, !m || m[b] != 0, gr, gr + h, gr + 2 * h, gr + 3 * h, c + r, hp + r, hn + r, cn + r, out + r,
                    tc + r);
    }
}

// One row of the backward cell over n units (gates: the saved activations). dh, dc hold the
// gradients of the state leaving the step; on return dc holds that of the state entering it and
// dh its carried part (the rest, dG·W_hh, is added by the next phase).
static inline __attribute__((always_inline)) void row_backward(int64_t n, int run, const float *restrict gi,
        const float *restrict gf, const float *restrict gg, const float *restrict go, const float *restrict cp,
        const float *restrict tc, const float *restrict dout, float *restrict dh, float *restrict dc, float *restrict di,
        float *restrict df, float *restrict dgg, float *restrict dgo) {
    for (int64_t j = 0; j < n; j++) {
        // Past a sequence's end the state is carried unchanged and the output is 0.
        float dhl = dh[j], dct = dc[j];
        float dhn = run ? dhl + dout[j] : 0.0f, dci = run ? dct : 0.0f;
        float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
        float dcn = dci + dhn * o * (1.0f - t * t);
        di[j] = dcn * g * i * (1.0f - i);
        df[j] = dcn * cp[j] * f * (1.0f - f);
        dgg[j] = dcn * i * (1.0f - g * g);
        dgo[j] = dhn * t * o * (1.0f - o);
        dc[j] = dcn * f + (run ? 0.0f : dct);
        dh[j] = run ? 0.0f : dhl;
    }
}

static inline __attribute__((always_inline)) void dk_lstm_units_backward_f32_impl(int64_t rows, int64_t h, int64_t j0,
        int64_t j1, const float *g, const float *cp, const float *tc, const float *dout, const float *m, float *dh,
        float *dc, float *dg) {
    for (int64_t b = 0; b < rows; b++) {
        const float *gr = g + b * 4 * h + j0;
        float *dr = dg + b * 4 * h + j0;
        int64_t r = b * h + j0;
        row_backward(j1 - j0, !m || m[b] != 0, gr, gr + h, gr + 2 * h, gr + 3 * h, cp + r, tc + r, dout + r, dh + r,
                     dc + r, dr, dr + h, dr + 2 * h, dr + 3 * h);
    }
}

DK_DISPATCH(dk_lstm_units_forward_f32,
            (int64_t rows, int64_t h, int64_t j0, int64_t j1, float *g, const float *c, const float *hp, const float *m,
             float *hn, float *cn, float *out, float *tc),
            (rows, h, j0, j1, g, c, hp, m, hn, cn, out, tc))
DK_DISPATCH(dk_lstm_units_backward_f32,
            (int64_t rows, int64_t h, int64_t j0, int64_t j1, const float *g, const float *cp, const float *tc,
             const float *dout, const float *m, float *dh, float *dc, float *dg),
            (rows, h, j0, j1, g, cp, tc, dout, m, dh, dc, dg))

typedef struct {
    const dk_recurrent_shape *s;
    const float *packed;  // forward: the four gate blocks of W_hhᵀ; backward: W_hh
    float *gates, *hPrev, *cPrev, *tanhC, *out;
    const float *grad, *cgates, *bias;  // bias: added to each step's gates (4H), or NULL
    float *dGates, *dh, *dc;
    double *dbias;  // the bias gradient's sums (per batch block, 4H each), or NULL
} seq_ctx;

// Step t for the part's rows and units; (T, B, ·) arrays are offset to the part's first row.
static void forward_step(const void *vctx, seq_part part, int64_t t, int64_t next) {
    const seq_ctx *x = vctx;
    const dk_recurrent_shape *s = x->s;
    int64_t B = s->batch, H = s->hidden, T = s->steps, rows = part.b1 - part.b0, j0 = part.j0, j1 = part.j1;
    int64_t r = t * B + part.b0;  // the part's first row of step t
    float *g = x->gates + r * 4 * H;
    const float *hp = x->hPrev + r * H, *c = x->cPrev + r * H;
    // (x·W_ihᵀ + b) + h·W_hhᵀ, summed in the order of the unfused composite.
    if (x->bias) dk_add_gate_bias_f32(rows, 4, H, j0, j1, x->bias, g);
    gate_products(s, rows, 4, hp, x->packed, j0, j1, g, 1);
    float *hn = (next < 0 ? x->out + T * B * H : x->hPrev + next * B * H) + part.b0 * H;
    float *cn = (next < 0 ? x->out + (T + 1) * B * H : x->cPrev + next * B * H) + part.b0 * H;
    dk_lstm_units_forward_f32(rows, H, j0, j1, g, c, hp, s->masks ? s->masks + r : NULL, hn, cn, x->out + r * H,
                              x->tanhC + r * H);
}

void dk_lstm_sequence_forward_f32(const dk_recurrent_shape *s, float *gates, const float *bias, const float *h0,
                                  const float *c0, float *hPrev, float *cPrev, float *tanhC, float *out) {
    int64_t B = s->batch, H = s->hidden, T = s->steps;
    if (T == 0) {
        memcpy(out, h0, sizeof(float) * (size_t)(B * H));
        memcpy(out + B * H, c0, sizeof(float) * (size_t)(B * H));
        return;
    }
    float *packed = pack_gate_blocks(s, 4);
    memcpy(hPrev + step_at(s, 0) * B * H, h0, sizeof(float) * (size_t)(B * H));
    memcpy(cPrev + step_at(s, 0) * B * H, c0, sizeof(float) * (size_t)(B * H));
    seq_ctx x = {.s = s, .packed = packed, .gates = gates, .hPrev = hPrev, .cPrev = cPrev, .tanhC = tanhC, .out = out,
                 .bias = bias};
    run_sequence(s, 0, forward_step, &x);
    free(packed);
}

static void backward_step(const void *vctx, seq_part part, int64_t t, int64_t next) {
    const seq_ctx *x = vctx;
    const dk_recurrent_shape *s = x->s;
    int64_t B = s->batch, H = s->hidden, rows = part.b1 - part.b0, j0 = part.j0, j1 = part.j1;
    // dh += dG_next · W_hh for this part (next: the step after t, already done).
    if (next >= 0) add_recurrent_gradient(s, 4, x->dGates + next * B * 4 * H, x->packed, part, x->dh);
    if (t < 0) return;
    int64_t r = t * B + part.b0, o = part.b0 * H;
    dk_lstm_units_backward_f32(rows, H, j0, j1, x->cgates + r * 4 * H, x->cPrev + r * H, x->tanhC + r * H, x->grad + r * H,
                               s->masks ? s->masks + r : NULL, x->dh + o, x->dc + o, x->dGates + r * 4 * H);
    if (x->dbias) sum_bias_gradient(s, 4, part.b0, part.b1, j0, j1, x->dGates + t * B * 4 * H, x->dbias);
}

void dk_lstm_sequence_backward_f32(const dk_recurrent_shape *s, const float *grad, const float *gates, const float *cPrev,
                                   const float *tanhC, float *dGates, float *dbias, float *dh0, float *dc0) {
    int64_t B = s->batch, H = s->hidden, T = s->steps;
    memcpy(dh0, grad + T * B * H, sizeof(float) * (size_t)(B * H));
    memcpy(dc0, grad + (T + 1) * B * H, sizeof(float) * (size_t)(B * H));
    double *acc = bias_accumulators(s, dbias, 4 * H);
    if (T > 0) {
        float *packed = pack_recurrent_weight(s, 4);
        seq_ctx x = {.s = s, .packed = packed, .grad = grad, .cgates = gates, .cPrev = (float *)cPrev,
                     .tanhC = (float *)tanhC, .dGates = dGates, .dh = dh0, .dc = dc0, .dbias = acc};
        run_sequence(s, 1, backward_step, &x);
        free(packed);
    }
    store_bias_gradient(s, acc, dbias, 4 * H);
}
