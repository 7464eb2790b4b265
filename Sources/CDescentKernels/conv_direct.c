// Direct float32 convolution with stride 1 and no dilation, one image at a time (AVX-512). A tile
// of the output is formed like a GEMM tile whose "B" rows are read straight from the image: for
// input position (c, i, j), 16 outputs (y, xs..xs+15) need x[c][y + i − ph][xs + j − pw …], one
// contiguous run, loaded under a mask that zeroes the lanes falling in the padding (masked-off
// lanes never fault). No column matrix, no padded copy (planes are copied only to move them off
// shared L1 sets, see dk_conv_plane_stride). Register tile: 8 output channels × two
// such runs of 16 (the two halves of 32 columns, or two rows when rows are at most 16 wide).
// The weight gradient reads the image the same way as the rows of its "A" operand (dWᵀ = col·gᵀ);
// with fewer than 8 input channels, from a zero-padded copy (see padded_copy_floats).
// conv.c chooses between this and Winograd's algorithm (conv_winograd.c) for each convolution.
// A strided convolution runs on the same tiles as the stride-1 convolution of its input's phases
// (conv_common.h; each tap reads its phase's planes), its input gradient phase by phase of dx.
// Without AVX-512, the tiles and their weight layout are conv_direct_avx2.c's (dispatched here).
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "conv_direct.h"
#include "simd.h"

int64_t dk_conv_direct_tile_weights_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
#ifdef DK_X86
    if (dk_simd_level() != 2) return dk_conv_direct_tile_weights_floats_avx2(g, cin, cout);
#endif
    return (cout + 7) / 8 * 8 * cin * g->kh * g->kw;
}

void dk_conv_direct_pack_tile_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp) {
#ifdef DK_X86
    if (dk_simd_level() != 2) return dk_conv_direct_pack_tile_weights_avx2(g, cin, cout, w, base, so, sc, si, sj, wp);
#endif
    int64_t kh = g->kh, kw = g->kw, K = cin * kh * kw;
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                for (int64_t c = 0; c < cin; c++) {
                    float *d = wp + o0 * K + ((i * kw + j) * cin + c) * 8;
                    for (int64_t r = 0; r < 8; r++)
                        d[r] = o0 + r < cout ? w[base + (o0 + r) * so + c * sc + i * si + j * sj] : 0.0f;
                }
}

// With fewer than 8 input channels (the first layer of an image model), a weight-gradient tile of
// 8 channels would mostly repeat one row: its rows are instead 8 (channel, tap) pairs, read
// from a zero-padded copy of the image, (oh + kh − 1) × (ow + kw − 1) per channel.
static int64_t padded_copy_floats(const dk_conv_geometry *g, int64_t cin) {
    return cin < 8 ? cin * (g->oh + g->kh - 1) * (g->ow + g->kw - 1) : 0;
}

// The phases of a strided convolution's input: phase f's plane c at (f·cin + c)·cs.
static int64_t phase_floats(const dk_conv_geometry *g, int64_t cin) {
    dk_conv_geometry p = dk_phase_geometry(g);
    return dk_conv_phases(g) * cin * dk_conv_plane_stride(p.h * p.w) + 16;
}

int64_t dk_conv_direct_scratch_floats(const dk_conv_geometry *g, int64_t cin) {
    if (dk_conv_phases(g) > 1) return phase_floats(g, cin);
    int64_t hw = g->h * g->w, cs = dk_conv_plane_stride(hw);
    return cs != hw ? cin * cs : 0;
}

int64_t dk_conv_direct_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_phases(g) > 1) return (cout + 31) / 32 * 32 * g->oh * g->ow + phase_floats(g, cin);
    return (cout + 31) / 32 * 32 * g->oh * g->ow + padded_copy_floats(g, cin);
}

int64_t dk_conv_direct_input_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin) {
    dk_conv_geometry p = dk_phase_geometry(g);
    return dk_conv_phases(g) * cin * p.h * p.w;
}

#ifdef DK_X86

