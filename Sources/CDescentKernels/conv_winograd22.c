// 2×2 convolution with stride 1 by Winograd's minimal filtering F(2×2, 2×2), float32, one image
// at a time (AVX-512): each 2×2 block of outputs ("tile") is
//     Y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A
// where d is the 3×3 input patch the tile reads and w the 2×2 kernel; in one dimension
// y0 = (d0 − d1)·w0 + d1·(w0 + w1), y1 = d1·(w0 + w1) + (d2 − d1)·w1:
//     Bᵀ = | 1 −1  0 |    G = | 1  0 |    Aᵀ = | 1  1  0 |
//          | 0  1  0 |        | 1  1 |         | 0  1  1 |
//          | 0 −1  1 |        | 0  1 |
// The 9 products of the transformed domain, summed over input channels, are 9 matrix products
// (dk_winograd_products, as F(2×2, 3×3)'s 16): 9 multiplications per tile and channel pair
// instead of 16, 1.78× fewer. The transforms hold only ±1, so for finite values the result
// differs from a direct sum by rounding alone (as conv_winograd.c's). Several convolutions with
// the same output (the phases of a transposed convolution's input gradient) are one product
// over all their channels. Tiles are laid out as conv_winograd.c's (wino_layout): 16 along a
// row, or 8 of each of two rows.
#include "conv_winograd22.h"
#include <string.h>

#include "conv_common.h"
#include "conv_winograd.h"
#include "simd.h"

int dk_conv_wino22_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (g->kh != 2 || g->kw != 2 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1) return 0;
    if (g->ph < 0 || g->ph > 1 || g->pw < 0 || g->pw > 1 || cin < 16 || cout < 16) return 0;
#ifdef DK_X86
    if (dk_simd_level() != 2) return 0;
#else
    return 0;
#endif
    int64_t tw = (g->ow + 1) / 2, twp = tw <= 8 ? 8 : (tw + 15) / 16 * 16;
    return 4 * twp <= 5 * tw;  // rows of tiles that fill at least 4/5 of their vectors
}

int64_t dk_conv_wino22_packed_floats(int64_t cin, int64_t cout) {
    return 9 * dk_winograd_tile_rows(cout) * cin;
}

int64_t dk_conv_wino22_scratch_floats(const dk_conv_geometry *g, int64_t cinTotal, int64_t cout) {
    wino_layout l = dk_winograd_layout(g, cinTotal, cout);
    return 9 * (l.vs + dk_winograd_m_plane(l, cout)) + 32;  // + alignment of the two parts to 64 bytes
}

#ifdef DK_X86
// U for 8 output channels o0..o0+7 (zero past cout) at a time: each kernel tap one gather of the
// 8 (o·so apart, 64-bit offsets) and each of the 9 values one store of them; up[ξ][o / 8][c][o % 8]
// (ξ = 3i + j of u = G w Gᵀ), the 8 output channels of a GEMM tile side by side.
DK_TARGET_AVX512 void dk_conv_wino22_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc,
                                                  int64_t si, int64_t sj, int64_t c0, int64_t cinTotal, float *up) {
    int64_t coutp = dk_winograd_tile_rows(cout);
    __m512i offset = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(so));
    for (int64_t o0 = 0; o0 < coutp; o0 += 8) {
        __mmask8 valid = (__mmask8)dk_first_lanes(cout - o0);
        const float *wo = w + base + o0 * so;
        for (int64_t c = 0; c < cin; c++) {
            __m256 k[2][2], t[3][2];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    k[i][j] = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), valid, offset, wo + c * sc + i * si + j * sj, 4);
            for (int j = 0; j < 2; j++) t[0][j] = k[0][j], t[1][j] = _mm256_add_ps(k[0][j], k[1][j]), t[2][j] = k[1][j];  // G·k
            float *d = up + o0 * cinTotal + (c0 + c) * 8;
            for (int i = 0; i < 3; i++) {  // u = t·Gᵀ, row i: ξ = 3i + column
                _mm256_storeu_ps(d + (3 * i + 0) * coutp * cinTotal, t[i][0]);
                _mm256_storeu_ps(d + (3 * i + 1) * coutp * cinTotal, _mm256_add_ps(t[i][0], t[i][1]));
                _mm256_storeu_ps(d + (3 * i + 2) * coutp * cinTotal, t[i][1]);
            }
        }
    }
}

