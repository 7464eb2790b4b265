// Transposed convolution (no dilation, one group) by its stride phases, on the direct stride-1
// tiles of conv_direct.c (AVX-512) or conv_direct_avx2.c (AVX2), one image at a time. The
// outputs (oy, ox) with oy ≡ py (mod sh) and ox ≡ px (mod sw) receive only the taps
// i ≡ py + ph (mod sh), j ≡ px + pw (mod sw): each phase is a stride-1 convolution of x with a
// sub-kernel of those taps, written to its own plane and interleaved into the output. Backward
// splits g into the same phases: the input gradient is the sum over phases of stride-1
// convolutions of g's phase planes, and the weight gradient of the taps of a phase is that of the
// phase's convolution. No column matrix, no col2im, no wasted FLOP. Where every phase is 2×2
// (kernel 4, stride 2) with enough channels, the phases' convolutions run by Winograd's
// F(2×2, 2×2) instead (conv_winograd22.c): 9 multiplications per 2×2 outputs where the tiles
// take 16.
// Geometry: h, w are the input's size and oh, ow the (larger) output's.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"
#include "conv_winograd22.h"
#include "simd.h"

// One phase (py, px): its first taps r, rw, tap counts t, tw, offsets q, qw (tap r + k·sh of output
// row a·sh + py reads input row a + q − k), and output size na × nb.
typedef struct {
    int64_t r, rw, t, tw, q, qw, na, nb;
} dk_phase;

static dk_phase phase_of(const dk_conv_geometry *g, int64_t py, int64_t px) {
    dk_phase p;
    p.r = (py + g->ph) % g->sh, p.rw = (px + g->pw) % g->sw;
    p.t = p.r < g->kh ? (g->kh - p.r + g->sh - 1) / g->sh : 0;
    p.tw = p.rw < g->kw ? (g->kw - p.rw + g->sw - 1) / g->sw : 0;
    p.q = (py + g->ph - p.r) / g->sh, p.qw = (px + g->pw - p.rw) / g->sw;
    p.na = g->oh > py ? (g->oh - py + g->sh - 1) / g->sh : 0;
    p.nb = g->ow > px ? (g->ow - px + g->sw - 1) / g->sw : 0;
    return p;
}

// The phase as a stride-1 convolution of x (taps in reverse order: tap u is r + (t − 1 − u)·sh),
// also the geometry of its weight gradient.
static dk_conv_geometry forward_geometry(const dk_conv_geometry *g, dk_phase p) {
    return (dk_conv_geometry){g->h, g->w, p.t, p.tw, 1, 1, p.t - 1 - p.q, p.tw - 1 - p.qw, 1, 1, p.na, p.nb};
}

// The input gradient's share from the phase: a stride-1 convolution of g's phase plane (na × nb)
// into the input's size (tap u is r + u·sh).
static dk_conv_geometry input_grad_geometry(const dk_conv_geometry *g, dk_phase p) {
    return (dk_conv_geometry){p.na, p.nb, p.t, p.tw, 1, 1, p.q, p.qw, 1, 1, g->h, g->w};
}

#define FOR_PHASES(g, p)                          \
    for (int64_t py = 0; py < (g)->sh; py++)      \
        for (int64_t px = 0; px < (g)->sw; px++)  \
            for (dk_phase p = phase_of(g, py, px), *once_ = &p; once_; once_ = NULL)

// Every phase 2×2 (kernel 4, stride 2: the usual upsampling layer) and taken by F(2×2, 2×2) as a
// forward convolution and as an input gradient: the forward pass and the weight gradient then
// run each phase on it, and the input gradient all four as one convolution.
int dk_conv_transpose2d_winograd(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    FOR_PHASES(g, p) {
        dk_conv_geometry f = forward_geometry(g, p), b = input_grad_geometry(g, p);
        if (p.t != 2 || p.tw != 2 || !p.na || !p.nb || !dk_conv_wino22_applies(&f, cin, cout)
            || !dk_conv_wino22_applies(&b, cout, cin))
            return 0;
    }
    return 1;
}

// One output row from its sw phase rows: d[b·sw + px] = rows[px][b] for the ow columns.
static void interleave_row(const float *const *rows, int64_t sw, int64_t ow, float *d) {
    for (int64_t px = 0; px < sw; px++)
        for (int64_t b = 0; px + b * sw < ow; b++) d[px + b * sw] = rows[px][b];
}

// The inverse: rows[px][b] = s[b·sw + px].
static void split_row(const float *s, int64_t sw, int64_t ow, float *const *rows) {
    for (int64_t px = 0; px < sw; px++)
        for (int64_t b = 0; px + b * sw < ow; b++) rows[px][b] = s[px + b * sw];
}

