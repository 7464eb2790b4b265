// Direct stride-1 convolution on bfloat16 values with AVX512-BF16 dot products (autocast's
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
// bfloat16, as autocast's result is, so that no separate pass rounds them.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "conv_common.h"
#include "conv_direct.h"
#include "conv_direct_amx.h"
#include "simd.h"

static int64_t pairs_of(int64_t cin) { return (cin + 1) / 2; }

// Where dk_conv_amx_takes, the weights are packed for conv_direct_amx.c's tiles instead (AMX is
// set while no product runs, so the packing and the convolutions that use it agree).
int64_t dk_conv_direct_bf16_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_amx_takes(g, cin, cout, 0)) return dk_conv_amx_weight_words(g, cin, cout);
    return (cout + 7) / 8 * 8 * pairs_of(cin) * g->kh * g->kw;
}

int64_t dk_conv_direct_bf16_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    // conv_direct_amx.c's where it takes the convolution.
    return dk_conv_amx_takes(g, cin, cout, 0) ? dk_conv_amx_scratch_words(g, cin) : pairs_of(cin) * dk_conv_plane_stride(g->h * g->w);
}

void dk_conv_direct_bf16_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, uint32_t *wp) {
    if (dk_conv_amx_takes(g, cin, cout, 0)) {
        dk_conv_amx_pack_weights(g, cin, cout, w, base, so, sc, si, sj, wp);
        return;
    }
    int64_t kh = g->kh, kw = g->kw, cp = pairs_of(cin), K = cp * kh * kw;
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

#ifdef DK_X86

// out[r][run] = bias[r] + Σ over (i, j, p) of the pair product of wp[(i·kw + j)·cp + p][r] and
// xw[p][y + i − ph][xs + j − pw + 0:16] (planes `cs` words apart), for r < mr and two runs (runs
// of `rows` whole rows where dk_rows_per_run > 1).
DK_TARGET_BF16 static void tile_8x32(const dk_conv_geometry *g, int64_t rows, int64_t cp, int64_t cs, const uint32_t *xw,
                                     dk_run r0, dk_run r1, const uint32_t *wp, const float *bias, float *out,
                                     int64_t outStride, int64_t mr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const dk_run runs[2] = {r0, r1};
    for (int64_t i = 0; i < g->kh; i++) {
        for (int64_t j = 0; j < g->kw; j++) {
            __mmask16 m[2];
            int64_t at[2];
            if (rows > 1) dk_tap_of_row_runs(g, rows, runs, i, j, m, at);
            else dk_tap_of_runs(g, runs, i, j, m, at);
            if (!m[0] && !m[1]) continue;
            __mmask16 m0 = m[0], m1 = m[1];
            const uint32_t *bc = xw + at[0], *ec = xw + at[1];
            const uint32_t *wk = wp + (i * g->kw + j) * cp * 8;
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

DK_TARGET_BF16 static void direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                                       const float *bias, float *out, uint32_t *scratch) {
    int64_t cp = pairs_of(cin), hw = g->h * g->w, cs = dk_conv_plane_stride(hw), K = cp * g->kh * g->kw, P = g->oh * g->ow;
    pair_planes(cin, hw, x, cs, scratch);
    int64_t rows = dk_rows_per_run(g);
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t t = 0; t < dk_runs_of(g, rows); t += 2) {
            tile_8x32(g, rows, cp, cs, scratch, dk_run_of(g, rows, t), dk_run_of(g, rows, t + 1), wp + o0 * K,
                      bias ? bias + o0 : NULL, out + o0 * P, P, cout - o0 < 8 ? cout - o0 : 8);
        }
}

void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    if (!dk_bgemm_avx512bf16_available()) abort();
    if (dk_conv_amx_takes(g, cin, cout, 0)) {
        dk_conv_amx(g, cin, cout, x, wp, bias, out, scratch);
        return;
    }
    direct_bf16(g, cin, cout, x, wp, bias, out, scratch);
}
// The weight gradient's scratch: g's pair panels (words), then the padded bfloat16 copy of x
// (Hp = oh + kh − 1 rows of Wp = ow + kw columns: one zero column past the taps' reach, read by an
// odd row's last pair), then g's float32 panels (dk_conv_grad_panels).
static int64_t padded_rows(const dk_conv_geometry *g) { return g->oh + g->kh - 1; }
static int64_t padded_width(const dk_conv_geometry *g) { return g->ow + g->kw; }
static int64_t pair_panel_words(const dk_conv_geometry *g, int64_t cout) { return (cout + 31) / 32 * 32 * g->oh * ((g->ow + 1) / 2); }
static int64_t padded_copy_words(const dk_conv_geometry *g, int64_t cin) {
    return ((cin * padded_rows(g) * padded_width(g) + 1) / 2 + 16 + 15) / 16 * 16;  // whole 64-byte lines
}

int64_t dk_conv_direct_bf16_weight_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_amx_takes(g, cin, cout, 1)) return dk_conv_amx_weight_grad_scratch_words(g, cin, cout);
    return pair_panel_words(g, cout) + padded_copy_words(g, cin) + (cout + 31) / 32 * 32 * g->oh * g->ow;
}

