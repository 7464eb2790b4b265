// conv_direct_bf16.c's stride-1 convolution and its weight gradient on AMX tiles, where
// dk_amx_path(): the same numbers (operands rounded to bfloat16, exact products, float32 sums in
// another order; the forward's results plus bias rounded to bfloat16), with the tile operations
// of bgemm_amx.h (16 rows of 64 bytes; tdpbf16ps sums 16 words of pairs into 16×16 float32).
//
// Both lay the image out flat and zero-padded: Hp = oh + kh − 1 rows of Wp = ow + kw − 1
// columns, padded (r, c) = x[r − ph][c − pw], so that output pixel (y, x) is position
// q = y·Wp + x and reads position q + i·Wp + j under tap (i, j). A run of output positions then
// reads, under each tap, consecutive positions: one tile row. Positions with x ≥ ow (and past
// oh·Wp) are computed too: the forward drops them, the weight gradient gives them a zero
// upstream gradient.
// A convolution runs here where at least a fifth of the tiles' products count
// (dk_conv_amx_takes): channels fill few of a tile's 16 pairs (forward) or 32 channels (weight
// gradient) in the first layers (1 or 3 channels in). Measured on a Xeon with AMX (one thread,
// 3×3 on 32×32), against the float32 kernels that run the convolutions the tiles leave there
// (Kernels.convolutionDirectBFloat16): at a fill of 0.235 (16 → 16 or 8 → 32 channels) the
// tiles took 0.57 to 0.95 of their time, at 0.117 (8 → 16, 3 → 32, 4 → 64) 0.8 to 1.8.
// - Forward: planes of channel pairs (word q of plane p: channels 2p, 2p + 1 at position q),
//   16 planes × 16 positions per B tile (rows a plane apart); the weights, packed in their own
//   layout, 16 output channels × 16 pairs per A tile, for each tap.
//   Each 32 × 32 block of C (output channels × positions) sums taps × pair blocks.
// - Weight gradient: per channel a plane of bfloat16 values, 16 channels × 32 positions per A
//   tile; g as pairs of positions × 16 output channels per B tile. Each 32 × 32 block of
//   dWᵀ (channels × output channels, one tap) sums over all positions.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "conv_common.h"
#include "conv_direct.h"
#include "conv_direct_amx.h"

static int64_t up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }
static int64_t padded_w(const dk_conv_geometry *g) { return g->ow + g->kw - 1; }
static int64_t padded_h(const dk_conv_geometry *g) { return g->oh + g->kh - 1; }
// Output positions computed: oh rows of Wp, in whole blocks of 32.
static int64_t positions(const dk_conv_geometry *g) { return up(g->oh * padded_w(g), 32); }
// A plane's length: the padded image, and every position a block's last tap reads.
static int64_t plane_len(const dk_conv_geometry *g) {
    int64_t reach = positions(g) + (g->kh - 1) * padded_w(g) + g->kw + 31;
    int64_t image = padded_h(g) * padded_w(g);
    return up(reach > image ? reach : image, 32);
}

static int64_t pair_blocks(int64_t cin) { return up((cin + 1) / 2, 16) / 16; }
static int64_t weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    return up(cout, 32) * g->kh * g->kw * pair_blocks(cin) * 16;
}

// The share of the tiles' products that count: channel pairs (forward) or channels (weight
// gradient) of their blocks of 16 or 32, output channels of their blocks of 32, output pixels of
// the positions computed.
int dk_conv_amx_takes(const dk_conv_geometry *g, int64_t cin, int64_t cout, int weightGradient) {
    if (!dk_amx_path() || g->sh != 1 || g->sw != 1) return 0;  // stride 1 only
    double in = weightGradient ? (double)cin / (double)up(cin, 32) : (double)((cin + 1) / 2) / (double)(16 * pair_blocks(cin));
    double fill = in * (double)cout / (double)up(cout, 32) * (double)(g->oh * g->ow) / (double)positions(g);
    return fill >= 0.2;
}

int64_t dk_conv_amx_scratch_words(const dk_conv_geometry *g, int64_t cin) { return pair_blocks(cin) * 16 * plane_len(g) + 32 * 32 + 16; }

int64_t dk_conv_amx_weight_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    int64_t planes = up(cin, 32) * plane_len(g) / 2, pairs = up(cout, 32) * positions(g) / 2;
    return planes + pairs + up(cout, 32) * g->oh * g->ow + 32 * 32 + 16;
}

int64_t dk_conv_amx_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) { return weight_words(g, cin, cout); }

