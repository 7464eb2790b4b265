// The entry points of float32 convolution (AVX-512; one image per call; strided ones only on the
// direct kernel, by their input's phases): each chooses,
// from the geometry alone, Winograd's F(2×2, 3×3) (conv_winograd.c; its weight gradient
// F(3×3, 2×2), conv_winograd_grad.c) or the direct kernel (conv_direct.c), and every function
// here makes the same choice, so weights packed by one are run by the other.
#include "descent_kernels.h"

#include "conv_direct.h"
#include "conv_winograd.h"

int64_t dk_conv2d_packed_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_winograd_applies(g, cin, cout)) return dk_conv_winograd_packed_floats(cin, cout);
    return dk_conv_direct_tile_weights_floats(g, cin, cout);
}

void dk_conv2d_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                            int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp) {
    if (dk_conv_winograd_applies(g, cin, cout)) dk_conv_winograd_pack_weights(cin, cout, w, base, so, sc, si, sj, wp);
    else dk_conv_direct_pack_tile_weights(g, cin, cout, w, base, so, sc, si, sj, wp);
}

int64_t dk_conv2d_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_winograd_applies(g, cin, cout)) return dk_conv_winograd_scratch_floats(g, cin, cout);
    return dk_conv_direct_scratch_floats(g, cin);
}

void dk_conv2d_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                   const float *bias, float *out, float *scratch) {
    if (dk_conv_winograd_applies(g, cin, cout)) dk_conv_winograd_f32(g, cin, cout, x, wp, bias, out, scratch);
    else dk_conv_direct_f32(g, cin, cout, x, wp, bias, out, scratch);
}

int64_t dk_conv2d_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_winograd_weight_grad_applies(g, cin, cout)) return dk_conv_winograd_weight_grad_scratch_floats(g, cin, cout);
    return dk_conv_direct_weight_grad_scratch_floats(g, cin, cout);
}

void dk_conv2d_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                               const float *gout, float *dwT, float *scratch) {
    if (dk_conv_winograd_weight_grad_applies(g, cin, cout)) dk_conv_winograd_weight_grad_f32(g, cin, cout, x, gout, dwT, scratch);
    else dk_conv_direct_weight_grad_f32(g, cin, cout, x, gout, dwT, scratch);
}
