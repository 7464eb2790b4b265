// Direct convolution on bfloat16 values with AVX512-BF16 dot products (autocast's
// convolutions where the CPU has them): conv_direct.c's AVX-512 tiles with the input channels
// taken two at a time. The image is first rewritten as planes of channel pairs, word (y, x) of
// plane p holding x[2p][y][x] and x[2p + 1][y][x] rounded to bfloat16, so that a run of 16
// output columns still loads as one vector (16 words) for each tap, and the weights of a tap as
// pairs of channels too: vdpbf16ps then adds both channels' products to each output. The weight
// gradient pairs pixels instead: dWᵀ[(c, i, j)][o] sums x[c][y + i − ph][x + j − pw]·g[o][y][x]
// over pixels (x, x + 1) at a time, the image read from a zero-padded bfloat16 copy (two
// adjacent pixels make one word wherever they start) and g from panels of 32 output channels
// holding its pixel pairs. Products of bfloat16 values are exact in float32 and the sums float32,
// as PyTorch's bf16 convolutions; the forward tiles store their sums (plus the bias) rounded to
// bfloat16, as autocast's result is, so that no separate pass rounds them. A strided convolution
// runs as the stride-1 convolution of its input's phases (conv_common.h: each tap reads its
// phase), and its input gradient phase by phase of dx (the taps that reach each phase). A first
// layer of 1 channel folds it into the taps: the image is rewritten as pairs of im2col's rows,
// and the tiles run a 1×1 convolution over them (3×3: 5 pairs a tile instead of 9 taps of a
// half-empty pair). The weight gradient is in conv_direct_bf16_grad.c.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "conv_common.h"
#include "conv_direct.h"
#include "conv_direct_amx.h"
#include "conv_winograd4.h"
#include "simd.h"

static int64_t pairs_of(int64_t cin) { return (cin + 1) / 2; }

// A first layer's one channel folds into the taps (dk_conv_direct_bf16_folds): the tiles then run
// a 1×1 convolution on the output's own geometry.
static dk_conv_geometry folded_geometry(const dk_conv_geometry *g) {
    return (dk_conv_geometry){.h = g->oh, .w = g->ow, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .ph = 0, .pw = 0, .dh = 1, .dw = 1,
                              .oh = g->oh, .ow = g->ow};
}

int dk_conv_direct_bf16_folds(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    int64_t taps = g->kh * g->kw;
    // 3 channels measured slower folded (14 pairs of 14 gathered planes against 18 pair-steps of 2
    // planes: the RGB 3×3 layer at 32×32 took 0.72 against 0.55 ms for 64 images on one core).
    return !dk_conv_amx_takes(g, cin, cout, 0) && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && cin == 1 && taps > 1;
}

// Winograd's F(4×4, 3×3) in float32 (conv_winograd4.c) instead of the tiles: off the AMX path,
// where it applies, unless DESCENT_BF16_WINOGRAD=0 (to compare the two).
int dk_conv_wino4_takes(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    const char *off = getenv("DESCENT_BF16_WINOGRAD");
    return !(off && strcmp(off, "0") == 0) && !dk_amx_path() && dk_conv_wino4_applies(g, cin, cout);
}

// Where dk_conv_amx_takes, the weights are packed for conv_direct_amx.c's tiles instead (AMX is
// set while no product runs, so the packing and the convolutions that use it agree).
int64_t dk_conv_direct_bf16_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_amx_takes(g, cin, cout, 0)) return dk_conv_amx_weight_words(g, cin, cout);
    if (dk_conv_wino4_takes(g, cin, cout)) return dk_conv_wino4_packed_floats(cin, cout);
    if (dk_conv_direct_bf16_folds(g, cin, cout)) return (cout + 7) / 8 * 8 * pairs_of(cin * g->kh * g->kw);
    return (cout + 7) / 8 * 8 * pairs_of(cin) * g->kh * g->kw;
}

