// Helpers shared by the direct and Winograd convolution kernels (conv_common.c).
#ifndef DESCENT_CONV_COMMON_H
#define DESCENT_CONV_COMMON_H
#include "descent_kernels.h"
#include "simd.h"

/// The distance between channel planes of hw floats at which the kernels read them: hw, or a
/// little more when hw·4 bytes is a multiple of 512 (planes then fall on the same L1 sets).
int64_t dk_conv_plane_stride(int64_t hw);
/// d[i·cs + p] = x[i·hw + p] for c planes.
void dk_conv_copy_planes(int64_t c, int64_t hw, const float *x, int64_t cs, float *d);
/// panels[o0/32][p][j] = g[(o0 + j)·ld + p] for p < P (0 past cout): gᵀ in panels of 32 channels.
void dk_conv_grad_panels(const float *gout, int64_t ld, int64_t cout, int64_t P, float *panels);
/// The output pixels (y, x), yLo ≤ y < yHi and xLo ≤ x < xHi, whose input under tap (i, j) of a
/// stride-1 convolution, (y + i − ph, x + j − pw), lies inside the image (the weight gradients'
/// reach per tap).
static inline void dk_tap_window(const dk_conv_geometry *g, int64_t i, int64_t j, int64_t *yLo, int64_t *yHi, int64_t *xLo,
                                 int64_t *xHi) {
    int64_t dy = i - g->ph, dx = j - g->pw;
    *yLo = dy < 0 ? -dy : 0, *yHi = g->h - dy < g->oh ? g->h - dy : g->oh;
    *xLo = dx < 0 ? -dx : 0, *xHi = g->w - dx < g->ow ? g->w - dx : g->ow;
}
/// ⌊a / s⌋ for s > 0.
static inline int64_t dk_floor_div(int64_t a, int64_t s) { return a >= 0 ? a / s : -((s - 1 - a) / s); }

/// A strided convolution by phases (conv_phases.c): phase (a, b) of an (h, w) plane is the (h2,
/// w2) plane of its pixels (sh·r + a, sw·q + b), h2 = ⌈h / sh⌉, w2 = ⌈w / sw⌉, 0 past the image.
/// Tap (i, j) reads pixel (sh·y + i − ph, sw·x + j − pw): in phase ((i − ph) mod sh, (j − pw)
/// mod sw), pixel (y + ⌊(i − ph) / sh⌋, x + ⌊(j − pw) / sw⌋). So the convolution is a stride-1
/// one on the phases, each tap on its own phase: of the geometry dk_phase_geometry gives (h2 ×
/// w2 planes, padding ⌈ph / sh⌉ × ⌈pw / sw⌉, the shifted taps' extent as the kernel, the same
/// output), at the tap dk_tap_phase gives. With stride 1 both are the convolution's own.
static inline dk_conv_geometry dk_phase_geometry(const dk_conv_geometry *g) {
    dk_conv_geometry p = *g;
    p.ph = (g->ph + g->sh - 1) / g->sh, p.pw = (g->pw + g->sw - 1) / g->sw;
    p.h = (g->h + g->sh - 1) / g->sh, p.w = (g->w + g->sw - 1) / g->sw;
    p.kh = dk_floor_div(g->kh - 1 - g->ph, g->sh) + p.ph + 1, p.kw = dk_floor_div(g->kw - 1 - g->pw, g->sw) + p.pw + 1;
    p.sh = p.sw = 1;
    return p;
}
typedef struct {
    int64_t phase, i, j;  // phase a·sw + b; the tap on dk_phase_geometry
} dk_phase_tap;
static inline dk_phase_tap dk_tap_phase(const dk_conv_geometry *g, int64_t i, int64_t j) {
    int64_t di = dk_floor_div(i - g->ph, g->sh), dj = dk_floor_div(j - g->pw, g->sw);
    return (dk_phase_tap){(i - g->ph - di * g->sh) * g->sw + j - g->pw - dj * g->sw, di + (g->ph + g->sh - 1) / g->sh,
                          dj + (g->pw + g->sw - 1) / g->sw};
}
/// The phases of a convolution's input (sh·sw), and used[f] = whether a tap reads phase f (a 1×1
/// kernel of stride 2 reads one of four).
static inline int64_t dk_conv_phases(const dk_conv_geometry *g) { return g->sh * g->sw; }
static inline void dk_conv_phases_used(const dk_conv_geometry *g, char *used) {
    for (int64_t f = 0; f < dk_conv_phases(g); f++) used[f] = 0;
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) used[dk_tap_phase(g, i, j).phase] = 1;
}
/// x (c planes, h × w) from its phases: x[ch] at (sh·r + a, sw·q + b) = phases[(a·sw + b)·c + ch]
/// (h2 × w2 each) at (r, q). On AVX-512 CPUs only (callers check).
void dk_conv_merge_phases(const dk_conv_geometry *g, int64_t c, const float *phases, float *x);

#ifdef DK_X86
/// lo[r] += Σ_k a[r][k] · b[k·ldb + 0:16], hi[r] += Σ_k a[r][k] · b[k·ldb + 16:32] for 8 rows r and
/// k < n: the 8×32 register tile of the weight gradients (rows of x or of V against panels of gᵀ).
DK_TARGET_AVX512 static inline void dk_rows_times_panel(const float *const a[8], int64_t n, const float *b, int64_t ldb,
                                                        __m512 lo[8], __m512 hi[8]) {
    __m512 c00 = lo[0], c01 = hi[0], c10 = lo[1], c11 = hi[1], c20 = lo[2], c21 = hi[2], c30 = lo[3], c31 = hi[3];
    __m512 c40 = lo[4], c41 = hi[4], c50 = lo[5], c51 = hi[5], c60 = lo[6], c61 = hi[6], c70 = lo[7], c71 = hi[7];
    for (int64_t k = 0; k < n; k++, b += ldb) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), v;
#define DK_ROW(r, l, h)               \
    v = _mm512_set1_ps(a[r][k]);      \
    l = _mm512_fmadd_ps(v, b0, l);    \
    h = _mm512_fmadd_ps(v, b1, h);
        DK_ROW(0, c00, c01) DK_ROW(1, c10, c11) DK_ROW(2, c20, c21) DK_ROW(3, c30, c31)
        DK_ROW(4, c40, c41) DK_ROW(5, c50, c51) DK_ROW(6, c60, c61) DK_ROW(7, c70, c71)
#undef DK_ROW
    }
    lo[0] = c00, hi[0] = c01, lo[1] = c10, hi[1] = c11, lo[2] = c20, hi[2] = c21, lo[3] = c30, hi[3] = c31;
    lo[4] = c40, hi[4] = c41, lo[5] = c50, hi[5] = c51, lo[6] = c60, hi[6] = c61, lo[7] = c70, hi[7] = c71;
}
/// p rounded up to 64 bytes.
float *dk_align64(float *p);
#endif
#endif
