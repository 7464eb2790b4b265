// The weight gradient of a 3×3 stride-1 convolution by Winograd's F(3×3, 2×2), one image at a
// time (AVX-512, or AVX2). The forward pass computes each 2×2 output tile as Y = Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A
// (conv_winograd.c); since Σ Y ⊙ g is linear in w, its gradient with respect to w is
//     dW = Gᵀ [ Σ_tiles (A g Aᵀ) ⊙ (Bᵀ d B) ] G
// for the tile's 2×2 block g of the output gradient:
//     A = | 1  0 |    Gᵀ = | 1  ½  ½  0 |
//         | 1  1 |         | 0  ½ −½  0 |
//         | 1 −1 |         | 0  ½  ½  1 |
//         | 0 −1 |
// The sum over tiles is, for each of the 16 ξ, a product M[ξ] (cin × cout) = V[ξ] (cin × tiles)
// · E[ξ] (tiles × cout): 16 multiplications per tile and channel pair instead of 36. V is the
// forward pass's input transform; E is formed from gᵀ (output channels contiguous, the direct
// weight gradient's panels), so that the product broadcasts V and loads rows of E.
#include "descent_kernels.h"

#include "conv_common.h"
#include "conv_winograd.h"
#include "sgemm_avx2.h"

// Output channels rounded up to whole panels of 32 (the rows of E and M).
static int64_t panel_width(int64_t cout) {
    return (cout + 31) / 32 * 32;
}

// Distances between E's and M's 16 planes (a cache line more than their size).
static int64_t e_plane(wino_layout l, int64_t cout) {
    return l.rows * l.twp * panel_width(cout) + 16;
}
static int64_t m_plane(int64_t cin, int64_t cout) {
    return cin * panel_width(cout) + 16;
}

int dk_conv_winograd_weight_grad_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    // M (16·cin·cout floats) is read and written for every chunk of tiles: beyond 1 MB, the
    // direct kernel was measured as fast or faster.
    // With two rows of tiles to a vector (rows of at most 8 tiles), the direct kernel was
    // measured faster (16→32 channels at 14×14, 64→64 at 16×16 even).
    return dk_conv_winograd_applies(g, cin, cout) && cin * cout <= 128 * 128 && dk_winograd_layout(g, cin, cout).twp >= 16;
}

int64_t dk_conv_winograd_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    // panels of gᵀ, V, E, M, and the alignment of each to 64 bytes
    return panel_width(cout) * g->oh * g->ow + 16 * (l.vs + e_plane(l, cout) + m_plane(cin, cout)) + 64;
}

#ifdef DK_X86
// E[ξ][t][o] = (A g Aᵀ)[ξ] for the tiles of rows th0..<th0 + rows, g the tile's 2×2 block of
// channel o of the output gradient (zero past the output), read from the panels of gᵀ
// (panels[o / 32][p][o % 32], zero past cout).
DK_TARGET_AVX512 static void gradient_transform(const dk_conv_geometry *g, int64_t cout, const float *panels, wino_layout l,
                                                int64_t th0, int64_t rows, float *E) {
    int64_t ldo = panel_width(cout), es = e_plane(l, cout), oh = g->oh, ow = g->ow, P = oh * ow;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; r++)
        for (int64_t tw = 0; tw < l.twp; tw++) {
            int64_t y = 2 * (th0 + r), x = 2 * tw, t = r * l.twp + tw;
            int in[2][2] = {{y < oh && x < ow, y < oh && x + 1 < ow}, {y + 1 < oh && x < ow, y + 1 < oh && x + 1 < ow}};
            for (int64_t o = 0; o < ldo; o += 16) {
                const float *pn = panels + o / 32 * 32 * P + o % 32;
                __m512 gv[2][2], h[2][4];
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) gv[a][b] = in[a][b] ? _mm512_loadu_ps(pn + ((y + a) * ow + x + b) * 32) : zero;
                for (int a = 0; a < 2; a++) {  // g·Aᵀ
                    h[a][0] = gv[a][0], h[a][1] = _mm512_add_ps(gv[a][0], gv[a][1]);
                    h[a][2] = _mm512_sub_ps(gv[a][0], gv[a][1]), h[a][3] = _mm512_sub_ps(zero, gv[a][1]);
                }
                float *e = E + t * ldo + o;
                for (int k = 0; k < 4; k++) {  // A·(g·Aᵀ)
                    _mm512_storeu_ps(e + (0 * 4 + k) * es, h[0][k]);
                    _mm512_storeu_ps(e + (1 * 4 + k) * es, _mm512_add_ps(h[0][k], h[1][k]));
                    _mm512_storeu_ps(e + (2 * 4 + k) * es, _mm512_sub_ps(h[0][k], h[1][k]));
                    _mm512_storeu_ps(e + (3 * 4 + k) * es, _mm512_sub_ps(zero, h[1][k]));
                }
            }
        }
}