void dk_conv_direct_bf16_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, uint32_t *wp) {
    if (dk_conv_amx_takes(g, cin, cout, 0)) {
        dk_conv_amx_pack_weights(g, cin, cout, w, base, so, sc, si, sj, wp);
        return;
    }
    if (dk_conv_wino4_takes(g, cin, cout)) {
        dk_conv_wino4_pack_weights(cin, cout, w, base, so, sc, si, sj, (float *)wp);
        return;
    }
    int64_t kh = g->kh, kw = g->kw, cp = pairs_of(cin), K = cp * kh * kw;
    if (dk_conv_direct_bf16_folds(g, cin, cout)) {
        // Word p of a row: the weights of im2col's rows k = 2p, 2p + 1 (k = (c·kh + i)·kw + j).
        int64_t taps = kh * kw, rows = cin * taps, words = pairs_of(rows);
        for (int64_t o0 = 0; o0 < cout; o0 += 8)
            for (int64_t p = 0; p < words; p++)
                for (int64_t r = 0; r < 8; r++) {
                    uint32_t pair = 0;
                    for (int64_t h = 0; h < 2 && o0 + r < cout && 2 * p + h < rows; h++) {
                        int64_t k = 2 * p + h, t = k % taps;
                        pair |= dk_bf16_rounded_bits(w[base + (o0 + r) * so + k / taps * sc + t / kw * si + t % kw * sj]) >> 16 << (16 * h);
                    }
                    wp[(o0 * words + p * 8) + r] = pair;
                }
        return;
    }
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                for (int64_t p = 0; p < cp; p++) {
                    uint32_t *d = wp + o0 * K + ((i * kw + j) * cp + p) * 8;
                    for (int64_t r = 0; r < 8; r++) {
                        int64_t at = base + (o0 + r) * so + 2 * p * sc + i * si + j * sj;
                        uint32_t lo = o0 + r < cout ? dk_bf16_rounded_bits(w[at]) >> 16 : 0;
                        uint32_t hi = o0 + r < cout && 2 * p + 1 < cin ? dk_bf16_rounded_bits(w[at + sc]) >> 16 : 0;
                        d[r] = lo | hi << 16;
                    }
                }
}

static int64_t up16(int64_t n) { return (n + 15) / 16 * 16; }

// The forward's scratch: the pair planes of x's phases; conv_direct_amx.c's where it takes the
// convolution.
int64_t dk_conv_direct_bf16_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_amx_takes(g, cin, cout, 0)) return dk_conv_amx_scratch_words(g, cin);
    if (dk_conv_wino4_takes(g, cin, cout)) return dk_conv_wino4_scratch_floats(g, cin, cout);
    if (dk_conv_direct_bf16_folds(g, cin, cout)) return pairs_of(cin * g->kh * g->kw) * dk_conv_plane_stride(g->oh * g->ow);
    dk_conv_geometry p = dk_phase_geometry(g);
    return dk_conv_phases(g) * pairs_of(cin) * dk_conv_plane_stride(p.h * p.w);
}

// The input gradient's: the pair planes of g, then dx's phases as floats.
int64_t dk_conv_direct_bf16_input_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    dk_conv_geometry p = dk_phase_geometry(g);
    return up16(pairs_of(cout) * dk_conv_plane_stride(g->oh * g->ow)) + up16(dk_conv_phases(g) * cin * p.h * p.w);
}

#ifdef DK_X86

// out[r][run] = bias[r] + Σ over taps t and pairs p of the pair product of wp[t.w + 8p + r] and
// xw[t.planes + p·cs][y + t.i − ph][xs + t.j − pw + 0:16], for r < mr and two runs (runs of
// `rows` whole rows where dk_rows_per_run > 1).
DK_TARGET_BF16 static void tile_8x32(const dk_conv_geometry *g, int64_t rows, int64_t cp, int64_t cs, const uint32_t *xw,
                                     const dk_tap *taps, int64_t ntaps, dk_run r0, dk_run r1, const uint32_t *wp,
                                     const float *bias, float *out, int64_t outStride, int64_t mr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const dk_run runs[2] = {r0, r1};
    for (const dk_tap *t = taps; t < taps + ntaps; t++) {
        __mmask16 m[2];
        int64_t at[2];
        dk_tap_of_tile(g, rows, runs, t, m, at);
        if (!m[0] && !m[1]) continue;
        __mmask16 m0 = m[0], m1 = m[1];
        const uint32_t *bc = xw + t->planes + at[0], *ec = xw + t->planes + at[1];
        const uint32_t *wk = wp + t->w;
#define ROW(word, lo, hi)                                \
    v = (__m512bh)_mm512_set1_epi32((int32_t)(word));    \
    lo = _mm512_dpbf16_ps(lo, v, b0);                    \
    hi = _mm512_dpbf16_ps(hi, v, b1);
#define RUNS(LOAD0, LOAD1)                                                                        \
    for (int64_t p = 0; p < cp; p++, bc += cs, ec += cs, wk += 8) {                               \
        __m512bh b0 = (__m512bh)(LOAD0), b1 = (__m512bh)(LOAD1), v;                               \
        ROW(wk[0], c00, c01) ROW(wk[1], c10, c11) ROW(wk[2], c20, c21) ROW(wk[3], c30, c31)       \
        ROW(wk[4], c40, c41) ROW(wk[5], c50, c51) ROW(wk[6], c60, c61) ROW(wk[7], c70, c71)       \
    }
        int full0 = m0 == 0xFFFF, full1 = m1 == 0xFFFF;
        if (full0 && full1) RUNS(_mm512_loadu_si512(bc), _mm512_loadu_si512(ec))
        else if (full0) RUNS(_mm512_loadu_si512(bc), _mm512_maskz_loadu_epi32(m1, ec))
        else if (full1) RUNS(_mm512_maskz_loadu_epi32(m0, bc), _mm512_loadu_si512(ec))
        else RUNS(_mm512_maskz_loadu_epi32(m0, bc), _mm512_maskz_loadu_epi32(m1, ec))
#undef RUNS
#undef ROW
    }
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70};
    __m512 hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    __mmask16 s0 = dk_run_outputs(g, rows, r0), s1 = dk_run_outputs(g, rows, r1);
    float *o0 = out + r0.y * g->ow + r0.xs, *o1 = r1.y >= 0 ? out + r1.y * g->ow + r1.xs : out;
    for (int64_t r = 0; r < mr; r++) {
        __m512 add = _mm512_set1_ps(bias ? bias[r] : 0.0f);
        _mm512_mask_storeu_ps(o0 + r * outStride, s0, dk_bf16_round16(_mm512_add_ps(lo[r], add)));
        _mm512_mask_storeu_ps(o1 + r * outStride, s1, dk_bf16_round16(_mm512_add_ps(hi[r], add)));
    }
}

