// Float32 loops of Swift's elementwise ops that the compiler vectorizes for the CPU at hand
// (the dispatch of simd.h; Swift itself is compiled for baseline x86-64).
#include "descent_kernels.h"

#include "simd.h"

// 0 where x < 0, else x: NaN and −0 kept (as PyTorch's relu).
static inline __attribute__((always_inline)) void dk_relu_f32_impl(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0.0f : x[i];
}

// 0 where the output y ≤ 0, else g (also where y is NaN, as PyTorch's threshold_backward).
static inline __attribute__((always_inline)) void dk_relu_grad_f32_impl(int64_t n, const float *restrict g, const float *restrict y,
                                                                        float *restrict dx) {
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] <= 0 ? 0.0f : g[i];
}

// y += alpha·x, the product rounded before the sum (no fused multiply-add: the same numbers as
// Swift's a + α·b). x and y may be the same array.
static inline __attribute__((always_inline)) void dk_add_scaled_f32_impl(int64_t n, float alpha, const float *x, float *y) {
    for (int64_t i = 0; i < n; i++) {
        float p = alpha * x[i];
        y[i] = y[i] + p;
    }
}

// z = x ∘ y over n elements, ∘ by `op` (DK_ADD, DK_SUB, DK_MUL, DK_DIV), x and y read at stride
// 1 or (stride 0) one value for all; z may be x or y itself (in-place updates), whose element i
// is read before it is written, so the loops are vectorized regardless.
#define DK_BINARY_LOOP(EXPR) \
    _Pragma("clang loop vectorize(assume_safety)") for (int64_t i = 0; i < n; i++) z[i] = EXPR;
#define DK_BINARY_OPS(A, B)                        \
    switch (op) {                                  \
    case DK_ADD: DK_BINARY_LOOP((A) + (B)) break;  \
    case DK_SUB: DK_BINARY_LOOP((A) - (B)) break;  \
    case DK_MUL: DK_BINARY_LOOP((A) * (B)) break;  \
    default: DK_BINARY_LOOP((A) / (B)) break;      \
    }
static inline __attribute__((always_inline)) void dk_binary_f32_impl(int op, int64_t n, const float *x, int64_t sx, const float *y,
                                                                     int64_t sy, float *z) {
    if (sx && sy) {
        DK_BINARY_OPS(x[i], y[i])
    } else if (sx) {
        const float v = y[0];
        DK_BINARY_OPS(x[i], v)
    } else {
        const float v = x[0];
        DK_BINARY_OPS(v, y[i])
    }
}

// out[j] = the sum of x[i·ld + j] over the rows i, for j < cols: each column summed in double,
// in the order of the rows, in blocks of 64 columns.
static inline __attribute__((always_inline)) void dk_sum_rows_f32_impl(int64_t rows, int64_t cols, int64_t ld, const float *x,
                                                                       float *out) {
    for (int64_t j0 = 0; j0 < cols; j0 += 64) {
        int64_t w = cols - j0 < 64 ? cols - j0 : 64;
        double acc[64] = {0};
        for (int64_t i = 0; i < rows; i++) {
            const float *r = x + i * ld + j0;
            for (int64_t j = 0; j < w; j++) acc[j] += (double)r[j];
        }
        for (int64_t j = 0; j < w; j++) out[j0 + j] = (float)acc[j];
    }
}

DK_DISPATCH(dk_relu_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_binary_f32, (int op, int64_t n, const float *x, int64_t sx, const float *y, int64_t sy, float *z), (op, n, x, sx, y, sy, z))
DK_DISPATCH(dk_sum_rows_f32, (int64_t rows, int64_t cols, int64_t ld, const float *x, float *out), (rows, cols, ld, x, out))
DK_DISPATCH(dk_add_scaled_f32, (int64_t n, float alpha, const float *x, float *y), (n, alpha, x, y))
DK_DISPATCH(dk_relu_grad_f32, (int64_t n, const float *g, const float *y, float *dx), (n, g, y, dx))

// g = g where y > 0 (or NaN), else 0, in place: dk_relu_grad_f32 writing over its gradient.
static inline __attribute__((always_inline)) void dk_relu_grad_inplace_f32_impl(int64_t n, float *restrict g, const float *restrict y) {
    for (int64_t i = 0; i < n; i++) g[i] = y[i] <= 0 ? 0.0f : g[i];
}
DK_DISPATCH(dk_relu_grad_inplace_f32, (int64_t n, float *g, const float *y), (n, g, y))

// y = x rounded to bfloat16 values, kept as float32.
static inline __attribute__((always_inline)) void dk_round_bf16_f32_impl(int64_t n, const float *restrict x, float *restrict y) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = dk_bf16_rounded_bits(x[i]);
        __builtin_memcpy(y + i, &b, 4);
    }
}

static inline __attribute__((always_inline)) void dk_round_bf16_f32_inplace_impl(int64_t n, float *x) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = dk_bf16_rounded_bits(x[i]);
        __builtin_memcpy(x + i, &b, 4);
    }
}

// y = x as bfloat16 (its bits).
static inline __attribute__((always_inline)) void dk_f32_to_bf16_impl(int64_t n, const float *restrict x, uint16_t *restrict y) {
    for (int64_t i = 0; i < n; i++) y[i] = (uint16_t)(dk_bf16_rounded_bits(x[i]) >> 16);
}

DK_DISPATCH(dk_round_bf16_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_round_bf16_f32_inplace, (int64_t n, float *x), (n, x))
DK_DISPATCH(dk_f32_to_bf16, (int64_t n, const float *x, uint16_t *y), (n, x, y))
