// 3×3 stride-1 convolution by Winograd's F(2×2, 3×3) (conv_winograd.c), which the direct
// convolution's entry points (conv_direct.c) use where it applies; the same calling convention.
#ifndef DESCENT_CONV_WINOGRAD_H
#define DESCENT_CONV_WINOGRAD_H
#include "descent_kernels.h"

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
#endif