// wa[o16][tap][block][r][k] = the word of channels (2p, 2p + 1), p = 16·block + k, of output
// channel o = 16·o16 + r under tap (i, j) = (tap / kw, tap % kw), rounded (0 past cout and cin):
// an A tile (16 output channels × 16 pairs) per o16, tap and block of pairs.
void dk_conv_amx_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so,
                              int64_t sc, int64_t si, int64_t sj, uint32_t *wa) {
    int64_t taps = g->kh * g->kw, blocks = pair_blocks(cin);
    memset(wa, 0, (size_t)weight_words(g, cin, cout) * 4);
    for (int64_t o = 0; o < cout; o++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t p = 0; p < (cin + 1) / 2; p++) {
                int64_t at = base + o * so + 2 * p * sc + t / g->kw * si + t % g->kw * sj;
                uint32_t lo = dk_bf16_rounded_bits(w[at]) >> 16, hi = 2 * p + 1 < cin ? dk_bf16_rounded_bits(w[at + sc]) >> 16 : 0;
                wa[(((o / 16 * taps + t) * blocks + p / 16) * 16 + o % 16) * 16 + p % 16] = lo | hi << 16;
            }
}

#ifdef DK_AMX
static float *aligned(uint32_t *p) { return dk_align64((float *)p); }

// planes[p][r·Wp + c] = (x[2p][r − ph][c − pw], x[2p + 1][…]) rounded (0 outside the image and
// past cin), for 16·pair_blocks planes of plane_len words: each padded row written whole (lanes
// outside the image loaded as 0), the planes' tails and the planes past cin zeroed.
DK_TARGET_AMX static void pair_planes(const dk_conv_geometry *g, int64_t cin, const float *x, uint32_t *planes) {
    int64_t Hp = padded_h(g), Wp = padded_w(g), L = plane_len(g), hw = g->h * g->w, cp = (cin + 1) / 2;
    for (int64_t p = 0; p < cp; p++) {
        const float *a = x + 2 * p * hw, *b = a + hw;
        int second = 2 * p + 1 < cin;
        for (int64_t r = 0; r < Hp; r++) {
            int64_t y = r - g->ph;
            for (int64_t c = 0; c < Wp; c += 16) {
                // Lanes l with 0 ≤ c + l − pw < w, in a row of the image.
                int64_t lo = g->pw - c > 0 ? g->pw - c : 0, hi = g->w + g->pw - c < 16 ? g->w + g->pw - c : 16;
                __mmask16 m = y >= 0 && y < g->h && hi > lo ? (__mmask16)(dk_first_lanes(hi) & ~dk_first_lanes(lo)) : 0;
                int64_t at = y * g->w + c - g->pw;
                __m512 va = _mm512_maskz_loadu_ps(m, m ? a + at : a), vb = second ? _mm512_maskz_loadu_ps(m, m ? b + at : b) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(planes + p * L + r * Wp + c, dk_first_lanes(Wp - c), dk_bf16_pairs16(va, vb));
            }
        }
        memset(planes + p * L + Hp * Wp, 0, (size_t)(L - Hp * Wp) * 4);
    }
    memset(planes + cp * L, 0, (size_t)((pair_blocks(cin) * 16 - cp) * L) * 4);
}

// out[o][y·ow + x] = bfloat16(buf[r][l] + bias) for the rows r < rows (o = o0 + r) and the
// positions q0 + l (l < 32) that are output pixels (y, x) (x < ow, y < oh).
DK_TARGET_AMX static void store_block(const dk_conv_geometry *g, const float *buf, int64_t q0, int64_t rows, int64_t o0,
                                      const float *bias, float *out) {
    int64_t Wp = padded_w(g), P = g->oh * g->ow;
    for (int half = 0; half < 2; half++) {
        // The half's lanes in segments of one output row each: lanes [s, e) to pixel `at` + l − s.
        int64_t segStart[16], segAt[16];
        __mmask16 segMask[16];
        int n = 0;
        for (int64_t l = 0; l < 16;) {
            int64_t q = q0 + 16 * half + l, y = q / Wp, x = q % Wp;
            if (y >= g->oh) break;
            if (x >= g->ow) {
                l += Wp - x;
                continue;
            }
            int64_t e = l + (g->ow - x < 16 - l ? g->ow - x : 16 - l);
            segStart[n] = l, segAt[n] = y * g->ow + x, segMask[n] = (__mmask16)(dk_first_lanes(e) & ~dk_first_lanes(l));
            n++, l = e;
        }
        for (int64_t r = 0; r < rows; r++) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(buf + r * 32 + 16 * half), _mm512_set1_ps(bias ? bias[o0 + r] : 0.0f));
            v = dk_bf16_round16(v);
            for (int s = 0; s < n; s++) _mm512_mask_storeu_ps(out + (o0 + r) * P + segAt[s] - segStart[s], segMask[s], v);
        }
    }
}

DK_TARGET_AMX static void forward(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wa,
                                  const float *bias, float *out, uint32_t *scratch, int emu) {
    int64_t L = plane_len(g), Wp = padded_w(g), taps = g->kh * g->kw, blocks = pair_blocks(cin), Q = g->oh * Wp;
    uint32_t *planes = (uint32_t *)aligned(scratch);
    float *buf = (float *)(planes + blocks * 16 * L);
    pair_planes(g, cin, x, planes);
    int64_t bstride = 4 * L;
    for (int64_t o0 = 0; o0 < cout; o0 += 32)
        for (int64_t q0 = 0; q0 < Q; q0 += 32) {
            dk_tiles_zero(emu);
            for (int64_t t = 0; t < taps; t++) {
                const uint32_t *b = planes + q0 + t / g->kw * Wp + t % g->kw;
                const uint32_t *a0 = wa + ((o0 / 16 * taps + t) * blocks) * 256, *a1 = a0 + taps * blocks * 256;
                for (int64_t k = 0; k < blocks; k++, b += 16 * L) dk_tiles_step(emu, a0 + k * 256, a1 + k * 256, 64, b, b + 16, bstride);
            }
            dk_tiles_store(emu, buf, 32);
            store_block(g, buf, q0, cout - o0 < 32 ? cout - o0 : 32, o0, bias, out);
        }
}

