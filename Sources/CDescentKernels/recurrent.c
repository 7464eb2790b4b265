// Fused pointwise LSTM and GRU cell kernels (float32), forward and backward, over rows of a
// batch. Written as plain loops over a branch-free exp so that the compiler vectorizes them;
// each is compiled for AVX-512, AVX2+FMA and baseline x86-64, and the variant is picked once
// from the CPU's features (dk_cpu_has_avx512 / dk_cpu_has_avx2).
// Gate layout as PyTorch stacks them: LSTM i, f, g, o; GRU r, z, n.
#include "descent_kernels.h"
#include <stdint.h>
#include <string.h>

#include "activations.h"

static inline __attribute__((always_inline)) void dk_lstm_cell_f32_impl(int64_t rows, int64_t h, const float *restrict gates, const float *restrict c, float *restrict out) {
    for (int64_t b = 0; b < rows; b++) {
        const float *g = gates + b * 4 * h, *cr = c + b * h;
        float *o = out + b * 2 * h;
        for (int64_t j = 0; j < h; j++) {
            float i = dk_sigmoid(g[j]), f = dk_sigmoid(g[h + j]), gg = dk_tanh(g[2 * h + j]), oo = dk_sigmoid(g[3 * h + j]);
            float cn = f * cr[j] + i * gg;
            o[h + j] = cn;
            o[j] = oo * dk_tanh(cn);
        }
    }
}

static inline __attribute__((always_inline)) void dk_lstm_cell_backward_f32_impl(int64_t rows, int64_t h, const float *restrict grad, const float *restrict gates, const float *restrict c,
                                         float *restrict dgates, float *restrict dc) {
    for (int64_t b = 0; b < rows; b++) {
        const float *g = gates + b * 4 * h, *cr = c + b * h, *d = grad + b * 2 * h;
        float *o = dgates + b * 4 * h, *oc = dc + b * h;
        for (int64_t j = 0; j < h; j++) {
            float i = dk_sigmoid(g[j]), f = dk_sigmoid(g[h + j]), gg = dk_tanh(g[2 * h + j]), oo = dk_sigmoid(g[3 * h + j]);
            float cn = f * cr[j] + i * gg, tc = dk_tanh(cn);
            float dh = d[j];
            float dcn = d[h + j] + dh * oo * (1.0f - tc * tc);
            o[j] = dcn * gg * i * (1.0f - i);
            o[h + j] = dcn * cr[j] * f * (1.0f - f);
            o[2 * h + j] = dcn * i * (1.0f - gg * gg);
            o[3 * h + j] = dh * tc * oo * (1.0f - oo);
            oc[j] = dcn * f;
        }
    }
}

static inline __attribute__((always_inline)) void dk_gru_cell_f32_impl(int64_t rows, int64_t h, const float *restrict gi, const float *restrict gh, const float *restrict hp, float *restrict out) {
    for (int64_t b = 0; b < rows; b++) {
        const float *x = gi + b * 3 * h, *y = gh + b * 3 * h, *p = hp + b * h;
        float *o = out + b * h;
        for (int64_t j = 0; j < h; j++) {
            float r = dk_sigmoid(x[j] + y[j]), z = dk_sigmoid(x[h + j] + y[h + j]);
            float n = dk_tanh(x[2 * h + j] + r * y[2 * h + j]);
            o[j] = (1.0f - z) * n + z * p[j];
        }
    }
}

static inline __attribute__((always_inline)) void dk_gru_cell_backward_f32_impl(int64_t rows, int64_t h, const float *restrict grad, const float *restrict gi, const float *restrict gh,
                                        const float *restrict hp, float *restrict dgi, float *restrict dgh, float *restrict dh) {
    for (int64_t b = 0; b < rows; b++) {
        const float *x = gi + b * 3 * h, *y = gh + b * 3 * h, *p = hp + b * h, *d = grad + b * h;
        float *ox = dgi + b * 3 * h, *oy = dgh + b * 3 * h, *op = dh + b * h;
        for (int64_t j = 0; j < h; j++) {
            float r = dk_sigmoid(x[j] + y[j]), z = dk_sigmoid(x[h + j] + y[h + j]);
            float n = dk_tanh(x[2 * h + j] + r * y[2 * h + j]);
            float g = d[j];
            float dnPre = g * (1.0f - z) * (1.0f - n * n);
            float dzPre = g * (p[j] - n) * z * (1.0f - z);
            float drPre = dnPre * y[2 * h + j] * r * (1.0f - r);
            ox[j] = drPre; oy[j] = drPre;
            ox[h + j] = dzPre; oy[h + j] = dzPre;
            ox[2 * h + j] = dnPre; oy[2 * h + j] = dnPre * r;
            op[j] = g * z;
        }
    }
}

static inline __attribute__((always_inline)) void dk_sigmoid_f32_impl(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) y[i] = dk_sigmoid(x[i]);
}

static inline __attribute__((always_inline)) void dk_tanh_f32_impl(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) y[i] = dk_tanh(x[i]);
}

// The input-side bias of the fused sequences (lstm_sequence.c, gru_sequence.c), added to a
// step's gates and its gradient summed while the step's rows are in cache: units [j0, j1) of
// each of `gates` blocks of h columns, in rows gates·h apart.
static inline __attribute__((always_inline)) void dk_add_gate_bias_f32_impl(int64_t rows, int64_t gates, int64_t h,
        int64_t j0, int64_t j1, const float *restrict bias, float *restrict g) {
    for (int64_t b = 0; b < rows; b++)
        for (int64_t q = 0; q < gates; q++) {
            float *r = g + b * gates * h + q * h;
            for (int64_t j = j0; j < j1; j++) r[j] += bias[q * h + j];
        }
}

// acc[q·h + j] += dg[b, q·h + j] for every row b, in double (as dk_sum_rows_f32 sums).
static inline __attribute__((always_inline)) void dk_sum_gate_rows_f64_impl(int64_t rows, int64_t gates, int64_t h,
        int64_t j0, int64_t j1, const float *restrict dg, double *restrict acc) {
    for (int64_t b = 0; b < rows; b++)
        for (int64_t q = 0; q < gates; q++) {
            const float *r = dg + b * gates * h + q * h;
            double *a = acc + q * h;
            for (int64_t j = j0; j < j1; j++) a[j] += (double)r[j];
        }
}

DK_DISPATCH(dk_lstm_cell_f32, (int64_t rows, int64_t h, const float *gates, const float *c, float *out), (rows, h, gates, c, out))
DK_DISPATCH(dk_lstm_cell_backward_f32, (int64_t rows, int64_t h, const float *grad, const float *gates, const float *c, float *dgates, float *dc), (rows, h, grad, gates, c, dgates, dc))
DK_DISPATCH(dk_gru_cell_f32, (int64_t rows, int64_t h, const float *gi, const float *gh, const float *hp, float *out), (rows, h, gi, gh, hp, out))
DK_DISPATCH(dk_gru_cell_backward_f32, (int64_t rows, int64_t h, const float *grad, const float *gi, const float *gh, const float *hp, float *dgi, float *dgh, float *dh), (rows, h, grad, gi, gh, hp, dgi, dgh, dh))
DK_DISPATCH(dk_sigmoid_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_tanh_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_add_gate_bias_f32,
            (int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *bias, float *g),
            (rows, gates, h, j0, j1, bias, g))
DK_DISPATCH(dk_sum_gate_rows_f64,
            (int64_t rows, int64_t gates, int64_t h, int64_t j0, int64_t j1, const float *dg, double *acc),
            (rows, gates, h, j0, j1, dg, acc))