// out[r][run] (+= with `accumulate`) for 8 output channels r < mr and two runs: bias[r] (if any) +
// Σ over taps t and channels c of wp[t.w + 8c + r] · x[t.planes + c·cs][y + t.i − ph][xs + t.j − pw +
// 0:16]; runs of `rows` whole rows where dk_rows_per_run > 1.
DK_TARGET_AVX512 static void tile_8x32(const dk_conv_geometry *g, int64_t rows, int64_t cin, int64_t cs, const float *x,
                                       const dk_tap *taps, int64_t ntaps, dk_run r0, dk_run r1, const float *wp,
                                       const float *bias, int accumulate, float *out, int64_t outStride, int64_t mr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    const dk_run runs[2] = {r0, r1};
    for (const dk_tap *t = taps; t < taps + ntaps; t++) {
        __mmask16 m[2];
        int64_t at[2];
        dk_tap_of_tile(g, rows, runs, t, m, at);
        if (!m[0] && !m[1]) continue;
        __mmask16 m0 = m[0], m1 = m[1];
        const float *bc = x + t->planes + at[0], *ec = x + t->planes + at[1];
        const float *wk = wp + t->w;
        // Masked loads cost more than plain ones: runs wholly inside the image (most of
        // them) load without a mask.
#define ROW(p, lo, hi)                 \
    v = _mm512_set1_ps(p);             \
    lo = _mm512_fmadd_ps(v, b0, lo);   \
    hi = _mm512_fmadd_ps(v, b1, hi);
#define RUNS(LOAD0, LOAD1)                                                                        \
    for (int64_t c = 0; c < cin; c++, bc += cs, ec += cs, wk += 8) {                              \
        __m512 b0 = LOAD0, b1 = LOAD1, v;                                                         \
        ROW(wk[0], c00, c01) ROW(wk[1], c10, c11) ROW(wk[2], c20, c21) ROW(wk[3], c30, c31)       \
        ROW(wk[4], c40, c41) ROW(wk[5], c50, c51) ROW(wk[6], c60, c61) ROW(wk[7], c70, c71)       \
    }
        int full0 = m0 == 0xFFFF, full1 = m1 == 0xFFFF;
        if (full0 && full1) RUNS(_mm512_loadu_ps(bc), _mm512_loadu_ps(ec))
        else if (full0) RUNS(_mm512_loadu_ps(bc), _mm512_maskz_loadu_ps(m1, ec))
        else if (full1) RUNS(_mm512_maskz_loadu_ps(m0, bc), _mm512_loadu_ps(ec))
        else RUNS(_mm512_maskz_loadu_ps(m0, bc), _mm512_maskz_loadu_ps(m1, ec))
#undef RUNS
#undef ROW
    }
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70};
    __m512 hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    __mmask16 s0 = dk_run_outputs(g, rows, r0), s1 = dk_run_outputs(g, rows, r1);
    float *o0 = out + r0.y * g->ow + r0.xs, *o1 = r1.y >= 0 ? out + r1.y * g->ow + r1.xs : out;
    for (int64_t r = 0; r < mr; r++) {
        float *p0 = o0 + r * outStride, *p1 = o1 + r * outStride;
        __m512 add = _mm512_set1_ps(bias ? bias[r] : 0.0f);
        __m512 a0 = accumulate ? _mm512_add_ps(add, _mm512_maskz_loadu_ps(s0, p0)) : add;
        __m512 a1 = accumulate ? _mm512_add_ps(add, _mm512_maskz_loadu_ps(s1, p1)) : add;
        _mm512_mask_storeu_ps(p0, s0, _mm512_add_ps(lo[r], a0));
        _mm512_mask_storeu_ps(p1, s1, _mm512_add_ps(hi[r], a1));
    }
}

// out (cout, oh·ow) (+= with `accumulate`) = bias + the tiles of taps[0..<n] over x (cin planes cs
// apart) on g, from weights packed K floats per 8 output channels.
DK_TARGET_AVX512 static void tap_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, const float *x, const dk_tap *taps,
                                       int64_t n, int64_t cout, const float *wp, int64_t K, const float *bias, int accumulate,
                                       float *out) {
    int64_t P = g->oh * g->ow, rows = dk_rows_per_run(g);
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t t = 0; t < dk_runs_of(g, rows); t += 2) {
            tile_8x32(g, rows, cin, cs, x, taps, n, dk_run_of(g, rows, t), dk_run_of(g, rows, t + 1), wp + o0 * K,
                      bias ? bias + o0 : NULL, accumulate, out + o0 * P, P, cout - o0 < 8 ? cout - o0 : 8);
        }
}

