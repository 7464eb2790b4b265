// The weight gradient of the bfloat16 direct convolution (conv_direct_bf16.c): dWᵀ[(c, i, j)][o]
// sums x[c][y + i − ph][x + j − pw]·g[o][y][x] over pixels (x, x + 1) at a time, the image read
// from a zero-padded bfloat16 copy (two adjacent pixels make one word wherever they start) and g
// from panels of 32 output channels holding its pixel pairs; a strided convolution's from the
// padded copies of its input's phases (conv_common.h), each row of dWᵀ reading its tap's phase.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "conv_direct.h"
#include "conv_direct_amx.h"
#include "conv_winograd4.h"
#include "simd.h"

// The weight gradient's scratch: g's pair panels (words), then the padded bfloat16 copy of x's
// phases (of a stride-1 geometry p, dk_phase_geometry: Hp = oh + kh − 1 rows of Wp = ow + kw
// columns: one zero column past the taps' reach, read by an odd row's last pair).
static int64_t padded_rows(const dk_conv_geometry *g) { return g->oh + g->kh - 1; }
static int64_t padded_width(const dk_conv_geometry *g) { return g->ow + g->kw; }
static int64_t pair_panel_words(const dk_conv_geometry *g, int64_t cout) { return (cout + 31) / 32 * 32 * g->oh * ((g->ow + 1) / 2); }
static int64_t padded_copy_words(const dk_conv_geometry *g, int64_t cin) {
    return ((cin * padded_rows(g) * padded_width(g) + 1) / 2 + 16 + 15) / 16 * 16;  // whole 64-byte lines
}

int64_t dk_conv_direct_bf16_weight_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (dk_conv_amx_takes(g, cin, cout, 1)) return dk_conv_amx_weight_grad_scratch_words(g, cin, cout);
    if (dk_conv_wino4_takes(g, cin, cout)) return dk_conv_wino4_weight_grad_scratch_floats(g, cin, cout);
    dk_conv_geometry p = dk_phase_geometry(g);
    return pair_panel_words(g, cout) + padded_copy_words(&p, dk_conv_phases(g) * cin);
}

#ifdef DK_X86
// (conv_direct.h) Each run of 16 columns one masked load (lanes outside the row are not read)
// and one store, whole but at the plane's end (dk_store_bf16_run). With a masked store at every
// row's end the copy took 6% of conv3x3…_bf16's samples; so, 2–3%.
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
                dk_store_bf16_run(d + col, v, (Hp - r) * Wp - col);
            }
        }
}

// xp[((f·cin + c)·Hp + r)·Wp + col] = phase f of x's plane c at (r − ph, col − pw) of the phase
// geometry p, rounded to bfloat16 (0 outside it), for the phases taps read (dk_phase_row16).
DK_TARGET_BF16 static void padded_phases_bf16(const dk_conv_geometry *g, const dk_conv_geometry *p, int64_t cin, const float *x,
                                              uint16_t *xp) {
    int64_t Hp = padded_rows(p), Wp = padded_width(p), hw = g->h * g->w;
    if (dk_conv_phases(g) == 1) {
        dk_conv_padded_bf16(p, cin, x, Wp, Hp * Wp, xp);
        return;
    }
    char used[dk_conv_phases(g)];
    dk_conv_phases_used(g, used);
    for (int64_t f = 0; f < dk_conv_phases(g); f++) {
        if (!used[f]) continue;
        for (int64_t c = 0; c < cin; c++)
            for (int64_t r = 0; r < Hp; r++) {
                uint16_t *d = xp + ((f * cin + c) * Hp + r) * Wp;
                int64_t y = r - p->ph;
                for (int64_t col = 0; col < Wp; col += 16) {
                    __m512 v = y >= 0 && y < p->h ? dk_phase_row16_from(g, x + c * hw, f / g->sw, f % g->sw, y, col - p->pw) : _mm512_setzero_ps();
                    dk_store_bf16_run(d + col, (__m256i)_mm512_cvtneps_pbh(v), (Hp - r) * Wp - col);
                }
            }
    }
}

