// A whole GRU layer-direction in float32 on the prepacked GEMM (AVX-512 or AVX2), built like
// lstm_sequence.c: each part of the work (a range of batch rows for every step, or of hidden units
// for one step; sequence.h's run_sequence) forms its three gate columns of h·W_hhᵀ (W_hh packed
// once per sequence) and the cell. PyTorch's formula: r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
// n = tanh(gi_n + r·gh_n), h' = (1 − z)·n + z·h, with gh = h·W_hhᵀ + b_hh. The forward keeps r, z, n
// and gh_n, so the backward evaluates no exp. Under autocast the products run on the bf16 kernel
// with rounded results (s->bfloat16; sequence.h). See Ops/FusedRecurrentSequence.swift for the
// primitive.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "sequence.h"

// One row of the forward cell over n units. gi: pre-activations in, r, z, n out; gh: this
// step's h·W_hhᵀ (bias not yet added); ghn receives gh_n + b_n.
static inline __attribute__((always_inline)) void row_forward(int64_t n, int run, float *restrict gr, float *restrict gz,
        float *restrict gn, const float *restrict hr, const float *restrict hz, const float *restrict hn,
        const float *restrict br, const float *restrict bz, const float *restrict bn, const float *restrict hp,
        float *restrict ghn, float *restrict hnext, float *restrict out) {
    for (int64_t j = 0; j < n; j++) {
        float r = dk_sigmoid(gr[j] + hr[j] + br[j]), z = dk_sigmoid(gz[j] + hz[j] + bz[j]);
        float hb = hn[j] + bn[j], nv = dk_tanh(gn[j] + r * hb), hold = hp[j];
        float hv = (1.0f - z) * nv + z * hold;
        gr[j] = r;
        gz[j] = z;
        gn[j] = nv;
        ghn[j] = hb;
        // Past a sequence's end the state is carried unchanged and the output is 0.
        hnext[j] = run ? hv : hold;
        out[j] = run ? hv : 0.0f;
    }
}

static inline __attribute__((always_inline)) void dk_gru_units_forward_f32_impl(int64_t rows, int64_t h, int64_t j0,
        int64_t j1, float *gi, const float *gh, const float *bhh, const float *hp, const float *m, float *ghn, float *hn,
        float *out) {
    for (int64_t b = 0; b < rows; b++) {
        float *g = gi + b * 3 * h + j0;
        const float *y = gh + b * 3 * h + j0, *bias = bhh + j0;
        int64_t r = b * h + j0;
        row_forward(j1 - j0, !m || m[b] != 0, g, g + h, g + 2 * h, y, y + h, y + 2 * h, bias, bias + h, bias + 2 * h,
                    hp + r, ghn + r, hn + r, out + r);
    }
}

// One row of the backward cell over n units (gates: the saved r, z, n). dh holds the gradient
// of the state leaving the step; on return it holds the part of the entering state's gradient
// that does not go through W_hh (z·dh' and what is carried), which the next phase completes.
static inline __attribute__((always_inline)) void row_backward(int64_t n, int run, const float *restrict gr,
        const float *restrict gz, const float *restrict gn, const float *restrict ghn, const float *restrict hp,
        const float *restrict dout, float *restrict dh, float *restrict dir, float *restrict diz, float *restrict din,
        float *restrict dhr, float *restrict dhz, float *restrict dhn) {
    for (int64_t j = 0; j < n; j++) {
        float dhl = dh[j], d = run ? dhl + dout[j] : 0.0f;
        float r = gr[j], z = gz[j], nv = gn[j];
        float dn = d * (1.0f - z) * (1.0f - nv * nv);
        float dz = d * (hp[j] - nv) * z * (1.0f - z);
        float dr = dn * ghn[j] * r * (1.0f - r);
        dir[j] = dr;
        diz[j] = dz;
        din[j] = dn;
        dhr[j] = dr;
        dhz[j] = dz;
        dhn[j] = dn * r;
        dh[j] = run ? d * z : dhl;
    }
}

static inline __attribute__((always_inline)) void dk_gru_units_backward_f32_impl(int64_t rows, int64_t h, int64_t j0,
        int64_t j1, const float *g, const float *ghn, const float *hp, const float *dout, const float *m, float *dh,
        float *dgi, float *dgh) {
    for (int64_t b = 0; b < rows; b++) {
        const float *gr = g + b * 3 * h + j0;
        float *di = dgi + b * 3 * h + j0, *dy = dgh + b * 3 * h + j0;
        int64_t r = b * h + j0;
        row_backward(j1 - j0, !m || m[b] != 0, gr, gr + h, gr + 2 * h, ghn + r, hp + r, dout + r, dh + r, di, di + h,
                     di + 2 * h, dy, dy + h, dy + 2 * h);
    }
}

DK_DISPATCH(dk_gru_units_forward_f32,
            (int64_t rows, int64_t h, int64_t j0, int64_t j1, float *gi, const float *gh, const float *bhh, const float *hp,
             const float *m, float *ghn, float *hn, float *out),
            (rows, h, j0, j1, gi, gh, bhh, hp, m, ghn, hn, out))