DK_TARGET_AVX512 static void direct_tiles_avx512(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                                                const float *wp, const float *bias, int accumulate, float *out) {
    dk_tap taps[g->kh * g->kw];
    dk_phase_taps(g, cin, 0, taps);  // stride 1: the kernel's own taps
    tap_tiles(g, cin, cs, x, taps, g->kh * g->kw, cout, wp, cin * g->kh * g->kw, bias, accumulate, out);
}

// phases[(f·cin + c)·cs + r·w2 + q] = pixel (r, q) of phase f of x's plane c, for the phases taps
// read (dk_phase_row16).
DK_TARGET_AVX512 static void split_phases(const dk_conv_geometry *g, const dk_conv_geometry *p, int64_t cin, const float *x,
                                          int64_t cs, float *phases) {
    char used[dk_conv_phases(g)];
    dk_conv_phases_used(g, used);
    for (int64_t f = 0; f < dk_conv_phases(g); f++) {
        if (!used[f]) continue;
        for (int64_t c = 0; c < cin; c++)
            for (int64_t r = 0; r < p->h; r++)
                for (int64_t q = 0; q < p->w; q += 16)
                    _mm512_mask_storeu_ps(phases + (f * cin + c) * cs + r * p->w + q, dk_first_lanes(p->w - q),
                                          dk_phase_row16(g, x + c * g->h * g->w, f / g->sw, f % g->sw, r, q));
    }
}

// A strided convolution's forward pass: the tiles on its input's phases, each tap on its own.
DK_TARGET_AVX512 static void strided_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                                         const float *bias, float *out, float *scratch) {
    dk_conv_geometry p = dk_phase_geometry(g);
    int64_t cs = dk_conv_plane_stride(p.h * p.w), kh = g->kh, kw = g->kw;
    split_phases(g, &p, cin, x, cs, scratch);
    dk_tap taps[kh * kw];
    dk_phase_taps(g, cin, cin * cs, taps);
    tap_tiles(&p, cin, cs, scratch, taps, kh * kw, cout, wp, cin * kh * kw, bias, 0, out);
}

DK_TARGET_AVX512 void dk_conv_direct_input_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout,
                                                    const float *wp, float *dx, float *scratch) {
    dk_conv_geometry p = dk_phase_geometry(g), q = dk_input_grad_geometry(g);
    int64_t kh = g->kh, kw = g->kw, plane = p.h * p.w;
    dk_tap taps[kh * kw];
    for (int64_t f = 0; f < dk_conv_phases(g); f++) {
        int64_t n = dk_input_grad_taps(g, f, cout, taps);
        float *phase = scratch + f * cin * plane;
        if (n > 0) tap_tiles(&q, cout, g->oh * g->ow, gout, taps, n, cin, wp, cout * kh * kw, NULL, 0, phase);
        else memset(phase, 0, sizeof(float) * (size_t)(cin * plane));  // no tap reaches it (stride > kernel)
    }
    dk_conv_merge_phases(g, cin, scratch, dx);
}

void dk_conv_direct_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x, const float *wp,
                          const float *bias, int accumulate, float *out) {
    if (dk_simd_level() == 2) direct_tiles_avx512(g, cin, cs, cout, x, wp, bias, accumulate, out);
    else dk_conv_direct_tiles_avx2(g, cin, cs, cout, x, wp, bias, accumulate, out);
}

void dk_conv_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                        const float *bias, float *out, float *scratch) {
    if (dk_conv_phases(g) > 1) {
        strided_f32(g, cin, cout, x, wp, bias, out, scratch);
        return;
    }
    int64_t HW = g->h * g->w, cs = dk_conv_plane_stride(HW);
    if (cs != HW) dk_conv_copy_planes(cin, HW, x, cs, scratch), x = scratch;
    dk_conv_direct_tiles(g, cin, cs, cout, x, wp, bias, 0, out);
}

