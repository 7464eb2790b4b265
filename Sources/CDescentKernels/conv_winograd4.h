// Autocast's 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) in float32 on bfloat16-rounded
// operands (conv_winograd4.c), which dk_conv_direct_bf16 runs where dk_conv_wino4_applies; the
// calling conventions of the bf16 direct kernel (conv_direct.h).
#ifndef DESCENT_CONV_WINOGRAD4_H
#define DESCENT_CONV_WINOGRAD4_H
#include "descent_kernels.h"

/// 3×3, stride 1, no dilation, padding 0–2, at least 16 input channels, output channels a
/// multiple of 16, rows of 25 to 32 outputs or of whole vectors of 16 tiles (most of each).
int dk_conv_wino4_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Floats of the transformed weights U[ξ] (36 × cout × cin).
int64_t dk_conv_wino4_packed_floats(int64_t cin, int64_t cout);
/// up = G w Gᵀ of w rounded to bfloat16, w[o][c][i][j] at w[base + o·so + c·sc + i·si + j·sj].
void dk_conv_wino4_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc, int64_t si,
                                int64_t sj, float *up);
/// Floats of scratch one image needs.
int64_t dk_conv_wino4_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// out (cout, oh, ow) = bias + w ⋆ x (cin, h, w) for one image (bias may be NULL), x rounded to
/// bfloat16 as read and the result as stored.
void dk_conv_wino4(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up, const float *bias,
                   float *out, float *scratch);
#endif
