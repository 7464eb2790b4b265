// 3×3 stride-1 convolution by Winograd's F(2×2, 3×3) (conv_winograd.c) and its weight gradient
// by F(3×3, 2×2) (conv_winograd_grad.c), which the entry points in conv.c run where
// dk_conv_winograd_applies; the same calling conventions as the direct kernel.
#ifndef DESCENT_CONV_WINOGRAD_H
#define DESCENT_CONV_WINOGRAD_H
#include "descent_kernels.h"
#include "conv_common.h"

/// Floats of the transformed weights U[ξ] (16 × cout × cin, cout rounded up to 8).
int64_t dk_conv_winograd_packed_floats(int64_t cin, int64_t cout);
/// up = G w Gᵀ for each (o, c), w[o][c][i][j] at w[base + o·so + c·sc + i·si + j·sj].
void dk_conv_winograd_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc,
                                   int64_t si, int64_t sj, float *up);
/// Floats of scratch one image needs.
int64_t dk_conv_winograd_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// out (cout, oh, ow) = bias + w ⋆ x (cin, h, w) for one image (bias may be NULL).
void dk_conv_winograd_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up,
                          const float *bias, float *out, float *scratch);
/// Floats of scratch one image's weight gradient needs.
int64_t dk_conv_winograd_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dWᵀ (cin·9, cout) += the weight gradient of one image: x (cin, h, w), g (cout, oh, ow).
void dk_conv_winograd_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                      const float *gout, float *dwT, float *scratch);

/// One image's tiles: th rows of them, twp per row (a multiple of 16, or 8: a vector then holds
/// two rows; some tiles past the output), taken `rows` rows at a time; V's 16 planes (cin × rows·twp each) vs floats apart (a cache
/// line more than needed: planes a multiple of 4 KB apart would fall on the same L1 sets).
typedef struct {
    int64_t th, twp, rows, vs;
} wino_layout;
wino_layout dk_winograd_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// The rows of tiles of the chunk that starts at row th0, up to `end` (whole vectors of them).
int64_t dk_winograd_chunk_rows(wino_layout l, int64_t th0, int64_t end);
/// Output channels rounded up to whole GEMM tiles of 8 (the rows of U and M).
int64_t dk_winograd_tile_rows(int64_t cout);
/// The distance between M's planes: a chunk's tiles for each output channel, a cache line more.
int64_t dk_winograd_m_plane(wino_layout l, int64_t cout);
#ifdef DK_X86
#include "simd.h"
/// Where a vector of 16 tiles of 2×2 outputs (tiles t0… of the chunk that starts at row th0)
/// reads its patches: rows y0 + i, columns s + 2·lane + j (lanes of `a`); the lanes of `b` are
/// the next 16 columns, or (8 tiles a row) the next row of tiles, two input rows down (yb).
typedef struct {
    int64_t y0, yb, s, bOffset;
    __mmask16 ma, mb, ma2, mb2;
} dk_wino_patches;

static inline dk_wino_patches dk_wino_patches_of(const dk_conv_geometry *g, wino_layout l, int64_t th0, int64_t t0) {
    dk_wino_patches p;
    int64_t paired = l.twp == 8, bColumn;
    p.y0 = 2 * (th0 + t0 / l.twp) - g->ph, p.s = 2 * (t0 % l.twp) - g->pw;
    p.bOffset = paired ? 2 * g->w : 16, bColumn = paired ? p.s : p.s + 16, p.yb = paired ? p.y0 + 2 : p.y0;
    p.ma = dk_columns_inside(p.s, g->w), p.mb = dk_columns_inside(bColumn, g->w);
    p.ma2 = dk_columns_inside(p.s + 2, g->w), p.mb2 = dk_columns_inside(bColumn + 2, g->w);
    return p;
}