// dWᵀ[((c0 + r)·kh + i)·kw + j][0:32] += Σ_(y,x) x[c0 + r][y + i − ph][x + j − pw] · gpanel[y·ow + x][0:32]
// for r < mr (planes HW apart), over the (y, x) whose input lies inside the image.
DK_TARGET_AVX512 static void grad_tile_8x32(const dk_conv_geometry *g, const float *x, int64_t HW, int64_t i, int64_t j,
                                            const float *gpanel, float *dwT, int64_t rowStride, int64_t mr,
                                            __mmask16 m0, __mmask16 m1) {
    __m512 lo[8], hi[8];
    for (int r = 0; r < 8; r++) lo[r] = hi[r] = _mm512_setzero_ps();
    int64_t W = g->w, ow = g->ow, dy = i - g->ph, dx = j - g->pw, yLo, yHi, xLo, xHi;
    dk_tap_window(g, i, j, &yLo, &yHi, &xLo, &xHi);
    for (int64_t y = yLo; y < yHi; y++) {
        const float *a[8];
        for (int r = 0; r < 8; r++) a[r] = x + (r < mr ? r : mr - 1) * HW + (y + dy) * W + dx + xLo;
        dk_rows_times_panel(a, xHi - xLo, gpanel + (y * ow + xLo) * 32, 32, lo, hi);
    }
    for (int64_t r = 0; r < mr; r++) {
        float *row = dwT + r * rowStride;
        _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(lo[r], _mm512_maskz_loadu_ps(m0, row)));
        _mm512_mask_storeu_ps(row + 16, m1, _mm512_add_ps(hi[r], _mm512_maskz_loadu_ps(m1, row + 16)));
    }
}

DK_TARGET_AVX512 static void grad_tiles_avx512(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout,
                                               const float *x, const float *panels, float *dwT) {
    int64_t P = g->oh * g->ow, kh = g->kh, kw = g->kw;
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        for (int64_t c0 = 0; c0 < cin; c0 += 8)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++)
                    grad_tile_8x32(g, x + c0 * cs, cs, i, j, panels + o0 * P, dwT + ((c0 * kh + i) * kw + j) * cout + o0,
                                   kh * kw * cout, cin - c0 < 8 ? cin - c0 : 8, m0, m1);
    }
}

void dk_conv_direct_grad_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                               const float *panels, float *dwT) {
    if (dk_simd_level() == 2) grad_tiles_avx512(g, cin, cs, cout, x, panels, dwT);
    else dk_conv_direct_grad_tiles_avx2(g, cin, cs, cout, x, panels, dwT);
}

// A strided convolution's weight gradient: row (c, i, j) of dWᵀ from its tap's phase of x (split
// into `phases`), as a stride-1 tap (t.i, t.j) on the phase geometry.
DK_TARGET_AVX512 static void strided_grad_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                                const float *panels, float *phases, float *dwT) {
    dk_conv_geometry p = dk_phase_geometry(g);
    int64_t P = g->oh * g->ow, kh = g->kh, kw = g->kw, cs = dk_conv_plane_stride(p.h * p.w);
    split_phases(g, &p, cin, x, cs, phases);
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        for (int64_t c0 = 0; c0 < cin; c0 += 8)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++) {
                    dk_phase_tap t = dk_tap_phase(g, i, j);
                    grad_tile_8x32(&p, phases + (t.phase * cin + c0) * cs, cs, t.i, t.j, panels + o0 * P,
                                   dwT + ((c0 * kh + i) * kw + j) * cout + o0, kh * kw * cout, cin - c0 < 8 ? cin - c0 : 8, m0, m1);
                }
    }
}