void dk_conv_amx(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp, const float *bias,
                 float *out, uint32_t *scratch) {
    int emu = dk_amx_emulated();
    dk_amx_configure();
    forward(g, cin, cout, x, wp, bias, out, scratch, emu);
    dk_amx_release();
}

// gq[o16][s][j] = (g[16·o16 + j] at positions 2s, 2s + 1) rounded, 0 at positions that are not
// output pixels and past cout, from g's panels of 32 channels (panels[o0/32][y·ow + x][j]).
DK_TARGET_AMX static void position_pairs(const dk_conv_geometry *g, int64_t cout, const float *panels, uint32_t *gq) {
    int64_t Wp = padded_w(g), S = positions(g) / 2, P = g->oh * g->ow;
    for (int64_t t = 0; t < up(cout, 32) / 32; t++)
        for (int64_t s = 0; s < S; s++) {
            __m512 v[2][2];
            for (int k = 0; k < 2; k++) {
                int64_t q = 2 * s + k, y = q / Wp, x = q % Wp;
                const float *src = y < g->oh && x < g->ow ? panels + (t * P + y * g->ow + x) * 32 : NULL;
                for (int h = 0; h < 2; h++) v[k][h] = src ? _mm512_loadu_ps(src + 16 * h) : _mm512_setzero_ps();
            }
            for (int h = 0; h < 2; h++) _mm512_storeu_si512(gq + ((2 * t + h) * S + s) * 16, dk_bf16_pairs16(v[0][h], v[1][h]));
        }
}

DK_TARGET_AMX static void weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                      float *dwT, uint32_t *scratch, int emu) {
    int64_t L = plane_len(g), Wp = padded_w(g), S = positions(g) / 2, P = g->oh * g->ow, kh = g->kh, kw = g->kw;
    uint16_t *xp = (uint16_t *)aligned(scratch);
    uint32_t *gq = (uint32_t *)(xp + up(cin, 32) * L);
    float *panels = (float *)(gq + up(cout, 32) * S), *buf = panels + up(cout, 32) * P;
    // x's planes (plane_len values apart, up(cin, 32) of them), zero past the padded image.
    dk_conv_padded_bf16(g, cin, x, Wp, L, xp);
    int64_t image = padded_h(g) * Wp;
    for (int64_t c = 0; c < cin; c++) memset(xp + c * L + image, 0, (size_t)(L - image) * 2);
    memset(xp + cin * L, 0, (size_t)((up(cin, 32) - cin) * L) * 2);
    dk_conv_grad_panels(gout, P, cout, P, panels);
    position_pairs(g, cout, panels, gq);
    int64_t astride = 2 * L;
    for (int64_t c0 = 0; c0 < cin; c0 += 32)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                for (int64_t o0 = 0; o0 < cout; o0 += 32) {
                    dk_tiles_zero(emu);
                    const uint16_t *a0 = xp + c0 * L + i * Wp + j, *a1 = a0 + 16 * L;
                    const uint32_t *b0 = gq + o0 / 16 * S * 16, *b1 = b0 + S * 16;
                    for (int64_t s = 0; s < S; s += 16) dk_tiles_step(emu, a0 + 2 * s, a1 + 2 * s, astride, b0 + s * 16, b1 + s * 16, 64);
                    dk_tiles_store(emu, buf, 32);
                    __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
                    for (int64_t r = 0; r < 32 && c0 + r < cin; r++) {
                        float *row = dwT + ((c0 + r) * kh * kw + i * kw + j) * cout + o0;
                        _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(_mm512_loadu_ps(buf + r * 32), _mm512_maskz_loadu_ps(m0, row)));
                        _mm512_mask_storeu_ps(row + 16, m1,
                                              _mm512_add_ps(_mm512_loadu_ps(buf + r * 32 + 16), _mm512_maskz_loadu_ps(m1, row + 16)));
                    }
                }
}

void dk_conv_amx_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout, float *dwT,
                             uint32_t *scratch) {
    int emu = dk_amx_emulated();
    dk_amx_configure();
    weight_grad(g, cin, cout, x, gout, dwT, scratch, emu);
    dk_amx_release();
}
#else
void dk_conv_amx(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp, const float *bias,
                 float *out, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)wp; (void)bias; (void)out; (void)scratch;
    abort();
}
void dk_conv_amx_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout, float *dwT,
                             uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)gout; (void)dwT; (void)scratch;
    abort();
}
#endif