/// Columns j < 4 of row i of the 16 patches, d[j][lane] = row[s + 2·lane + j], read under masks
/// that zero the padding; `row` points at column s of row y0 + i of the channel's plane.
DK_TARGET_AVX512 static inline void dk_wino_patch_row(const dk_wino_patches *p, const dk_conv_geometry *g, const float *row, int i,
                                                      __m512 d[4]) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a = _mm512_setzero_ps(), b = a, a2 = a, b2 = a;
    if (p->y0 + i >= 0 && p->y0 + i < g->h) a = _mm512_maskz_loadu_ps(p->ma, row), a2 = _mm512_maskz_loadu_ps(p->ma2, row + 2);
    if (p->yb + i >= 0 && p->yb + i < g->h)
        b = _mm512_maskz_loadu_ps(p->mb, row + p->bOffset), b2 = _mm512_maskz_loadu_ps(p->mb2, row + p->bOffset + 2);
    d[0] = _mm512_permutex2var_ps(a, even, b), d[1] = _mm512_permutex2var_ps(a, odd, b);
    d[2] = _mm512_permutex2var_ps(a2, even, b2), d[3] = _mm512_permutex2var_ps(a2, odd, b2);
}

/// Row a of the 16 tiles' 2×2 outputs into channel plane `plane` (oh × ow): e holds the tiles'
/// first column, f their second; interleaved they are 32 outputs of one row, or 16 of each of
/// two rows (8 tiles a row). Outputs past the plane are not stored.
DK_TARGET_AVX512 static inline void dk_wino_store_row(const dk_conv_geometry *g, wino_layout l, int64_t th0, int64_t t0, int a, __m512 e,
                                                      __m512 f, float *plane) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    int64_t paired = l.twp == 8, x0 = 2 * (t0 % l.twp), y0 = 2 * (th0 + t0 / l.twp);
    int64_t x1 = paired ? x0 : x0 + 16, y1 = paired ? y0 + 2 : y0;
    if (y0 + a < g->oh) _mm512_mask_storeu_ps(plane + (y0 + a) * g->ow + x0, dk_first_lanes(g->ow - x0), _mm512_permutex2var_ps(e, lo, f));
    if (y1 + a < g->oh) _mm512_mask_storeu_ps(plane + (y1 + a) * g->ow + x1, dk_first_lanes(g->ow - x1), _mm512_permutex2var_ps(e, hi, f));
}

/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the tiles of rows th0..<th0 + rows (t = (row − th0)·twp + column),
/// d the 4×4 patch of channel c of x (cin, h, w) that the tile reads (zero in the padding).
void dk_winograd_input_transform(const dk_conv_geometry *g, int64_t cin, const float *x, wino_layout l, int64_t th0,
                                 int64_t rows, float *V);
/// The same on AVX2 (twp a multiple of 8).
void dk_winograd_input_transform_avx2(const dk_conv_geometry *g, int64_t cin, const float *x, wino_layout l, int64_t th0,
                                      int64_t rows, float *V);
/// M[ξ] (cout × T, cout rounded up to 8) = U[ξ] · V[ξ] for ξ < n: U packed as
/// dk_conv_winograd_pack_weights's (8 output channels side by side), V[ξ] (cin × T) and M[ξ]
/// planes vs and ms floats apart, T a multiple of 16 (AVX-512).
void dk_winograd_products(int n, int64_t cin, int64_t cout, int64_t T, const float *U, const float *V, int64_t vs, float *M,
                          int64_t ms);
/// The weight gradients' products (conv_winograd4_grad.c): dU[ξ][c][o] += Σ_t V[ξ][c][t] · E[ξ][t][o]
/// for ξ < n over T tiles; V[ξ] (cin × T) planes vs floats apart, E[ξ] in panels of 32 output
/// channels (panel f's tiles at E[ξ] + f·T·32) planes es apart, dU[ξ] (cin × 32·panels).
void dk_winograd_weight_products(int n, int64_t cin, int64_t cout, int64_t T, const float *V, int64_t vs, const float *E,
                                 int64_t es, float *dU);
#endif
#endif
