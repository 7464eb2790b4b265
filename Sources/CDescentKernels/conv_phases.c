// A strided convolution's input gradient from its phases (conv_common.h): the direct kernels
// (conv_direct.c, conv_direct_bf16.c) compute it phase by phase, and this merges the phases into
// the image. Rows of stride 2 are merged 16 pixels at a time (two AVX-512 permutes), other strides
// pixel by pixel.
#include "descent_kernels.h"
#include <string.h>

#include "conv_common.h"
#include "simd.h"

#ifdef DK_X86
// d[2q] = s0[q], d[2q + 1] = s1[q] for 2q (+ 1) < w.
DK_TARGET_AVX512 static void merge_row_2(const float *s0, const float *s1, int64_t w, float *d) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_add_epi32(first, _mm512_set1_epi32(8));
    for (int64_t q = 0; 2 * q < w; q += 16) {
        __mmask16 m = dk_first_lanes((w + 1) / 2 - q);
        __m512 a = _mm512_maskz_loadu_ps(m, s0 + q), b = _mm512_maskz_loadu_ps(m, s1 + q);
        _mm512_mask_storeu_ps(d + 2 * q, dk_first_lanes(w - 2 * q), _mm512_permutex2var_ps(a, first, b));
        _mm512_mask_storeu_ps(d + 2 * q + 16, dk_first_lanes(w - 2 * q - 16), _mm512_permutex2var_ps(a, second, b));
    }
}
#endif

void dk_conv_merge_phases(const dk_conv_geometry *g, int64_t c, const float *phases, float *x) {
    dk_conv_geometry p = dk_phase_geometry(g);
    int64_t sh = g->sh, sw = g->sw, h2 = p.h, w2 = p.w, plane = h2 * w2;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < g->h; y++) {
            int64_t a = y % sh, r = y / sh;
            const float *s = phases + ((a * sw * c + ch) * h2 + r) * w2;
            float *d = x + (ch * g->h + y) * g->w;
#ifdef DK_X86
            if (sw == 2) {
                merge_row_2(s, s + c * plane, g->w, d);
                continue;
            }
#endif
            for (int64_t col = 0; col < g->w; col++) d[col] = s[col % sw * c * plane + col / sw];
        }
}
