// 2×2 stride-1 convolutions by Winograd's F(2×2, 2×2) in float32 (conv_winograd22.c): the stride
// phases of a 4×4, stride-2 transposed convolution (conv_transpose_direct.c), forward, input
// gradient and weight gradient.
#ifndef DESCENT_CONV_WINOGRAD22_H
#define DESCENT_CONV_WINOGRAD22_H
#include "descent_kernels.h"

/// One convolution summed into the output: its geometry (2×2, stride 1; oh and ow those of the
/// output), its input x (cin planes `cs` floats apart, each h × w).
typedef struct {
    dk_conv_geometry g;
    const float *x;
    int64_t cs;
} dk_wino22_part;

/// 2×2, stride 1, no dilation, padding 0 or 1, at least 16 input and output channels, rows of
/// tiles that fill most of their vectors, on AVX-512.
int dk_conv_wino22_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Floats of the transformed weights U[ξ] (9 × cout × cin, cout rounded up to 8).
int64_t dk_conv_wino22_packed_floats(int64_t cin, int64_t cout);
/// Input channels c0..<c0 + cin of weights U packed for cinTotal: up = G w Gᵀ for each (o, c),
/// w[o][c][i][j] at w[base + o·so + c·sc + i·si + j·sj] (AVX-512, where applies holds).
void dk_conv_wino22_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc, int64_t si,
                                 int64_t sj, int64_t c0, int64_t cinTotal, float *up);
/// Floats of scratch for cinTotal input channels in all.
int64_t dk_conv_wino22_scratch_floats(const dk_conv_geometry *g, int64_t cinTotal, int64_t cout);
/// out (cout, oh, ow) = bias + Σ over the n parts of w_p ⋆ x_p, each part cin input channels
/// (part p's are channels p·cin… of the packed weights); bias may be NULL.
void dk_conv_wino22_f32(const dk_wino22_part *parts, int n, int64_t cin, int64_t cout, const float *up, const float *bias,
                        float *out, float *scratch);
/// Floats of scratch one image's weight gradient needs.
int64_t dk_conv_wino22_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dWᵀ (cin·4, cout) += the weight gradient of one image's convolution: x (cin planes xs floats
/// apart), g (cout planes gs floats apart, oh × ow).
void dk_conv_wino22_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, int64_t xs,
                                const float *gout, int64_t gs, float *dwT, float *scratch);
#endif