// V[ξ][c][t] = (Bᵀ d B)[ξ] for the part's channels c (V at the part's first channel) and the
// chunk's tiles, d read from the part's planes under masks that zero the padding (dk_wino_patch_row).
DK_TARGET_AVX512 static void input_transform(const dk_wino22_part *part, int64_t cin, wino_layout l, int64_t th0, int64_t rows,
                                             float *V) {
    const dk_conv_geometry *g = &part->g;
    int64_t T = rows * l.twp;
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
        dk_wino_patches w = dk_wino_patches_of(g, l, th0, t0);  // (3×3 patches: columns j < 3)
        const float *p = part->x + w.y0 * g->w + w.s;
        float *v = V + t0;
        for (int64_t c = 0; c < cin; c++, p += part->cs, v += T) {
            __m512 t[3][3];
            for (int i = 0; i < 3; i++) {
                __m512 d[4];
                dk_wino_patch_row(&w, g, p + i * g->w, i, d);
                t[i][0] = _mm512_sub_ps(d[0], d[1]), t[i][1] = d[1], t[i][2] = _mm512_sub_ps(d[2], d[1]);  // d·B
            }
            for (int k = 0; k < 3; k++) {  // Bᵀ·(d·B)
                _mm512_storeu_ps(v + (0 * 3 + k) * l.vs, _mm512_sub_ps(t[0][k], t[1][k]));
                _mm512_storeu_ps(v + (1 * 3 + k) * l.vs, t[1][k]);
                _mm512_storeu_ps(v + (2 * 3 + k) * l.vs, _mm512_sub_ps(t[2][k], t[1][k]));
            }
        }
    }
}

// out[o][2·th + a][2·tw + b] = bias[o] + (Aᵀ M A)[a][b] for the chunk's tiles, inside the output
// (dk_wino_store_row).
DK_TARGET_AVX512 static void output_transform(const dk_conv_geometry *g, int64_t cout, const float *M, wino_layout l,
                                              int64_t th0, int64_t rows, const float *bias, float *out) {
    int64_t T = rows * l.twp, xs = dk_winograd_m_plane(l, cout);
    for (int64_t o = 0; o < cout; o++) {
        __m512 add = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int64_t t0 = 0; t0 < T; t0 += 16) {
            const float *m = M + o * T + t0;
            __m512 s[3][2];
            for (int i = 0; i < 3; i++) {  // m·A
                __m512 m1 = _mm512_loadu_ps(m + (i * 3 + 1) * xs);
                s[i][0] = _mm512_add_ps(_mm512_loadu_ps(m + (i * 3) * xs), m1);
                s[i][1] = _mm512_add_ps(m1, _mm512_loadu_ps(m + (i * 3 + 2) * xs));
            }
            for (int a = 0; a < 2; a++) {  // Aᵀ·(m·A), row a of the tiles
                __m512 e = _mm512_add_ps(_mm512_add_ps(s[a][0], s[a + 1][0]), add);
                __m512 f = _mm512_add_ps(_mm512_add_ps(s[a][1], s[a + 1][1]), add);
                dk_wino_store_row(g, l, th0, t0, a, e, f, out + o * g->oh * g->ow);
            }
        }
    }
}

void dk_conv_wino22_f32(const dk_wino22_part *parts, int n, int64_t cin, int64_t cout, const float *up, const float *bias,
                        float *out, float *scratch) {
    const dk_conv_geometry *g = &parts[0].g;
    wino_layout l = dk_winograd_layout(g, n * cin, cout);
    float *V = dk_align64(scratch), *M = dk_align64(V + 9 * l.vs);
    for (int64_t th0 = 0; th0 < l.th; th0 += l.rows) {
        int64_t rows = dk_winograd_chunk_rows(l, th0, l.th), T = rows * l.twp;
        for (int p = 0; p < n; p++) input_transform(&parts[p], cin, l, th0, rows, V + p * cin * T);
        dk_winograd_products(9, n * cin, cout, T, up, V, l.vs, M, dk_winograd_m_plane(l, cout));
        output_transform(g, cout, M, l, th0, rows, bias, out);
    }
}

// The weight gradient. With U = G w Gᵀ and each tile's Y = Aᵀ [U ⊙ V] A, the gradient of U is
// the sum over tiles of (A dY Aᵀ) ⊙ V, and the weight's dW = Gᵀ dU G: 9 products of depth
// "tiles" (dk_winograd_weight_products, as F(4×4, 3×3)'s), g first transposed into panels of 32
// channels (dk_conv_grad_panels) so that E's vectors hold channels.
static int64_t panels_of(int64_t cout) { return (cout + 31) / 32; }

int64_t dk_conv_wino22_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    int64_t T = l.rows * l.twp, width = 32 * panels_of(cout);
    return 9 * l.vs + width * g->oh * g->ow + 9 * (T * width + 16) + 9 * cin * width + 4 * 16;
}

