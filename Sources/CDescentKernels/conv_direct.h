// The pieces of the direct convolution (conv_direct.c) that the transposed convolution
// (conv_transpose_direct.c) also runs: one image, stride 1, AVX-512.
#ifndef DESCENT_CONV_DIRECT_H
#define DESCENT_CONV_DIRECT_H
#include "descent_kernels.h"

/// The distance between channel planes of hw floats at which the kernels read them: hw, or a
/// little more when hw·4 bytes is a multiple of 512 (planes then fall on the same L1 sets).
int64_t dk_conv_plane_stride(int64_t hw);
/// d[i·cs + p] = x[i·hw + p] for c planes.
void dk_conv_copy_planes(int64_t c, int64_t hw, const float *x, int64_t cs, float *d);
/// out (cout, oh, ow) = (out if accumulate) + bias + wp ⋆ x, x's planes cs apart.
void dk_conv_direct_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                          const float *wp, const float *bias, int accumulate, float *out);
/// panels[o0/32][p][j] = g[(o0 + j)·ld + p] for p < P (0 past cout): gᵀ in panels of 32 channels.
void dk_conv_grad_panels(const float *gout, int64_t ld, int64_t cout, int64_t P, float *panels);
/// dWᵀ (cin·kh·kw, cout) += col(x) · gᵀ from the panels of g, x's planes cs apart.
void dk_conv_direct_grad_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                               const float *panels, float *dwT);
#endif