// m[r][0:32] (+= with `accumulate`) Σ_t v[r][t] · e[t][0:32] for rows r < mr of v (T floats
// apart; m's and e's rows ldo apart).
DK_TARGET_AVX512 static void product_tile(int64_t T, const float *v, int64_t mr, const float *e, int64_t ldo, float *m,
                                          int accumulate) {
    __m512 lo[8], hi[8];
    for (int r = 0; r < 8; r++) lo[r] = hi[r] = _mm512_setzero_ps();
    const float *a[8];
    for (int r = 0; r < 8; r++) a[r] = v + (r < mr ? r : mr - 1) * T;
    dk_rows_times_panel(a, T, e, ldo, lo, hi);
    for (int64_t r = 0; r < mr; r++) {
        float *row = m + r * ldo;
        _mm512_storeu_ps(row, accumulate ? _mm512_add_ps(lo[r], _mm512_loadu_ps(row)) : lo[r]);
        _mm512_storeu_ps(row + 16, accumulate ? _mm512_add_ps(hi[r], _mm512_loadu_ps(row + 16)) : hi[r]);
    }
}

// dWᵀ[(c·3 + i)·3 + j][o] += (Gᵀ M[·][c][o] G)[i][j]: the 16 sums of the transformed domain back
// to the 3×3 kernel, 16 output channels at a time.
DK_TARGET_AVX512 static void weight_transform(int64_t cin, int64_t cout, const float *M, float *dwT) {
    int64_t ldo = panel_width(cout), ms = m_plane(cin, cout);
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o = 0; o < cout; o += 16) {
            __mmask16 k = dk_first_lanes(cout - o);
            __m512 q[4][3];
            for (int i = 0; i < 4; i++) {  // M·G
                const float *m = M + i * 4 * ms + c * ldo + o;
                __m512 m0 = _mm512_loadu_ps(m), m1 = _mm512_loadu_ps(m + ms), m2 = _mm512_loadu_ps(m + 2 * ms);
                __m512 m3 = _mm512_loadu_ps(m + 3 * ms), sum = _mm512_mul_ps(half, _mm512_add_ps(m1, m2));
                q[i][0] = _mm512_add_ps(m0, sum), q[i][1] = _mm512_mul_ps(half, _mm512_sub_ps(m1, m2));
                q[i][2] = _mm512_add_ps(sum, m3);
            }
            for (int j = 0; j < 3; j++) {  // Gᵀ·(M·G)
                __m512 sum = _mm512_mul_ps(half, _mm512_add_ps(q[1][j], q[2][j]));
                __m512 dw[3] = {_mm512_add_ps(q[0][j], sum), _mm512_mul_ps(half, _mm512_sub_ps(q[1][j], q[2][j])),
                                _mm512_add_ps(sum, q[3][j])};
                for (int i = 0; i < 3; i++) {
                    float *d = dwT + ((c * 3 + i) * 3 + j) * cout + o;
                    _mm512_mask_storeu_ps(d, k, _mm512_add_ps(dw[i], _mm512_maskz_loadu_ps(k, d)));
                }
            }
        }
}