// (conv_direct.h) Each run of 16 columns one masked load (lanes outside the row are not read)
// and one store.
DK_TARGET_BF16 void dk_conv_padded_bf16(const dk_conv_geometry *g, int64_t cin, const float *x, int64_t Wp, int64_t planeStride, uint16_t *xp) {
    int64_t Hp = padded_rows(g), pw = g->pw, W = g->w;
    for (int64_t c = 0; c < cin; c++)
        for (int64_t r = 0; r < Hp; r++) {
            uint16_t *d = xp + c * planeStride + r * Wp;
            int64_t y = r - g->ph;
            const float *s = y >= 0 && y < g->h ? x + (c * g->h + y) * W : NULL;
            for (int64_t col = 0; col < Wp; col += 16) {
                // Lanes l with 0 ≤ col + l − pw < W.
                int64_t lo = pw - col > 0 ? pw - col : 0, hi = W + pw - col < 16 ? W + pw - col : 16;
                __mmask16 m = s && hi > lo ? (__mmask16)(dk_first_lanes(hi) & ~dk_first_lanes(lo)) : 0;
                __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s ? s + col - pw : x));
                _mm256_mask_storeu_epi16(d + col, dk_first_lanes(Wp - col), v);
            }
        }
}

// gp[t][y][q][j] = (g[32t + j][y][2q], g[32t + j][y][2q + 1]) rounded (0 past the row and past
// cout), from g's float32 panels[t][p][j] (p = y·ow + x).
DK_TARGET_BF16 static void pair_panels(const dk_conv_geometry *g, int64_t cout, const float *panels, uint32_t *gp) {
    int64_t oh = g->oh, ow = g->ow, Q = (ow + 1) / 2, P = oh * ow;
    for (int64_t t = 0; t < (cout + 31) / 32; t++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t q = 0; q < Q; q++) {
                const float *a = panels + (t * P + y * ow + 2 * q) * 32;
                uint32_t *d = gp + ((t * oh + y) * Q + q) * 32;
                int second = 2 * q + 1 < ow;
                for (int h = 0; h < 32; h += 16)
                    _mm512_storeu_si512(d + h, dk_bf16_pairs16(_mm512_loadu_ps(a + h), second ? _mm512_loadu_ps(a + 32 + h) : _mm512_setzero_ps()));
            }
}

// base[r] = the first pixel of the padded copy xp that row k0 + r of dWᵀ reads, k = (c·kh + i)·kw
// + j (channel c's plane shifted by tap (i, j)), for r < n; rows past the mr that exist repeat the
// last (their sums are not stored).
static void tap_rows(const dk_conv_geometry *g, const uint16_t *xp, int64_t k0, int64_t mr, int n, const uint16_t **base) {
    int64_t kh = g->kh, kw = g->kw;
    for (int r = 0; r < n; r++) {
        int64_t k = k0 + (r < mr ? r : mr - 1), c = k / (kh * kw), i = k / kw % kh, j = k % kw;
        base[r] = xp + (c * padded_rows(g) + i) * padded_width(g) + j;
    }
}

// dWᵀ[k0 + r][o0 : o0 + 16] += Σ over pixels of xp at row k0 + r's tap · g, for 16 rows k = (c·kh +
// i)·kw + j, of a panel of g (gt) whose channels past o0 + 16 are zero: grad_tiles_bf16's tile for
// the last 16 or fewer output channels (layers of 16 channels), so that no half of a product is
// zero lanes.
DK_TARGET_BF16 static void grad_tiles_16_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, int64_t o0,
                                              const uint16_t *xp, const uint32_t *gt, float *dwT) {
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, Q = (g->ow + 1) / 2, K = cin * kh * kw, Wp = padded_width(g);
    __mmask16 m0 = dk_first_lanes(cout - o0);
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
        int64_t mr = K - k0 < 16 ? K - k0 : 16;
        const uint16_t *base[16];
        tap_rows(g, xp, k0, mr, 16, base);
        __m512 acc[16];
        for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
        for (int64_t y = 0; y < oh; y++) {
            const uint32_t *b = gt + y * Q * 32;
            int64_t row = y * Wp;
            for (int64_t q = 0; q < Q; q++, b += 32) {
                __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
                for (int r = 0; r < 16; r++) {
                    int32_t w;
                    memcpy(&w, base[r] + row + 2 * q, 4);
                    acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_set1_epi32(w), b0);
                }
            }
        }
        for (int64_t r = 0; r < mr; r++) {
            float *out = dwT + (k0 + r) * cout + o0;
            _mm512_mask_storeu_ps(out, m0, _mm512_add_ps(acc[r], _mm512_maskz_loadu_ps(m0, out)));
        }
    }
}