DK_DISPATCH(dk_gru_units_backward_f32,
            (int64_t rows, int64_t h, int64_t j0, int64_t j1, const float *g, const float *ghn, const float *hp,
             const float *dout, const float *m, float *dh, float *dgi, float *dgh),
            (rows, h, j0, j1, g, ghn, hp, dout, m, dh, dgi, dgh))

typedef struct {
    const dk_recurrent_shape *s;
    const float *packed;     // forward: the three gate blocks of W_hhᵀ; backward: W_hh
    const float *bhh;        // (3H), zeros when the layer has no bias
    const float *bih;        // (3H) added to each step's gi, or NULL
    double *dbih, *dbhh;     // the bias gradients' sums (per batch block, 3H each), or NULL
    float *gates, *gh, *ghn, *hPrev, *out;  // gh: one step's h·W_hhᵀ (B, 3H)
    const float *grad;
    float *dGi, *dGh, *dh;
} gru_ctx;

// Step t for the part's rows and units; (T, B, ·) arrays are offset to the part's first row.
static void forward_step(const void *vctx, seq_part part, int64_t t, int64_t next) {
    const gru_ctx *x = vctx;
    const dk_recurrent_shape *s = x->s;
    int64_t B = s->batch, H = s->hidden, T = s->steps, rows = part.b1 - part.b0, j0 = part.j0, j1 = part.j1;
    int64_t r = t * B + part.b0;  // the part's first row of step t
    const float *hp = x->hPrev + r * H;
    float *g = x->gates + r * 3 * H, *gh = x->gh + part.b0 * 3 * H;
    if (x->bih) dk_add_gate_bias_f32(rows, 3, H, j0, j1, x->bih, g);
    gate_products(s, rows, 3, hp, x->packed, j0, j1, gh, 0);
    float *hn = (next < 0 ? x->out + T * B * H : x->hPrev + next * B * H) + part.b0 * H;
    dk_gru_units_forward_f32(rows, H, j0, j1, g, gh, x->bhh, hp, s->masks ? s->masks + r : NULL, x->ghn + r * H, hn,
                             x->out + r * H);
}

void dk_gru_sequence_forward_f32(const dk_recurrent_shape *s, float *gates, const float *bih, const float *bhh,
                                 const float *h0, float *hPrev, float *ghn, float *out) {
    int64_t B = s->batch, H = s->hidden, T = s->steps;
    if (T == 0) {
        memcpy(out, h0, sizeof(float) * (size_t)(B * H));
        return;
    }
    float *packed = pack_gate_blocks(s, 3), *gh = packed_buffer(B * 3 * H);
    memcpy(hPrev + step_at(s, 0) * B * H, h0, sizeof(float) * (size_t)(B * H));
    gru_ctx x = {.s = s, .packed = packed, .bhh = bhh, .bih = bih, .gates = gates, .gh = gh, .ghn = ghn, .hPrev = hPrev,
                 .out = out};
    run_sequence(s, 0, forward_step, &x);
    free(gh);
    free(packed);
}

static void backward_step(const void *vctx, seq_part part, int64_t t, int64_t next) {
    const gru_ctx *x = vctx;
    const dk_recurrent_shape *s = x->s;
    int64_t B = s->batch, H = s->hidden, rows = part.b1 - part.b0, j0 = part.j0, j1 = part.j1;
    // dh += dGh_next · W_hh for this part (next: the step after t, already done).
    if (next >= 0) add_recurrent_gradient(s, 3, x->dGh + next * B * 3 * H, x->packed, part, x->dh);
    if (t < 0) return;
    int64_t r = t * B + part.b0;
    dk_gru_units_backward_f32(rows, H, j0, j1, x->gates + r * 3 * H, x->ghn + r * H, x->hPrev + r * H, x->grad + r * H,
                              s->masks ? s->masks + r : NULL, x->dh + part.b0 * H, x->dGi + r * 3 * H, x->dGh + r * 3 * H);
    if (x->dbih) sum_bias_gradient(s, 3, part.b0, part.b1, j0, j1, x->dGi + t * B * 3 * H, x->dbih);
    if (x->dbhh) sum_bias_gradient(s, 3, part.b0, part.b1, j0, j1, x->dGh + t * B * 3 * H, x->dbhh);
}

void dk_gru_sequence_backward_f32(const dk_recurrent_shape *s, const float *grad, const float *gates, const float *ghn,
                                  const float *hPrev, float *dGi, float *dGh, float *dbih, float *dbhh, float *dh0) {
    int64_t B = s->batch, H = s->hidden, T = s->steps;
    memcpy(dh0, grad + T * B * H, sizeof(float) * (size_t)(B * H));
    double *accI = bias_accumulators(s, dbih, 3 * H), *accH = bias_accumulators(s, dbhh, 3 * H);
    if (T > 0) {
        float *packed = pack_recurrent_weight(s, 3);
        gru_ctx x = {.s = s, .packed = packed, .gates = (float *)gates, .ghn = (float *)ghn, .hPrev = (float *)hPrev,
                     .grad = grad, .dGi = dGi, .dGh = dGh, .dh = dh0, .dbih = accI, .dbhh = accH};
        run_sequence(s, 1, backward_step, &x);
        free(packed);
    }
    store_bias_gradient(s, accI, dbih, 3 * H);
    store_bias_gradient(s, accH, dbhh, 3 * H);
}
