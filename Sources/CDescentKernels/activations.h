// Shared by the fused kernels: a branch-free float32 exp, sigmoid and tanh that the compiler
// vectorizes (with the dispatch of simd.h).
#ifndef DESCENT_ACTIVATIONS_H
#define DESCENT_ACTIVATIONS_H
#include "descent_kernels.h"
#include <stdint.h>
#include <string.h>

#include "simd.h"

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

#endif
