// Direct stride-1 convolution on bfloat16 values with AVX512-BF16 dot products (autocast's
// convolutions where the CPU has them): conv_direct.c's AVX-512 tiles with the input channels
// taken two at a time. The image is first rewritten as planes of channel pairs, word (y, x) of
// plane p holding x[2p][y][x] and x[2p + 1][y][x] rounded to bfloat16, so that a run of 16
// output columns still loads as one vector (16 words) for each tap, and the weights of a tap as
// pairs of channels too: vdpbf16ps then adds both channels' products to each output. Products of
// bfloat16 values are exact in float32 and the sums float32, as PyTorch's bf16 convolutions.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "conv_direct.h"
#include "simd.h"

static int64_t pairs_of(int64_t cin) { return (cin + 1) / 2; }

int64_t dk_conv_direct_bf16_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    return (cout + 7) / 8 * 8 * pairs_of(cin) * g->kh * g->kw;
}

int64_t dk_conv_direct_bf16_scratch_words(const dk_conv_geometry *g, int64_t cin) {
    return pairs_of(cin) * dk_conv_plane_stride(g->h * g->w);
}

// The bits of x rounded to the nearest bfloat16 (ties to even; NaN kept, quiet).
static uint32_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

void dk_conv_direct_bf16_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, uint32_t *wp) {
    int64_t kh = g->kh, kw = g->kw, cp = pairs_of(cin), K = cp * kh * kw;
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                for (int64_t p = 0; p < cp; p++) {
                    uint32_t *d = wp + o0 * K + ((i * kw + j) * cp + p) * 8;
                    for (int64_t r = 0; r < 8; r++) {
                        int64_t at = base + (o0 + r) * so + 2 * p * sc + i * si + j * sj;
                        uint32_t lo = o0 + r < cout ? bf16_bits(w[at]) : 0;
                        uint32_t hi = o0 + r < cout && 2 * p + 1 < cin ? bf16_bits(w[at + sc]) : 0;
                        d[r] = lo | hi << 16;
                    }
                }
}

#ifdef DK_X86

// out[r][run] = bias[r] + Σ over (i, j, p) of the pair product of wp[(i·kw + j)·cp + p][r] and
// xw[p][y + i − ph][xs + j − pw + 0:16] (planes `cs` words apart), for r < mr and two runs.
DK_TARGET_BF16 static void tile_8x32(const dk_conv_geometry *g, int64_t cp, int64_t cs, const uint32_t *xw, dk_run r0,
                                     dk_run r1, const uint32_t *wp, const float *bias, float *out, int64_t outStride,
                                     int64_t mr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    int64_t H = g->h, W = g->w, kh = g->kh, kw = g->kw, iy0 = r0.y - g->ph, iy1 = r1.y - g->ph;
    for (int64_t i = 0; i < kh; i++) {
        int v0 = iy0 + i >= 0 && iy0 + i < H, v1 = r1.y >= 0 && iy1 + i >= 0 && iy1 + i < H;
        if (!v0 && !v1) continue;
        for (int64_t j = 0; j < kw; j++) {
            __mmask16 m0 = v0 ? dk_run_lanes(g, r0, j) : 0, m1 = v1 ? dk_run_lanes(g, r1, j) : 0;
            const uint32_t *bc = m0 ? xw + (iy0 + i) * W + r0.xs + j - g->pw : xw;
            const uint32_t *ec = m1 ? xw + (iy1 + i) * W + r1.xs + j - g->pw : xw;
            const uint32_t *wk = wp + (i * kw + j) * cp * 8;
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
    __mmask16 s0 = dk_first_lanes(g->ow - r0.xs), s1 = r1.y >= 0 ? dk_first_lanes(g->ow - r1.xs) : 0;
    float *o0 = out + r0.y * g->ow + r0.xs, *o1 = r1.y >= 0 ? out + r1.y * g->ow + r1.xs : out;
    for (int64_t r = 0; r < mr; r++) {
        __m512 add = _mm512_set1_ps(bias ? bias[r] : 0.0f);
        _mm512_mask_storeu_ps(o0 + r * outStride, s0, _mm512_add_ps(lo[r], add));
        _mm512_mask_storeu_ps(o1 + r * outStride, s1, _mm512_add_ps(hi[r], add));
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
    // Runs of 16 in row-major order, taken two at a time (as conv_direct.c's tiles).
    int64_t perRow = (g->ow + 15) / 16, runs = g->oh * perRow;
    for (int64_t o0 = 0; o0 < cout; o0 += 8)
        for (int64_t t = 0; t < runs; t += 2) {
            dk_run r0 = {t / perRow, t % perRow * 16};
            dk_run r1 = t + 1 < runs ? (dk_run){(t + 1) / perRow, (t + 1) % perRow * 16} : (dk_run){-1, 0};
            tile_8x32(g, cp, cs, scratch, r0, r1, wp + o0 * K, bias ? bias + o0 : NULL, out + o0 * P, P,
                      cout - o0 < 8 ? cout - o0 : 8);
        }
}

void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    if (!dk_bgemm_avx512bf16_available()) abort();
    direct_bf16(g, cin, cout, x, wp, bias, out, scratch);
}
#else
void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)wp; (void)bias; (void)out; (void)scratch;
    abort();
}
#endif