// xw[p][·] = the pairs of planes 2p, 2p + 1 of x (cin, hw), planes cs words apart.
DK_TARGET_BF16 static void pair_planes(int64_t cin, int64_t hw, const float *x, int64_t cs, uint32_t *xw) {
    for (int64_t p = 0; p < pairs_of(cin); p++) {
        const float *a = x + 2 * p * hw, *b = a + hw;
        int second = 2 * p + 1 < cin;
        for (int64_t at = 0; at < hw; at += 16) {
            __mmask16 m = dk_first_lanes(hw - at);
            __m512 lo = _mm512_maskz_loadu_ps(m, a + at), hi = second ? _mm512_maskz_loadu_ps(m, b + at) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(xw + p * cs + at, m, dk_bf16_pairs16(lo, hi));
        }
    }
}

// out (cout, P) = bias + the tiles of taps[0..<n] over xw (pairs of cp planes cs apart) on g.
DK_TARGET_BF16 static void tiles(const dk_conv_geometry *g, int64_t cp, int64_t cs, const uint32_t *xw, const dk_tap *taps,
                                 int64_t n, int64_t cout, const uint32_t *wp, int64_t K, const float *bias, float *out) {
    int64_t rows = dk_rows_per_run(g), P = g->oh * g->ow;
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t t = 0; t < dk_runs_of(g, rows); t += 2) {
            tile_8x32(g, rows, cp, cs, xw, taps, n, dk_run_of(g, rows, t), dk_run_of(g, rows, t + 1), wp + o0 * K,
                      bias ? bias + o0 : NULL, out + o0 * P, P, cout - o0 < 8 ? cout - o0 : 8);
        }
}

// xw[(f·cp + p)·cs + r·w2 + q] = the pair (x[2p], x[2p + 1]) at pixel (r, q) of phase f (on the
// phase geometry pg), for the phases taps read; pair_planes with stride 1.
DK_TARGET_BF16 static void pair_phases(const dk_conv_geometry *g, const dk_conv_geometry *pg, int64_t cin, const float *x,
                                       int64_t cs, uint32_t *xw) {
    int64_t w2 = pg->w, hw = g->h * g->w, cp = pairs_of(cin);
    if (dk_conv_phases(g) == 1) {
        pair_planes(cin, hw, x, cs, xw);
        return;
    }
    char used[dk_conv_phases(g)];
    dk_conv_phases_used(g, used);
    for (int64_t f = 0; f < dk_conv_phases(g); f++) {
        if (!used[f]) continue;
        for (int64_t p = 0; p < cp; p++) {
            const float *c0 = x + 2 * p * hw, *c1 = 2 * p + 1 < cin ? c0 + hw : NULL;
            for (int64_t r = 0; r < pg->h; r++)
                for (int64_t q = 0; q < w2; q += 16) {
                    __m512 lo = dk_phase_row16(g, c0, f / g->sw, f % g->sw, r, q);
                    __m512 hi = c1 ? dk_phase_row16(g, c1, f / g->sw, f % g->sw, r, q) : _mm512_setzero_ps();
                    _mm512_mask_storeu_epi32(xw + (f * cp + p) * cs + r * w2 + q, dk_first_lanes(w2 - q), dk_bf16_pairs16(lo, hi));
                }
        }
    }
}

