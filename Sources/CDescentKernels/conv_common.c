// Helpers that the direct (conv_direct.c, conv_transpose_direct.c) and Winograd
// (conv_winograd.c, conv_winograd_grad.c) convolution kernels share: plane layout, copies, and
// gᵀ in panels of 32 output channels for the weight gradients.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "simd.h"

// Channel planes whose size is a multiple of 512 bytes fall on the same few L1 sets, and the
// rows a tile reads from all channels evict one another: such images are copied with planes
// one cache line apart.
int64_t dk_conv_plane_stride(int64_t hw) {
    return hw % 128 == 0 ? hw + 16 : hw;
}

void dk_conv_copy_planes(int64_t c, int64_t hw, const float *x, int64_t cs, float *d) {
    for (int64_t i = 0; i < c; i++) memcpy(d + i * cs, x + i * hw, sizeof(float) * (size_t)hw);
}

#ifdef DK_X86
float *dk_align64(float *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

// d[p][0:32] = s[0:32][p] for p < P (rows of s `ld` apart; rows from `rows` on read as 0), in 8×8
// blocks transposed in registers (256-bit vectors: AVX2 and AVX-512 CPUs).
DK_TARGET_AVX2 static void transpose_panel(const float *s, int64_t ld, int64_t rows, int64_t P, float *d) {
    int64_t p = 0;
    for (; p + 8 <= P; p += 8)
        for (int64_t j0 = 0; j0 < 32; j0 += 8) {
            __m256 r[8];
            for (int q = 0; q < 8; q++) r[q] = j0 + q < rows ? _mm256_loadu_ps(s + (j0 + q) * ld + p) : _mm256_setzero_ps();
            __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
            __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
            __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
            __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *o = d + p * 32 + j0;
            _mm256_storeu_ps(o + 0 * 32, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(o + 1 * 32, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(o + 2 * 32, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(o + 3 * 32, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(o + 4 * 32, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(o + 5 * 32, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(o + 6 * 32, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(o + 7 * 32, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    for (; p < P; p++)
        for (int64_t j = 0; j < 32; j++) d[p * 32 + j] = j < rows ? s[j * ld + p] : 0.0f;
}

void dk_conv_grad_panels(const float *gout, int64_t ld, int64_t cout, int64_t P, float *panels) {
    for (int64_t o0 = 0; o0 < cout; o0 += 32) transpose_panel(gout + o0 * ld, ld, cout - o0, P, panels + o0 * P);
}

#else
void dk_conv_grad_panels(const float *gout, int64_t ld, int64_t cout, int64_t P, float *panels) { abort(); }
#endif