#ifdef DK_X86
// Stride 2 by permutes: 32 outputs from 16 even and 16 odd columns at a time.
DK_TARGET_AVX512 static void interleave_row2(const float *const *rows, int64_t ow, float *d) {
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    int64_t x = 0;
    for (; x + 32 <= ow; x += 32) {
        __m512 e = _mm512_loadu_ps(rows[0] + x / 2), o = _mm512_loadu_ps(rows[1] + x / 2);
        _mm512_storeu_ps(d + x, _mm512_permutex2var_ps(e, lo, o));
        _mm512_storeu_ps(d + x + 16, _mm512_permutex2var_ps(e, hi, o));
    }
    for (; x < ow; x++) d[x] = rows[x & 1][x / 2];
}

DK_TARGET_AVX512 static void split_row2(const float *s, int64_t ow, float *const *rows) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    int64_t x = 0;
    for (; x + 32 <= ow; x += 32) {
        __m512 a = _mm512_loadu_ps(s + x), b = _mm512_loadu_ps(s + x + 16);
        _mm512_storeu_ps(rows[0] + x / 2, _mm512_permutex2var_ps(a, even, b));
        _mm512_storeu_ps(rows[1] + x / 2, _mm512_permutex2var_ps(a, odd, b));
    }
    for (; x < ow; x++) rows[x & 1][x / 2] = s[x];
}

// The same two in AVX2: 16 outputs from 8 even and 8 odd columns at a time.
DK_TARGET_AVX2 static void interleave_row2_avx2(const float *const *rows, int64_t ow, float *d) {
    int64_t x = 0;
    for (; x + 16 <= ow; x += 16) {
        __m256 e = _mm256_loadu_ps(rows[0] + x / 2), o = _mm256_loadu_ps(rows[1] + x / 2);
        __m256 lo = _mm256_unpacklo_ps(e, o), hi = _mm256_unpackhi_ps(e, o);  // e0 o0 e1 o1 | e4 o4 e5 o5, …
        _mm256_storeu_ps(d + x, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(d + x + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; x < ow; x++) d[x] = rows[x & 1][x / 2];
}

DK_TARGET_AVX2 static void split_row2_avx2(const float *s, int64_t ow, float *const *rows) {
    int64_t x = 0;
    for (; x + 16 <= ow; x += 16) {
        __m256 a = _mm256_loadu_ps(s + x), b = _mm256_loadu_ps(s + x + 8);
        // a0 a2 b0 b2 | a4 a6 b4 b6 → a0 a2 a4 a6 b0 b2 b4 b6 (and the odd ones alike)
        __m256d even = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), odd = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD));
        _mm256_storeu_ps(rows[0] + x / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(even, 0xD8)));
        _mm256_storeu_ps(rows[1] + x / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(odd, 0xD8)));
    }
    for (; x < ow; x++) rows[x & 1][x / 2] = s[x];
}
#endif

// The sw phase rows that make up row oy of channel o: plane (py, px) of channel o starts at
// planes + offset[py·sw + px] + o·stride[py·sw + px] and holds rows of nb[px] columns.
static void phase_row_pointers(const dk_conv_geometry *g, float *planes, const int64_t *offset, const int64_t *stride,
                               int64_t o, int64_t oy, float **rows) {
    int64_t sh = g->sh, sw = g->sw, py = oy % sh, a = oy / sh;
    for (int64_t px = 0; px < sw; px++) {
        int64_t nb = g->ow > px ? (g->ow - px + sw - 1) / sw : 0;
        rows[px] = planes + offset[py * sw + px] + o * stride[py * sw + px] + a * nb;
    }
}

// image (cout, oh, ow) = the phase planes interleaved.
static void phases_to_image(const dk_conv_geometry *g, int64_t cout, float *planes, const int64_t *offset,
                            const int64_t *stride, float *image) {
    float *rows[g->sw];
    for (int64_t o = 0; o < cout; o++)
        for (int64_t oy = 0; oy < g->oh; oy++) {
            phase_row_pointers(g, planes, offset, stride, o, oy, rows);
            float *d = image + (o * g->oh + oy) * g->ow;
#ifdef DK_X86
            if (g->sw == 2 && dk_simd_level() > 0) {
                if (dk_simd_level() == 2) interleave_row2((const float *const *)rows, g->ow, d);
                else interleave_row2_avx2((const float *const *)rows, g->ow, d);
                continue;
            }
#endif
            interleave_row((const float *const *)rows, g->sw, g->ow, d);
        }
}

