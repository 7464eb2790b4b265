// The weight gradient of conv_winograd4.c's F(4×4, 3×3) convolution, for autocast's 3×3 stride-1
// convolutions on AVX512-BF16 CPUs (dk_conv_direct_bf16_weight_grad runs it where
// dk_conv_wino4_takes). With U = G w Gᵀ and each tile's Y = Aᵀ [U ⊙ V] A, the gradient of U is
// the sum over tiles of (A dY Aᵀ) ⊙ V, and the weight's dW = Gᵀ dU G:
//     dU[ξ] (cin × cout) = Σ_t V[ξ][c][t] · E[ξ][t][o],    E[ξ] = (A dY Aᵀ)[ξ] of tile t of g,
// 36 matrix products of depth "tiles" (36 multiplications per tile and channel pair where the
// direct weight gradient takes 144). V is the forward's input transform (x rounded as read); g is
// first transposed into panels of 32 channels (dk_conv_grad_panels), so that E's vectors hold
// channels, and rounded as read. dU sums over the image's chunks of tiles; Gᵀ dU G then adds into
// dWᵀ. The float32 transforms add rounding of the order of 10⁻⁶ of the terms' magnitudes, as the
// forward's (BFloat16WinogradTests); autocast then rounds the weight's gradient to bfloat16.
#include "descent_kernels.h"
#include <string.h>

#include "conv_common.h"
#include "conv_winograd.h"
#include "conv_winograd4.h"
#include "simd.h"

static int64_t panels_of(int64_t cout) { return (cout + 31) / 32; }

// Scratch: the padded copy, V (36 planes), g's panels, E (36 planes of the chunk's tiles ×
// panels × 32), dU (36 × cin × 32·panels).
int64_t dk_conv_wino4_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino4_layout l = dk_wino4_layout(g, cin, cout);
    int64_t T = l.rows * l.twp, width = 32 * panels_of(cout);
    return cin * l.plane + 16 + 36 * l.vs + width * g->oh * g->ow + 36 * (T * width + 16) + 36 * cin * width + 5 * 16;
}

#ifdef DK_X86
// w[k] = Σ_b A[k][b] v[b] (A = (Aᵀ)ᵀ, 6×4).
DK_TARGET_AVX512 static inline void gradient_rows(const __m512 v[4], __m512 w[6]) {
    __m512 p = _mm512_add_ps(v[0], v[2]), q = _mm512_add_ps(v[1], v[3]);
    __m512 r = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), v[2], v[0]);
    __m512 s = _mm512_fmadd_ps(_mm512_set1_ps(8.0f), v[3], _mm512_add_ps(v[1], v[1]));
    w[0] = v[0], w[1] = _mm512_add_ps(p, q), w[2] = _mm512_sub_ps(p, q);
    w[3] = _mm512_add_ps(r, s), w[4] = _mm512_sub_ps(r, s), w[5] = v[3];
}

// E[ξ][panel][t][0:32] = (A dY Aᵀ)[ξ] for the chunk's tiles t, dY the tile's 4×4 pixels of g
// (0 outside the output), read from g's panels gp (pixel-major, 32 channels a pixel) and rounded.
DK_TARGET_BF16 static void gradient_transform(const dk_conv_geometry *g, wino4_layout l, int64_t cout, const float *gp,
                                              int64_t th0, int64_t rows, float *E, int64_t es) {
    int64_t T = rows * l.twp, P = g->oh * g->ow;
    for (int64_t f = 0; f < panels_of(cout); f++)
        for (int64_t t = 0; t < T; t++) {
            int64_t y0 = 4 * (th0 + t / l.twp), x0 = 4 * (t % l.twp);
            for (int h = 0; h < 2; h++) {
                __m512 w[4][6];
                for (int a = 0; a < 4; a++) {
                    __m512 v[4];
                    for (int b = 0; b < 4; b++) {
                        int inside = y0 + a < g->oh && x0 + b < g->ow;
                        v[b] = inside ? dk_bf16_read16(_mm512_loadu_ps(gp + (f * P + (y0 + a) * g->ow + x0 + b) * 32 + 16 * h)) : _mm512_setzero_ps();
                    }
                    gradient_rows(v, w[a]);
                }
                for (int k = 0; k < 6; k++) {
                    __m512 col[4] = {w[0][k], w[1][k], w[2][k], w[3][k]}, e[6];
                    gradient_rows(col, e);
                    for (int i = 0; i < 6; i++) _mm512_storeu_ps(E + (6 * i + k) * es + (f * T + t) * 32 + 16 * h, e[i]);
                }
            }
        }
}