// x (cin, h, w) zero-padded: xp[c][r][col] = x[c][r − ph][col − pw], (oh + kh − 1) rows of
// (ow + kw − 1) columns per channel (padded_copy_floats).
static void padded_copy(const dk_conv_geometry *g, int64_t cin, const float *x, float *xp) {
    int64_t Hp = g->oh + g->kh - 1, Wp = g->ow + g->kw - 1;
    for (int64_t c = 0; c < cin; c++)
        for (int64_t r = 0; r < Hp; r++) {
            float *d = xp + (c * Hp + r) * Wp;
            int64_t y = r - g->ph, lo = g->pw < Wp ? g->pw : Wp, n = g->w < Wp - lo ? g->w : Wp - lo;
            memset(d, 0, sizeof(float) * (size_t)Wp);
            if (y >= 0 && y < g->h) memcpy(d + lo, x + (c * g->h + y) * g->w, sizeof(float) * (size_t)n);
        }
}

// dWᵀ (cin·kh·kw, cout) += col(x) · gᵀ with the rows of a tile taken from 8 (channel, tap) pairs
// k = (c·kh + i)·kw + j: row k of col(x) at pixel (y, x) is xp[c][y + i][x + j], xp the padded copy
// (no range of valid pixels per tap).
DK_TARGET_AVX512 static void grad_tiles_few_channels(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *xp,
                                                     const float *panels, float *dwT) {
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, ow = g->ow, P = oh * ow, K = cin * kh * kw;
    int64_t Hp = oh + kh - 1, Wp = ow + kw - 1;
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        for (int64_t k0 = 0; k0 < K; k0 += 8) {
            int64_t mr = K - k0 < 8 ? K - k0 : 8;
            const float *base[8], *a[8];
            for (int r = 0; r < 8; r++) {
                int64_t k = k0 + (r < mr ? r : mr - 1), c = k / (kh * kw), i = k / kw % kh, j = k % kw;
                base[r] = xp + (c * Hp + i) * Wp + j;
            }
            __m512 lo[8], hi[8];
            for (int r = 0; r < 8; r++) lo[r] = hi[r] = _mm512_setzero_ps();
            for (int64_t y = 0; y < oh; y++) {
                for (int r = 0; r < 8; r++) a[r] = base[r] + y * Wp;
                dk_rows_times_panel(a, ow, panels + o0 * P + y * ow * 32, 32, lo, hi);
            }
            for (int64_t r = 0; r < mr; r++) {
                float *row = dwT + (k0 + r) * cout + o0;
                _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(lo[r], _mm512_maskz_loadu_ps(m0, row)));
                _mm512_mask_storeu_ps(row + 16, m1, _mm512_add_ps(hi[r], _mm512_maskz_loadu_ps(m1, row + 16)));
            }
        }
    }
}

void dk_conv_direct_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                    const float *gout, float *dwT, float *panels) {
    int64_t P = g->oh * g->ow;
    // gᵀ in panels of 32 output channels: panels[o0 / 32][p][j] = g[o0 + j][p] (0 past cout).
    dk_conv_grad_panels(gout, P, cout, P, panels);
    if (dk_conv_phases(g) > 1) {
        strided_grad_tiles(g, cin, cout, x, panels, panels + (cout + 31) / 32 * 32 * P, dwT);
    } else if (padded_copy_floats(g, cin) > 0) {
        float *xp = panels + (cout + 31) / 32 * 32 * P;
        padded_copy(g, cin, x, xp);
        if (dk_simd_level() == 2) grad_tiles_few_channels(g, cin, cout, xp, panels, dwT);
        else dk_conv_direct_grad_tiles_few_channels_avx2(g, cin, cout, xp, panels, dwT);
    } else {
        dk_conv_direct_grad_tiles(g, cin, g->h * g->w, cout, x, panels, dwT);
    }
}
#else
#define DK_NO_DIRECT(...) { abort(); }
void dk_conv_direct_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x, const float *wp,
                          const float *bias, int accumulate, float *out) DK_NO_DIRECT()
void dk_conv_direct_grad_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                               const float *panels, float *dwT) DK_NO_DIRECT()
void dk_conv_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                        const float *bias, float *out, float *scratch) DK_NO_DIRECT()
void dk_conv_direct_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                    const float *gout, float *dwT, float *panels) DK_NO_DIRECT()
void dk_conv_direct_input_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout,
                                   const float *wp, float *dx, float *scratch) DK_NO_DIRECT()
#endif