// The phase planes of image (cout, oh, ow).
static void image_to_phases(const dk_conv_geometry *g, int64_t cout, const float *image, float *planes,
                            const int64_t *offset, const int64_t *stride) {
    float *rows[g->sw];
    for (int64_t o = 0; o < cout; o++)
        for (int64_t oy = 0; oy < g->oh; oy++) {
            phase_row_pointers(g, planes, offset, stride, o, oy, rows);
            const float *s = image + (o * g->oh + oy) * g->ow;
#ifdef DK_X86
            if (g->sw == 2 && dk_simd_level() > 0) {
                if (dk_simd_level() == 2) split_row2(s, g->ow, rows);
                else split_row2_avx2(s, g->ow, rows);
                continue;
            }
#endif
            split_row(s, g->sw, g->ow, rows);
        }
}

int64_t dk_conv_transpose2d_packed_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout, int inputGradient) {
    if (dk_conv_transpose2d_winograd(g, cin, cout))
        return inputGradient ? dk_conv_wino22_packed_floats(4 * cout, cin) : 4 * dk_conv_wino22_packed_floats(cin, cout);
    int64_t n = 0;
    FOR_PHASES(g, p) n += ((inputGradient ? cin : cout) + 7) / 8 * 8 * (inputGradient ? cout : cin) * p.t * p.tw;
    return n;
}

void dk_conv_transpose2d_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int inputGradient,
                                      float *wp) {
    int64_t kh = g->kh, kw = g->kw, k = 0, wino = dk_conv_transpose2d_winograd(g, cin, cout);
    FOR_PHASES(g, p) {
        if (p.t == 0 || p.tw == 0) continue;
        if (wino && inputGradient) {  // phase k's taps are input channels k·cout… of one convolution
            dk_conv_wino22_pack_weights(cout, cin, w, p.r * kw + p.rw, cout * kh * kw, kh * kw, g->sh * kw, g->sw, k++ * cout,
                                        4 * cout, wp);
        } else if (wino) {
            int64_t base = (p.r + (p.t - 1) * g->sh) * kw + p.rw + (p.tw - 1) * g->sw;
            dk_conv_wino22_pack_weights(cin, cout, w, base, kh * kw, cout * kh * kw, -g->sh * kw, -g->sw, 0, cin, wp);
            wp += dk_conv_wino22_packed_floats(cin, cout);
        } else if (inputGradient) {  // (cin, cout) of w as (out, in); tap u of the phase is r + u·sh
            dk_conv_geometry q = input_grad_geometry(g, p);
            dk_conv_direct_pack_tile_weights(&q, cout, cin, w, p.r * kw + p.rw, cout * kh * kw, kh * kw, g->sh * kw, g->sw, wp);
            wp += dk_conv_direct_tile_weights_floats(&q, cout, cin);
        } else {  // tap u of the phase is r + (t − 1 − u)·sh
            dk_conv_geometry q = forward_geometry(g, p);
            int64_t base = (p.r + (p.t - 1) * g->sh) * kw + p.rw + (p.tw - 1) * g->sw;
            dk_conv_direct_pack_tile_weights(&q, cin, cout, w, base, kh * kw, cout * kh * kw, -g->sh * kw, -g->sw, wp);
            wp += dk_conv_direct_tile_weights_floats(&q, cin, cout);
        }
    }
}

int64_t dk_conv_transpose2d_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    // Forward: x's planes copied apart, and the phases' outputs. Backward: g's phase planes, and
    // the panels of one phase.
    int64_t planes = 0, largest = 0;
    FOR_PHASES(g, p) {
        planes += cout * dk_conv_plane_stride(p.na * p.nb);
        if (p.na * p.nb > largest) largest = p.na * p.nb;
    }
    int64_t forward = cin * dk_conv_plane_stride(g->h * g->w) + cout * g->oh * g->ow;
    int64_t backward = planes + (cout + 31) / 32 * 32 * largest;
    if (dk_conv_transpose2d_winograd(g, cin, cout)) {  // the transforms' scratch after the phase planes
        FOR_PHASES(g, p) {
            dk_conv_geometry f = forward_geometry(g, p), b = input_grad_geometry(g, p);
            int64_t wf = cout * g->oh * g->ow + dk_conv_wino22_scratch_floats(&f, cin, cout);
            int64_t wb = planes + dk_conv_wino22_scratch_floats(&b, 4 * cout, cin);
            int64_t ww = planes + dk_conv_wino22_weight_grad_scratch_floats(&f, cin, cout);
            if (ww > wb) wb = ww;
            if (wf > forward) forward = wf;
            if (wb > backward) backward = wb;
        }
    }
    return forward > backward ? forward : backward;
}