// xw[p·cs + y·ow + q] = the pair of im2col's rows 2p, 2p + 1 at output pixel (y, q) (row k =
// (c·kh + i)·kw + j holding x[c][y + i − ph][q + j − pw], 0 outside the image), stride 1.
DK_TARGET_BF16 static void fold_pairs(const dk_conv_geometry *g, int64_t cin, const float *x, int64_t cs, uint32_t *xw) {
    int64_t taps = g->kh * g->kw, rows = cin * taps, hw = g->h * g->w;
    for (int64_t p = 0; p < pairs_of(rows); p++) {
        // The pair's two rows: their channel's plane and tap (i, j); a missing second row reads nothing.
        const float *plane[2];
        int64_t i[2], j[2];
        for (int64_t h = 0; h < 2; h++) {
            int64_t k = 2 * p + h, t = k % taps;
            plane[h] = k < rows ? x + k / taps * hw : NULL;
            i[h] = t / g->kw - g->ph;
            j[h] = t % g->kw - g->pw;
        }
        for (int64_t y = 0; y < g->oh; y++)
            for (int64_t q = 0; q < g->ow; q += 16) {
                __m512 v[2];
                for (int64_t h = 0; h < 2; h++)
                    v[h] = plane[h] && y + i[h] >= 0 ? dk_phase_row16_from(g, plane[h], 0, 0, y + i[h], q + j[h]) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(xw + p * cs + y * g->ow + q, dk_first_lanes(g->ow - q), dk_bf16_pairs16(v[0], v[1]));
            }
    }
}

DK_TARGET_BF16 static void direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                                       const float *bias, float *out, uint32_t *scratch) {
    if (dk_conv_direct_bf16_folds(g, cin, cout)) {
        dk_conv_geometry f = folded_geometry(g);
        int64_t cp = pairs_of(cin * g->kh * g->kw), cs = dk_conv_plane_stride(g->oh * g->ow);
        fold_pairs(g, cin, x, cs, scratch);
        dk_tap tap = {0, 0, 0, 0};
        tiles(&f, cp, cs, scratch, &tap, 1, cout, wp, cp, bias, out);
        return;
    }
    dk_conv_geometry p = dk_phase_geometry(g);
    int64_t cp = pairs_of(cin), hw = p.h * p.w, cs = dk_conv_plane_stride(hw), kh = g->kh, kw = g->kw;
    pair_phases(g, &p, cin, x, cs, scratch);
    dk_tap taps[kh * kw];
    dk_phase_taps(g, cp, cp * cs, taps);
    tiles(&p, cp, cs, scratch, taps, kh * kw, cout, wp, cp * kh * kw, bias, out);
}

DK_TARGET_BF16 void dk_conv_direct_bf16_input_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout,
                                                   const uint32_t *wp, float *dx, uint32_t *scratch) {
    if (!dk_bgemm_avx512bf16_available()) abort();
    dk_conv_geometry p = dk_phase_geometry(g), q = dk_input_grad_geometry(g);
    int64_t cp = pairs_of(cout), hw = g->oh * g->ow, cs = dk_conv_plane_stride(hw), kh = g->kh, kw = g->kw;
    float *phases = (float *)(scratch + up16(cp * cs));
    pair_planes(cout, hw, gout, cs, scratch);
    dk_tap taps[kh * kw];
    for (int64_t f = 0; f < dk_conv_phases(g); f++) {
        int64_t n = dk_input_grad_taps(g, f, cp, taps);
        float *phase = phases + f * cin * p.h * p.w;
        if (n > 0) tiles(&q, cp, cs, scratch, taps, n, cin, wp, cp * kh * kw, NULL, phase);
        else memset(phase, 0, sizeof(float) * (size_t)(cin * p.h * p.w));  // no tap reaches it (stride > kernel)
    }
    dk_conv_merge_phases(g, cin, phases, dx);
}

void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    if (!dk_bgemm_avx512bf16_available()) abort();
    if (dk_conv_amx_takes(g, cin, cout, 0)) {
        dk_conv_amx(g, cin, cout, x, wp, bias, out, scratch);
        return;
    }
    if (dk_conv_wino4_takes(g, cin, cout)) {
        dk_conv_wino4(g, cin, cout, x, (const float *)wp, bias, out, (float *)scratch);
        return;
    }
    direct_bf16(g, cin, cout, x, wp, bias, out, scratch);
}
#else
void dk_conv_direct_bf16_input_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout, const uint32_t *wp,
                                    float *dx, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)gout; (void)wp; (void)dx; (void)scratch;
    abort();
}
void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)wp; (void)bias; (void)out; (void)scratch;
    abort();
}
#endif