// gp[t][y][q][j] = (g[32t + j][y][2q], g[32t + j][y][2q + 1]) rounded (0 past the row and past
// cout; a panel's second half is not written when no channel reaches it), from g (cout, oh·ow)
// itself: for 16 channels and 16 pixel pairs of a row, each channel's 32 pixels round into its
// 16 pairs in order (one conversion), and the 16 × 16 words transpose.
DK_TARGET_BF16 static void pair_panels(const dk_conv_geometry *g, int64_t cout, const float *gout, uint32_t *gp) {
    int64_t oh = g->oh, ow = g->ow, Q = (ow + 1) / 2, P = oh * ow;
    for (int64_t t = 0; t < (cout + 31) / 32; t++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t q0 = 0; q0 < Q; q0 += 16)
                for (int64_t h = 0; h < 32 && 32 * t + h < cout; h += 16) {  // (a last 16 or fewer: grad_tiles_16_bf16 reads one half)
                    __m512i r[16];
                    int64_t n = ow - 2 * q0;  // pixels of the row from 2·q0 on
                    for (int64_t j = 0; j < 16; j++) {
                        int64_t o = 32 * t + h + j;
                        if (o >= cout) {
                            r[j] = _mm512_setzero_si512();
                            continue;
                        }
                        const float *row = gout + o * P + y * ow + 2 * q0;
                        __m512 a = _mm512_maskz_loadu_ps(dk_first_lanes(n), row), b = _mm512_maskz_loadu_ps(dk_first_lanes(n - 16), row + 16);
                        r[j] = (__m512i)_mm512_cvtne2ps_pbh(b, a);
                    }
                    dk_transpose16_words(r);
                    uint32_t *d = gp + ((t * oh + y) * Q + q0) * 32 + h;
                    for (int64_t q = 0; q < 16 && q0 + q < Q; q++) _mm512_storeu_si512(d + q * 32, r[q]);
                }
}

// Where the weight gradient's rows read the padded copy xp of x's phases (on the phase geometry
// p): row k = c·taps + t (t = i·kw + j) from xp + c·plane + at[t], the tap's phase's plane of
// channel 0 shifted by the tap.
typedef struct {
    int64_t taps, plane;
    const int64_t *at;
} tap_rows_t;

static void tap_offsets(const dk_conv_geometry *g, const dk_conv_geometry *p, int64_t cin, int64_t *at) {
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            dk_phase_tap t = dk_tap_phase(g, i, j);
            at[i * g->kw + j] = (t.phase * cin * padded_rows(p) + t.i) * padded_width(p) + t.j;
        }
}

// base[r] = the first pixel of xp that row k0 + r of dWᵀ reads, for r < n; rows past the mr that
// exist repeat the last (their sums are not stored).
static void tap_rows(tap_rows_t rows, const uint16_t *xp, int64_t k0, int64_t mr, int n, const uint16_t **base) {
    for (int r = 0; r < n; r++) {
        int64_t k = k0 + (r < mr ? r : mr - 1);
        base[r] = xp + k / rows.taps * rows.plane + rows.at[k % rows.taps];
    }
}

// dWᵀ[k0 + r][o0 : o0 + 16] += Σ over pixels of xp at row k0 + r's tap · g, for 16 rows k = (c·kh +
// i)·kw + j, of a panel of g (gt) whose channels past o0 + 16 are zero: grad_tiles_bf16's tile for
// the last 16 or fewer output channels (layers of 16 channels), so that no half of a product is
// zero lanes.
DK_TARGET_BF16 static void grad_tiles_16_bf16(const dk_conv_geometry *g, const dk_conv_geometry *p, tap_rows_t rows, int64_t cin,
                                              int64_t cout, int64_t o0, const uint16_t *xp, const uint32_t *gt, float *dwT) {
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, Q = (g->ow + 1) / 2, K = cin * kh * kw, Wp = padded_width(p);
    __mmask16 m0 = dk_first_lanes(cout - o0);
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
        int64_t mr = K - k0 < 16 ? K - k0 : 16;
        const uint16_t *base[16];
        tap_rows(rows, xp, k0, mr, 16, base);
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
DK_TARGET_BF16 static void grad_tiles_bf16(const dk_conv_geometry *g, const dk_conv_geometry *p, int64_t cin, int64_t cout,
                                           const uint16_t *xp, const uint32_t *gp, float *dwT) {
    int64_t at[g->kh * g->kw];
    tap_offsets(g, p, cin, at);
    tap_rows_t rows = {g->kh * g->kw, padded_rows(p) * padded_width(p), at};
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, Q = (g->ow + 1) / 2, K = cin * kh * kw, Wp = padded_width(p);
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        const uint32_t *gt = gp + o0 / 32 * oh * Q * 32;
        if (cout - o0 <= 16) {
            grad_tiles_16_bf16(g, p, rows, cin, cout, o0, xp, gt, dwT);
            continue;
        }
        for (int64_t k0 = 0; k0 < K; k0 += 8) {
            int64_t mr = K - k0 < 8 ? K - k0 : 8;
            const uint16_t *base[8];
            tap_rows(rows, xp, k0, mr, 8, base);
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
    if (dk_conv_wino4_takes(g, cin, cout)) {
        dk_conv_wino4_weight_grad(g, cin, cout, x, gout, dwT, (float *)scratch);
        return;
    }
    dk_conv_geometry p = dk_phase_geometry(g);
    uint32_t *gp = scratch;
    uint16_t *xp = (uint16_t *)(gp + pair_panel_words(g, cout));
    pair_panels(g, cout, gout, gp);
    padded_phases_bf16(g, &p, cin, x, xp);
    grad_tiles_bf16(g, &p, cin, cout, xp, gp, dwT);
}
#else
void dk_conv_direct_bf16_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                     float *dwT, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)gout; (void)dwT; (void)scratch;
    abort();
}
#endif