void dk_conv_transpose2d_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                                    const float *bias, float *out, float *scratch) {
    int64_t HW = g->h * g->w, cs = dk_conv_plane_stride(HW), offset[g->sh * g->sw], stride[g->sh * g->sw], k = 0, n = 0;
    if (dk_conv_transpose2d_winograd(g, cin, cout)) {
        float *wscratch = scratch + cout * g->oh * g->ow;
        FOR_PHASES(g, p) {
            dk_wino22_part part = {forward_geometry(g, p), x, HW};
            offset[k] = n, stride[k++] = p.na * p.nb;
            dk_conv_wino22_f32(&part, 1, cin, cout, wp, bias, scratch + n, wscratch);
            wp += dk_conv_wino22_packed_floats(cin, cout);
            n += cout * p.na * p.nb;
        }
        phases_to_image(g, cout, scratch, offset, stride, out);
        return;
    }
    float *phaseOut = scratch + cin * cs;
    if (cs != HW) dk_conv_copy_planes(cin, HW, x, cs, scratch), x = scratch;
    FOR_PHASES(g, p) {
        dk_conv_geometry q = forward_geometry(g, p);
        offset[k] = n, stride[k++] = p.na * p.nb;
        if (p.na && p.nb) dk_conv_direct_tiles(&q, cin, cs, cout, x, wp, bias, 0, phaseOut + n);
        wp += dk_conv_direct_tile_weights_floats(&q, cin, cout);
        n += cout * p.na * p.nb;
    }
    phases_to_image(g, cout, phaseOut, offset, stride, out);
}

void dk_conv_transpose2d_direct_backward_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                             const float *gout, const float *wp, float *dx, float *dwT, float *scratch) {
    int64_t HW = g->h * g->w;
    // g's phase planes, each channel's plane `dk_conv_plane_stride(na·nb)` apart.
    int64_t offset[g->sh * g->sw], stride[g->sh * g->sw], k = 0, n = 0;
    FOR_PHASES(g, p) offset[k] = n, stride[k] = dk_conv_plane_stride(p.na * p.nb), n += cout * stride[k++];
    float *planes = scratch, *panels = scratch + n;
    image_to_phases(g, cout, gout, planes, offset, stride);
    int first = 1, wino = dk_conv_transpose2d_winograd(g, cin, cout);
    if (dx && wino) {  // dx = the four phases' convolutions as one, over 4·cout channels
        dk_wino22_part parts[4];
        k = 0;
        FOR_PHASES(g, p) parts[k] = (dk_wino22_part){input_grad_geometry(g, p), planes + offset[k], stride[k]}, k++;
        dk_conv_wino22_f32(parts, 4, cout, cin, wp, NULL, dx, scratch + n);
        first = 0;
    }
    float *plane = planes;
    FOR_PHASES(g, p) {
        int64_t cs = dk_conv_plane_stride(p.na * p.nb);
        dk_conv_geometry qx = input_grad_geometry(g, p);
        const float *pw = wp;
        if (dx && !wino) wp += dk_conv_direct_tile_weights_floats(&qx, cout, cin);
        if (p.na && p.nb && p.t && p.tw) {
            if (dx && !wino) {
                dk_conv_direct_tiles(&qx, cout, cs, cin, plane, pw, NULL, !first, dx);
                first = 0;
            }
            if (dwT && wino) {
                dk_conv_geometry q = forward_geometry(g, p);
                dk_conv_wino22_weight_grad(&q, cin, cout, x, HW, plane, cs, dwT, panels);
            } else if (dwT) {
                dk_conv_geometry q = forward_geometry(g, p);
                dk_conv_grad_panels(plane, cs, cout, p.na * p.nb, panels);
                dk_conv_direct_grad_tiles(&q, cin, HW, cout, x, panels, dwT);
            }
        }
        if (dwT) dwT += cin * p.t * p.tw * cout;
        plane += cout * cs;
    }
    if (dx && first) memset(dx, 0, sizeof(float) * (size_t)(cin * HW));
}

void dk_conv_transpose2d_weight_grad_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *dwT,
                                            float *dw) {
    int64_t kh = g->kh, kw = g->kw;
    FOR_PHASES(g, p) {
        for (int64_t c = 0; c < cin; c++)
            for (int64_t u = 0; u < p.t; u++)
                for (int64_t v = 0; v < p.tw; v++) {
                    int64_t i = p.r + (p.t - 1 - u) * g->sh, j = p.rw + (p.tw - 1 - v) * g->sw;
                    const float *s = dwT + ((c * p.t + u) * p.tw + v) * cout;
                    for (int64_t o = 0; o < cout; o++) dw[((c * cout + o) * kh + i) * kw + j] = s[o];
                }
        dwT += cin * p.t * p.tw * cout;
    }
}
