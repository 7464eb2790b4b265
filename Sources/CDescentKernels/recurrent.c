// Fused pointwise LSTM and GRU cell kernels (float32), forward and backward, over rows of a
// batch. Written as plain loops over a branch-free exp so that the compiler vectorizes them;
// each is compiled for AVX-512, AVX2+FMA and baseline x86-64, and the variant is picked once
// from the CPU's features (dk_cpu_has_avx512 / dk_cpu_has_avx2).
// Gate layout as PyTorch stacks them: LSTM i, f, g, o; GRU r, z, n.
#include "descent_kernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define DK_X86 1
#define DK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx2")))
#define DK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

// Defines NAME_impl (inline body) variants NAME_avx512, NAME_avx2, NAME_base and the public NAME
// that calls the best one for this CPU.
#ifdef DK_X86
#define DK_DISPATCH(NAME, PARAMS, ARGS)                                                       \
    DK_TARGET_AVX512 static void NAME##_avx512 PARAMS { NAME##_impl ARGS; }                   \
    DK_TARGET_AVX2 static void NAME##_avx2 PARAMS { NAME##_impl ARGS; }                       \
    static void NAME##_base PARAMS { NAME##_impl ARGS; }                                      \
    void NAME PARAMS {                                                                        \
        static void (*volatile chosen) PARAMS = 0;                                            \
        if (!chosen) chosen = dk_cpu_has_avx512() ? NAME##_avx512 : (dk_cpu_has_avx2() ? NAME##_avx2 : NAME##_base); \
        chosen ARGS;                                                                          \
    }
#else
#define DK_DISPATCH(NAME, PARAMS, ARGS) \
    void NAME PARAMS { NAME##_impl ARGS; }
#endif

// e^x for x clamped to [-87.3, 88.3]: Cody-Waite reduction and Cephes' polynomial (~1 ulp).
static inline __attribute__((always_inline)) float dk_exp(float x) {
    float v = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float t = v * 1.44269504f + 12582912.0f;  // round to nearest via 1.5 * 2^23
    float n = t - 12582912.0f;
    int32_t bits;
    memcpy(&bits, &t, 4);
    int32_t e = (bits - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    float r = v - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return (p * r * r + r + 1.0f) * scale;
}

static inline __attribute__((always_inline)) float dk_sigmoid(float x) { return 1.0f / (1.0f + dk_exp(-x)); }

static inline __attribute__((always_inline)) float dk_tanh(float x) {
    float a = x < 0 ? -x : x, z = x * x;
    float q = -5.70498872745e-3f;
    q = q * z + 2.06390887954e-2f;
    q = q * z - 5.37397155531e-2f;
    q = q * z + 1.33314422036e-1f;
    q = q * z - 3.33332819422e-1f;
    float small = q * z * x + x;
    float large = 1.0f - 2.0f / (dk_exp(2.0f * a) + 1.0f);
    large = x < 0 ? -large : large;
    return a < 0.625f ? small : large;
}

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

DK_DISPATCH(dk_lstm_cell_f32, (int64_t rows, int64_t h, const float *gates, const float *c, float *out), (rows, h, gates, c, out))
DK_DISPATCH(dk_lstm_cell_backward_f32, (int64_t rows, int64_t h, const float *grad, const float *gates, const float *c, float *dgates, float *dc), (rows, h, grad, gates, c, dgates, dc))
DK_DISPATCH(dk_gru_cell_f32, (int64_t rows, int64_t h, const float *gi, const float *gh, const float *hp, float *out), (rows, h, gi, gh, hp, out))
DK_DISPATCH(dk_gru_cell_backward_f32, (int64_t rows, int64_t h, const float *grad, const float *gi, const float *gh, const float *hp, float *dgi, float *dgh, float *dh), (rows, h, grad, gi, gh, hp, dgi, dgh, dh))
DK_DISPATCH(dk_sigmoid_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_tanh_f32, (int64_t n, const float *x, float *y), (n, x, y))