// (conv_winograd.h; F(2×2, 2×2)'s weight gradient runs it too, conv_winograd22.c)
DK_TARGET_AVX512 void dk_winograd_weight_products(int n, int64_t cin, int64_t cout, int64_t T, const float *V, int64_t vs,
                                                  const float *E, int64_t es, float *dU) {
    int64_t width = 32 * panels_of(cout);
    for (int xi = 0; xi < n; xi++)
        for (int64_t c0 = 0; c0 < cin; c0 += 8)
            for (int64_t f = 0; f < panels_of(cout); f++) {
                const float *a[8];
                __m512 lo[8], hi[8];
                float *d = dU + (xi * cin + c0) * width + 32 * f;
                for (int r = 0; r < 8; r++) {
                    a[r] = V + xi * vs + (c0 + r < cin ? c0 + r : cin - 1) * T;  // rows past cin: computed, not stored
                    lo[r] = c0 + r < cin ? _mm512_loadu_ps(d + r * width) : _mm512_setzero_ps();
                    hi[r] = c0 + r < cin ? _mm512_loadu_ps(d + r * width + 16) : _mm512_setzero_ps();
                }
                dk_rows_times_panel(a, T, E + xi * es + f * T * 32, 32, lo, hi);
                for (int r = 0; r < 8 && c0 + r < cin; r++) {
                    _mm512_storeu_ps(d + r * width, lo[r]);
                    _mm512_storeu_ps(d + r * width + 16, hi[r]);
                }
            }
}

// r[i] = Σ_k Gᵀ[i][k] z[k] (Gᵀ 3×6).
DK_TARGET_AVX512 static inline void weight_rows(const __m512 z[6], __m512 r[3]) {
    __m512 a = _mm512_add_ps(z[1], z[2]), b = _mm512_sub_ps(z[1], z[2]), c = _mm512_add_ps(z[3], z[4]), d = _mm512_sub_ps(z[3], z[4]);
    const __m512 sixth = _mm512_set1_ps(1.0f / 6.0f);
    r[0] = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), z[0], _mm512_fmsub_ps(_mm512_set1_ps(1.0f / 24.0f), c, _mm512_mul_ps(sixth, a)));
    r[1] = _mm512_fmsub_ps(_mm512_set1_ps(1.0f / 12.0f), d, _mm512_mul_ps(sixth, b));
    r[2] = _mm512_add_ps(_mm512_mul_ps(sixth, _mm512_sub_ps(c, a)), z[5]);
}

// dWᵀ[c·9 + 3i + j][o] += (Gᵀ dU[·][c][o] G)[i][j], 16 output channels at a time.
DK_TARGET_AVX512 static void weight_transform_add(int64_t cin, int64_t cout, const float *dU, float *dwT) {
    int64_t width = 32 * panels_of(cout);
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o0 = 0; o0 < cout; o0 += 16) {
            __m512 t[3][6];
            for (int l = 0; l < 6; l++) {  // t = Gᵀ·dU, column l
                __m512 z[6], r[3];
                for (int k = 0; k < 6; k++) z[k] = _mm512_loadu_ps(dU + ((6 * k + l) * cin + c) * width + o0);
                weight_rows(z, r);
                for (int i = 0; i < 3; i++) t[i][l] = r[i];
            }
            __mmask16 m = dk_first_lanes(cout - o0);
            for (int i = 0; i < 3; i++) {  // (t·G)[i] = Gᵀ applied to row i of t
                __m512 r[3];
                weight_rows(t[i], r);
                for (int j = 0; j < 3; j++) {
                    float *d = dwT + (c * 9 + 3 * i + j) * cout + o0;
                    _mm512_mask_storeu_ps(d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), r[j]));
                }
            }
        }
}

void dk_conv_wino4_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                               float *dwT, float *scratch) {
    wino4_layout l = dk_wino4_layout(g, cin, cout);
    int64_t T = l.rows * l.twp, width = 32 * panels_of(cout), es = T * width + 16;
    float *xp = dk_align64(scratch), *V = dk_align64(xp + cin * l.plane + 16), *gp = dk_align64(V + 36 * l.vs);
    float *E = dk_align64(gp + width * g->oh * g->ow), *dU = dk_align64(E + 36 * es);
    memset(dU, 0, sizeof(float) * (size_t)(36 * cin * width));
    dk_wino4_padded_copy(g, l, cin, x, xp);
    dk_conv_grad_panels(gout, g->oh * g->ow, cout, g->oh * g->ow, gp);
    for (int64_t th0 = 0; th0 < l.thp; th0 += l.rows) {
        int64_t rows = l.thp - th0 < l.rows ? l.thp - th0 : l.rows;
        dk_wino4_input_transform(l, cin, xp, th0, rows, V);
        gradient_transform(g, l, cout, gp, th0, rows, E, es);
        dk_winograd_weight_products(36, cin, cout, rows * l.twp, V, l.vs, E, es, dU);
    }
    weight_transform_add(cin, cout, dU, dwT);
}
#else
#include <stdlib.h>
void dk_conv_wino4_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                               float *dwT, float *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)gout; (void)dwT; (void)scratch;
    abort();
}
#endif