// The AVX2 forms: 8 channels a vector, the products on the 6×16 tile of sgemm_avx2.h, no masked
// stores (microcoded on AMD's cores).

// As gradient_transform.
DK_TARGET_AVX2 static void gradient_transform_avx2(const dk_conv_geometry *g, int64_t cout, const float *panels, wino_layout l,
                                                   int64_t th0, int64_t rows, float *E) {
    int64_t ldo = panel_width(cout), es = e_plane(l, cout), oh = g->oh, ow = g->ow, P = oh * ow;
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t r = 0; r < rows; r++)
        for (int64_t tw = 0; tw < l.twp; tw++) {
            int64_t y = 2 * (th0 + r), x = 2 * tw, t = r * l.twp + tw;
            int in[2][2] = {{y < oh && x < ow, y < oh && x + 1 < ow}, {y + 1 < oh && x < ow, y + 1 < oh && x + 1 < ow}};
            for (int64_t o = 0; o < ldo; o += 8) {
                const float *pn = panels + o / 32 * 32 * P + o % 32;
                __m256 gv[2][2], h[2][4];
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) gv[a][b] = in[a][b] ? _mm256_loadu_ps(pn + ((y + a) * ow + x + b) * 32) : zero;
                for (int a = 0; a < 2; a++) {  // g·Aᵀ
                    h[a][0] = gv[a][0], h[a][1] = _mm256_add_ps(gv[a][0], gv[a][1]);
                    h[a][2] = _mm256_sub_ps(gv[a][0], gv[a][1]), h[a][3] = _mm256_sub_ps(zero, gv[a][1]);
                }
                float *e = E + t * ldo + o;
                for (int k = 0; k < 4; k++) {  // A·(g·Aᵀ)
                    _mm256_storeu_ps(e + (0 * 4 + k) * es, h[0][k]);
                    _mm256_storeu_ps(e + (1 * 4 + k) * es, _mm256_add_ps(h[0][k], h[1][k]));
                    _mm256_storeu_ps(e + (2 * 4 + k) * es, _mm256_sub_ps(h[0][k], h[1][k]));
                    _mm256_storeu_ps(e + (3 * 4 + k) * es, _mm256_sub_ps(zero, h[1][k]));
                }
            }
        }
}

// As weight_transform, 8 output channels at a time (the last ones of a cout that is not a
// multiple of 8 through a buffer).
DK_TARGET_AVX2 static void weight_transform_avx2(int64_t cin, int64_t cout, const float *M, float *dwT) {
    int64_t ldo = panel_width(cout), ms = m_plane(cin, cout);
    const __m256 half = _mm256_set1_ps(0.5f);
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o = 0; o < cout; o += 8) {
            __m256 q[4][3];
            for (int i = 0; i < 4; i++) {  // M·G
                const float *m = M + i * 4 * ms + c * ldo + o;
                __m256 m0 = _mm256_loadu_ps(m), m1 = _mm256_loadu_ps(m + ms), m2 = _mm256_loadu_ps(m + 2 * ms);
                __m256 m3 = _mm256_loadu_ps(m + 3 * ms), sum = _mm256_mul_ps(half, _mm256_add_ps(m1, m2));
                q[i][0] = _mm256_add_ps(m0, sum), q[i][1] = _mm256_mul_ps(half, _mm256_sub_ps(m1, m2));
                q[i][2] = _mm256_add_ps(sum, m3);
            }
            for (int j = 0; j < 3; j++) {  // Gᵀ·(M·G)
                __m256 sum = _mm256_mul_ps(half, _mm256_add_ps(q[1][j], q[2][j]));
                __m256 dw[3] = {_mm256_add_ps(q[0][j], sum), _mm256_mul_ps(half, _mm256_sub_ps(q[1][j], q[2][j])),
                                _mm256_add_ps(sum, q[3][j])};
                for (int i = 0; i < 3; i++) {
                    float *d = dwT + ((c * 3 + i) * 3 + j) * cout + o;
                    if (o + 8 <= cout) {
                        _mm256_storeu_ps(d, _mm256_add_ps(dw[i], _mm256_loadu_ps(d)));
                    } else {
                        float lanes[8];
                        _mm256_storeu_ps(lanes, dw[i]);
                        for (int64_t k = 0; k < cout - o; k++) d[k] += lanes[k];
                    }
                }
            }
        }
}