// E[ξ][panel][t][0:32] = (A dY Aᵀ)[ξ] for the chunk's tiles t, dY the tile's 2×2 pixels of g (0
// outside the output), read from g's panels gp (pixel-major, 32 channels a pixel).
DK_TARGET_AVX512 static void gradient_transform(const dk_conv_geometry *g, wino_layout l, int64_t cout, const float *gp,
                                                int64_t th0, int64_t rows, float *E, int64_t es) {
    int64_t T = rows * l.twp, P = g->oh * g->ow;
    for (int64_t f = 0; f < panels_of(cout); f++)
        for (int64_t t = 0; t < T; t++) {
            int64_t y0 = 2 * (th0 + t / l.twp), x0 = 2 * (t % l.twp);
            for (int h = 0; h < 2; h++) {
                __m512 c[2][3];
                for (int a = 0; a < 2; a++) {  // row a of dY·Aᵀ
                    __m512 v[2];
                    for (int b = 0; b < 2; b++)
                        v[b] = y0 + a < g->oh && x0 + b < g->ow ? _mm512_loadu_ps(gp + (f * P + (y0 + a) * g->ow + x0 + b) * 32 + 16 * h)
                                                                : _mm512_setzero_ps();
                    c[a][0] = v[0], c[a][1] = _mm512_add_ps(v[0], v[1]), c[a][2] = v[1];
                }
                float *e = E + (f * T + t) * 32 + 16 * h;
                for (int k = 0; k < 3; k++) {  // A·(dY·Aᵀ), column k
                    _mm512_storeu_ps(e + (0 * 3 + k) * es, c[0][k]);
                    _mm512_storeu_ps(e + (1 * 3 + k) * es, _mm512_add_ps(c[0][k], c[1][k]));
                    _mm512_storeu_ps(e + (2 * 3 + k) * es, c[1][k]);
                }
            }
        }
}

// dWᵀ[c·4 + 2a + b][o] += (Gᵀ dU[·][c][o] G)[a][b], 16 output channels at a time.
DK_TARGET_AVX512 static void weight_transform_add(int64_t cin, int64_t cout, const float *dU, float *dwT) {
    int64_t width = 32 * panels_of(cout);
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o0 = 0; o0 < cout; o0 += 16) {
            __m512 z[3][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) z[i][j] = _mm512_loadu_ps(dU + ((3 * i + j) * cin + c) * width + o0);
            __mmask16 m = dk_first_lanes(cout - o0);
            for (int a = 0; a < 2; a++) {
                __m512 t[3];  // row a of Gᵀ·dU
                for (int j = 0; j < 3; j++) t[j] = _mm512_add_ps(z[a][j], z[a + 1][j]);
                for (int b = 0; b < 2; b++) {
                    float *d = dwT + (c * 4 + 2 * a + b) * cout + o0;
                    _mm512_mask_storeu_ps(d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), _mm512_add_ps(t[b], t[b + 1])));
                }
            }
        }
}

void dk_conv_wino22_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, int64_t xs,
                                const float *gout, int64_t gs, float *dwT, float *scratch) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    int64_t P = g->oh * g->ow, width = 32 * panels_of(cout), es = l.rows * l.twp * width + 16;
    float *V = dk_align64(scratch), *gp = dk_align64(V + 9 * l.vs), *E = dk_align64(gp + width * P), *dU = dk_align64(E + 9 * es);
    memset(dU, 0, sizeof(float) * (size_t)(9 * cin * width));
    dk_conv_grad_panels(gout, gs, cout, P, gp);
    dk_wino22_part part = {*g, x, xs};
    for (int64_t th0 = 0; th0 < l.th; th0 += l.rows) {
        int64_t rows = dk_winograd_chunk_rows(l, th0, l.th);
        input_transform(&part, cin, l, th0, rows, V);
        gradient_transform(g, l, cout, gp, th0, rows, E, es);
        dk_winograd_weight_products(9, cin, cout, rows * l.twp, V, l.vs, E, es, dU);
    }
    weight_transform_add(cin, cout, dU, dwT);
}
#else
#include <stdlib.h>
void dk_conv_wino22_f32(const dk_wino22_part *parts, int n, int64_t cin, int64_t cout, const float *up, const float *bias,
                        float *out, float *scratch) {
    (void)parts, (void)n, (void)cin, (void)cout, (void)up, (void)bias, (void)out, (void)scratch;
    abort();  // dk_conv_wino22_applies holds only on AVX-512
}
void dk_conv_wino22_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc, int64_t si,
                                 int64_t sj, int64_t c0, int64_t cinTotal, float *up) {
    (void)cin, (void)cout, (void)w, (void)base, (void)so, (void)sc, (void)si, (void)sj, (void)c0, (void)cinTotal, (void)up;
    abort();
}
void dk_conv_wino22_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, int64_t xs,
                                const float *gout, int64_t gs, float *dwT, float *scratch) {
    (void)g, (void)cin, (void)cout, (void)x, (void)xs, (void)gout, (void)gs, (void)dwT, (void)scratch;
    abort();
}
#endif
