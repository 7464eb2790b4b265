// Autocast's 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) in float32 on bfloat16-rounded
// operands (conv_winograd4.c), which dk_conv_direct_bf16 runs where dk_conv_wino4_applies; the
// calling conventions of the bf16 direct kernel (conv_direct.h).
#ifndef DESCENT_CONV_WINOGRAD4_H
#define DESCENT_CONV_WINOGRAD4_H
#include "descent_kernels.h"
#include "simd.h"

/// 3×3, stride 1, no dilation, padding 0–2, at least 32 input and output channels, output
/// channels a multiple of 16, at least 4 rows, rows of 25 to 32 outputs or of whole vectors of 16
/// tiles (most of each).
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
/// Floats of scratch one image's weight gradient needs (conv_winograd4_grad.c).
int64_t dk_conv_wino4_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dWᵀ (cin·9, cout) += the weight gradient of one image, x (cin, h, w) and g (cout, oh, ow)
/// rounded to bfloat16 as read.
void dk_conv_wino4_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                               float *dwT, float *scratch);

/// One image's tiles: th rows of tw (twp per row in vectors; thp rows, a whole number of
/// vectors), the padded copy's planes (Hp × Wp, `plane` floats apart), chunks of `rows` rows of
/// tiles, V's and M's 36 planes vs and ms floats apart.
typedef struct {
    int64_t th, tw, twp, thp, Hp, Wp, plane, rows, vs, ms;
} wino4_layout;
wino4_layout dk_wino4_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout);
#ifdef DK_X86
/// xp[c][r][col] = x[c][r − ph][col − pw] rounded to bfloat16, 0 outside the image (cin planes
/// of the layout, and 16 floats past the last).
void dk_wino4_padded_copy(const dk_conv_geometry *g, wino4_layout l, int64_t cin, const float *x, float *xp);
/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the tiles of rows th0..<th0 + rows (t = (row − th0)·twp + column),
/// d the 6×6 patch of the padded copy xp that tile reads.
void dk_wino4_input_transform(wino4_layout l, int64_t cin, const float *xp, int64_t th0, int64_t rows, float *V);
#endif
#endif