// dWᵀ[k0 + r][o0 : o0 + 32] += Σ over pixels of xp at row k0 + r's tap · g, for 8 rows k = (c·kh + i)·kw + j.
DK_TARGET_BF16 static void grad_tiles_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const uint16_t *xp,
                                           const uint32_t *gp, float *dwT) {
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, Q = (g->ow + 1) / 2, K = cin * kh * kw, Wp = padded_width(g);
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        const uint32_t *gt = gp + o0 / 32 * oh * Q * 32;
        if (cout - o0 <= 16) {
            grad_tiles_16_bf16(g, cin, cout, o0, xp, gt, dwT);
            continue;
        }
        for (int64_t k0 = 0; k0 < K; k0 += 8) {
            int64_t mr = K - k0 < 8 ? K - k0 : 8;
            const uint16_t *base[8];
            tap_rows(g, xp, k0, mr, 8, base);
            __m512 lo[8], hi[8];
            for (int r = 0; r < 8; r++) lo[r] = hi[r] = _mm512_setzero_ps();
            for (int64_t y = 0; y < oh; y++) {
                const uint16_t *a0 = base[0] + y * Wp, *a1 = base[1] + y * Wp, *a2 = base[2] + y * Wp, *a3 = base[3] + y * Wp;
                const uint16_t *a4 = base[4] + y * Wp, *a5 = base[5] + y * Wp, *a6 = base[6] + y * Wp, *a7 = base[7] + y * Wp;
                const uint32_t *b = gt + y * Q * 32;
                for (int64_t q = 0; q < Q; q++, b += 32) {
                    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16), v;
                    int32_t w;
#define ROW(a, r)                                    \
    memcpy(&w, a + 2 * q, 4);                        \
    v = (__m512bh)_mm512_set1_epi32(w);              \
    lo[r] = _mm512_dpbf16_ps(lo[r], v, b0);          \
    hi[r] = _mm512_dpbf16_ps(hi[r], v, b1);
                    ROW(a0, 0) ROW(a1, 1) ROW(a2, 2) ROW(a3, 3) ROW(a4, 4) ROW(a5, 5) ROW(a6, 6) ROW(a7, 7)
#undef ROW
                }
            }
            for (int64_t r = 0; r < mr; r++) {
                float *row = dwT + (k0 + r) * cout + o0;
                _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(lo[r], _mm512_maskz_loadu_ps(m0, row)));
                _mm512_mask_storeu_ps(row + 16, m1, _mm512_add_ps(hi[r], _mm512_maskz_loadu_ps(m1, row + 16)));
            }
        }
    }
}

void dk_conv_direct_bf16_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                     float *dwT, uint32_t *scratch) {
    if (!dk_bgemm_avx512bf16_available()) abort();
    if (dk_conv_amx_takes(g, cin, cout, 1)) {
        dk_conv_amx_weight_grad(g, cin, cout, x, gout, dwT, scratch);
        return;
    }
    uint32_t *gp = scratch;
    uint16_t *xp = (uint16_t *)(gp + pair_panel_words(g, cout));
    float *panels = (float *)(gp + pair_panel_words(g, cout) + padded_copy_words(g, cin));
    dk_conv_grad_panels(gout, g->oh * g->ow, cout, g->oh * g->ow, panels);
    pair_panels(g, cout, panels, gp);
    dk_conv_padded_bf16(g, cin, x, padded_width(g), padded_rows(g) * padded_width(g), xp);
    grad_tiles_bf16(g, cin, cout, xp, gp, dwT);
}
#else
void dk_conv_direct_bf16_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                     float *dwT, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)gout; (void)dwT; (void)scratch;
    abort();
}
void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)wp; (void)bias; (void)out; (void)scratch;
    abort();
}
#endif