static void weight_grad_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                             float *dwT, float *scratch) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    int64_t P = g->oh * g->ow, ldo = panel_width(cout), es = e_plane(l, cout), ms = m_plane(cin, cout);
    float *panels = dk_align64(scratch), *V = dk_align64(panels + ldo * P), *E = dk_align64(V + 16 * l.vs);
    float *M = dk_align64(E + 16 * es);
    dk_conv_grad_panels(gout, P, cout, P, panels);
    for (int64_t th0 = 0; th0 < l.th; th0 += l.rows) {
        int64_t rows = dk_winograd_chunk_rows(l, th0, l.th), T = rows * l.twp;
        dk_winograd_input_transform_avx2(g, cin, x, l, th0, rows, V);
        gradient_transform_avx2(g, cout, panels, l, th0, rows, E);
        // M[ξ] (cin × ldo) (+)= V[ξ] (cin × T) · E[ξ] (T × ldo).
        for (int xi = 0; xi < 16; xi++)
            for (int64_t c0 = 0, mr; c0 < cin; c0 += mr) {
                mr = dk_tile_rows_avx2(cin - c0);
                for (int64_t o0 = 0; o0 < ldo; o0 += NR2)
                    dk_micro_6x16_avx2(T, V + xi * l.vs + c0 * T, T, mr, E + xi * es + o0, ldo, M + xi * ms + c0 * ldo + o0,
                                       ldo, NR2, th0 > 0);
            }
    }
    weight_transform_avx2(cin, cout, M, dwT);
}

void dk_conv_winograd_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                      const float *gout, float *dwT, float *scratch) {
    if (dk_simd_level() < 2) {
        weight_grad_avx2(g, cin, cout, x, gout, dwT, scratch);
        return;
    }
    wino_layout l = dk_winograd_layout(g, cin, cout);
    int64_t P = g->oh * g->ow, ldo = panel_width(cout), es = e_plane(l, cout), ms = m_plane(cin, cout);
    float *panels = dk_align64(scratch), *V = dk_align64(panels + ldo * P), *E = dk_align64(V + 16 * l.vs);
    float *M = dk_align64(E + 16 * es);
    dk_conv_grad_panels(gout, P, cout, P, panels);
    for (int64_t th0 = 0; th0 < l.th; th0 += l.rows) {
        int64_t rows = dk_winograd_chunk_rows(l, th0, l.th), T = rows * l.twp;
        dk_winograd_input_transform(g, cin, x, l, th0, rows, V);
        gradient_transform(g, cout, panels, l, th0, rows, E);
        for (int xi = 0; xi < 16; xi++)
            for (int64_t c0 = 0; c0 < cin; c0 += 8)
                for (int64_t o0 = 0; o0 < ldo; o0 += 32)
                    product_tile(T, V + xi * l.vs + c0 * T, cin - c0 < 8 ? cin - c0 : 8, E + xi * es + o0, ldo,
                                 M + xi * ms + c0 * ldo + o0, th0 > 0);
    }
    weight_transform(cin, cout, M, dwT);
}
#else
#include <stdlib.h>
void dk_conv_winograd_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                      const float *gout, float *dwT, float *scratch) { abort(); }
#endif
