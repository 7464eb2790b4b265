// conv_direct_bf16.c's convolution and weight gradient on AMX tiles (conv_direct_amx.c), which
// dk_conv_direct_bf16 and dk_conv_direct_bf16_weight_grad run when dk_amx_path().
#ifndef DESCENT_CONV_DIRECT_AMX_H
#define DESCENT_CONV_DIRECT_AMX_H
#include "descent_kernels.h"

/// Words of scratch of dk_conv_amx and dk_conv_amx_weight_grad (aligned by them).
int64_t dk_conv_amx_scratch_words(const dk_conv_geometry *g, int64_t cin);
int64_t dk_conv_amx_weight_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dk_conv_direct_bf16's weights in the tiles' layout (dk_conv_direct_bf16_pack_weights packs
/// these where dk_amx_path()): their words, and the packing (strides as there).
int64_t dk_conv_amx_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_amx_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so,
                              int64_t sc, int64_t si, int64_t sj, uint32_t *wa);
/// dk_conv_direct_bf16 (the same result, from weights packed by dk_conv_amx_pack_weights) on the tiles.
void dk_conv_amx(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp, const float *bias,
                 float *out, uint32_t *scratch);
/// dk_conv_direct_bf16_weight_grad (dWᵀ += col(x)·gᵀ) on the tiles.
void dk_conv_amx_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout, float *dwT,
                             uint32_t *scratch);
#endif
