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
#ifdef DK_X86
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
