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

DK_DISPATCH(dk_relu_f32, (int64_t n, const float *x, float *y), (n, x, y))
DK_DISPATCH(dk_add_scaled_f32, (int64_t n, float alpha, const float *x, float *y), (n, alpha, x, y))
DK_DISPATCH(dk_relu_grad_f32, (int64_t n, const float *g, const float *y, float *dx), (n, g, y, dx))

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
