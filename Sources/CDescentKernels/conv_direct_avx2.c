// The AVX2 forms of the direct stride-1 tiles (conv_direct.c has the AVX-512 forms): stride-1
// convolutions that Winograd does not take run on them on CPUs without AVX-512, and so do the
// transposed convolution's stride phases (conv_transpose_direct.c) and with it strided
// convolutions (as its input gradient). 8 lanes a vector and 16 registers: a forward tile is 6 (or
// 4) output channels × 16 columns of a row (or 8 of each of two rows) on the 6×16 micro-kernel of
// the prepacked GEMM (sgemm_avx2.h), over a zero-padded copy of the image (the masks an in-place
// read needs would take registers the tile does not have), with weights of their own layout; a
// weight-gradient tile is 6 (or 4) input rows × 16 output channels of the same panels of gᵀ as the
// AVX-512 form, reading the image in place (with fewer than 8 input channels, (channel, tap) rows
// of a padded copy).
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "conv_direct.h"
#include "sgemm_avx2.h"
#include "simd.h"

// Rows of at most 8 outputs go two to a tile (its 16 columns' halves are rows y and y + 1), so
// that 8×8 images fill the tiles; wider rows go in runs of 16 columns.
static int two_rows(const dk_conv_geometry *g) { return g->ow <= 8; }

int dk_conv_direct_tiles_fill_avx2(const dk_conv_geometry *g) {
    return two_rows(g) ? g->ow >= 6 : 4 * g->ow >= 3 * ((g->ow + 15) / 16 * 16);
}

#ifdef DK_X86

int64_t dk_conv_direct_tile_weights_floats_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    return cout * cin * g->kh * g->kw;
}

// wp[((o·kh + i)·kw + j)·cin + c] = w[base + o·so + c·sc + i·si + j·sj]: the rows of A of
// dk_micro_6x16_taps_avx2, one per output channel, tap by tap.
void dk_conv_direct_pack_tile_weights_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                           int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp) {
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++)
                for (int64_t c = 0; c < cin; c++) *wp++ = w[base + o * so + c * sc + i * si + j * sj];
}

// The image zero-padded for the forward tiles: xp[c][r][col] = x[c][r − ph][col − pw] (0
// outside), `pad_rows` rows (oh + kh − 1, one more for an odd count of rows taken two at a time)
// of `pad_width` columns (the runs of a row and the taps' reach), planes `pad_stride` apart.
// Every half of a tile is then 8 plain loads of one row.
static int64_t pad_width(const dk_conv_geometry *g) { return (two_rows(g) ? 8 : (g->ow + 15) / 16 * 16) + g->kw - 1; }
static int64_t pad_rows(const dk_conv_geometry *g) { return (two_rows(g) ? (g->oh + 1) / 2 * 2 : g->oh) + g->kh - 1; }
static int64_t pad_stride(const dk_conv_geometry *g) { return dk_conv_plane_stride(pad_rows(g) * pad_width(g)); }

static void pad_planes(const dk_conv_geometry *g, int64_t cin, int64_t cs, const float *x, float *xp) {
    int64_t Hp = pad_rows(g), Wp = pad_width(g), ps = pad_stride(g);
    int64_t lo = g->pw > 0 ? g->pw : 0, hi = g->w + g->pw < Wp ? g->w + g->pw : Wp;
    for (int64_t c = 0; c < cin; c++)
        for (int64_t r = 0; r < Hp; r++) {
            float *d = xp + c * ps + r * Wp;
            int64_t y = r - g->ph;
            memset(d, 0, sizeof(float) * (size_t)Wp);
            if (y >= 0 && y < g->h && hi > lo) memcpy(d + lo, x + c * cs + y * g->w + lo - g->pw, sizeof(float) * (size_t)(hi - lo));
        }
}

// A tile is 6 output channels × 16 columns (of one row, or 8 of each of two rows), on the 6×16
// micro-kernel of the prepacked GEMM (sgemm_avx2.h) with the taps as stretches of its depth: A the
// weights, B the padded image's rows, one input channel apart, each tap's from its own offset.
DK_TARGET_AVX2 void dk_conv_direct_tiles_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout,
                                              const float *x, const float *wp, const float *bias, int accumulate,
                                              float *out) {
    int64_t taps = g->kh * g->kw, K = taps * cin, P = g->oh * g->ow, Wp = pad_width(g), ps = pad_stride(g);
    int two = two_rows(g);
    float *xp = NULL;
    int64_t *offset = NULL;
    if (K > 0) {
        if (!(xp = malloc(sizeof(float) * (size_t)(cin * ps))) || !(offset = malloc(sizeof(int64_t) * (size_t)taps))) abort();
        pad_planes(g, cin, cs, x, xp);
        for (int64_t t = 0; t < taps; t++) offset[t] = t / g->kw * Wp + t % g->kw;
    }
    for (int64_t o0 = 0, mr; o0 < cout; o0 += mr) {
        mr = dk_tile_rows_avx2(cout - o0);
        for (int64_t y = 0; y < g->oh; y += two ? 2 : 1)
            for (int64_t xs = 0; xs < g->ow; xs += NR2) {
                int64_t nv = g->ow - xs < NR2 ? g->ow - xs : NR2;
                dk_tile_halves h = two ? (dk_tile_halves){Wp, g->ow, g->ow, y + 1 < g->oh ? g->ow : 0} : dk_contiguous_halves(nv);
                float *c = out + o0 * P + y * g->ow + xs;
                const float *b = bias ? bias + o0 : NULL;
                if (xp) {
                    dk_micro_6x16_taps_avx2(taps, offset, cin, wp + o0 * K, K, mr, xp + y * Wp + xs, ps, b, c, P, h, accumulate);
                    continue;
                }
                // No taps (a phase of a kernel smaller than the stride): the bias only.
                for (int64_t r = 0; r < mr; r++) {
                    __m256 v = _mm256_set1_ps(b ? b[r] : 0.0f);
                    dk_store_halves(c + r * P, h, v, v, accumulate);
                }
            }
    }
    free(xp), free(offset);
}

// Rows r < mr (planes or taps apart, as `base` gives them) of dWᵀ, columns 0:nv, += Σ_(y in
// [y0, y1)) Σ_(k < n) base[r][y·ys + k] · b[y·bs + 32·k + 0:16]: `rows` (6 or 4, a constant where
// it is inlined) rows of accumulators, rows past mr repeating the last.
DK_TARGET_AVX2 static inline __attribute__((always_inline)) void grad_rows(int rows, const float *const base[6], int64_t ys,
        int64_t y0, int64_t y1, int64_t n, const float *b, int64_t bs, float *dwT, int64_t rowStride, int64_t mr, int64_t nv) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t y = y0; y < y1; y++) {
        const float *a[6];
        for (int r = 0; r < 6; r++) a[r] = base[r] + y * ys;
        const float *by = b + y * bs;
        for (int64_t k = 0; k < n; k++, by += 32) {
            __m256 b0 = _mm256_loadu_ps(by), b1 = _mm256_loadu_ps(by + 8), v;
#define ROW(r, l, h)                   \
    v = _mm256_broadcast_ss(a[r] + k); \
    l = _mm256_fmadd_ps(v, b0, l);     \
    h = _mm256_fmadd_ps(v, b1, h);
            ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
            if (rows > 4) { ROW(4, c40, c41) ROW(5, c50, c51) }
#undef ROW
        }
    }
    __m256 lo[6] = {c00, c10, c20, c30, c40, c50}, hi[6] = {c01, c11, c21, c31, c41, c51};
    for (int64_t r = 0; r < mr; r++) dk_store_halves(dwT + r * rowStride, dk_contiguous_halves(nv), lo[r], hi[r], 1);
}

// dWᵀ[((c0 + r)·kh + i)·kw + j][0:nv] += Σ_(y,x) x[c0 + r][y + i − ph][x + j − pw] · gpanel[(y·ow + x)·32 + 0:16]
// for r < mr (planes HW apart), over the (y, x) whose input lies inside the image.
DK_TARGET_AVX2 static inline __attribute__((always_inline)) void grad_tile(int rows, const dk_conv_geometry *g,
        const float *x, int64_t HW, int64_t i, int64_t j, const float *gpanel, float *dwT, int64_t rowStride, int64_t mr,
        int64_t nv) {
    int64_t W = g->w, ow = g->ow, dy = i - g->ph, dx = j - g->pw, yLo, yHi, xLo, xHi;
    dk_tap_window(g, i, j, &yLo, &yHi, &xLo, &xHi);
    const float *base[6];
    for (int r = 0; r < 6; r++) base[r] = x + (r < mr ? r : mr - 1) * HW + dy * W + dx + xLo;
    grad_rows(rows, base, W, yLo, yHi, xHi - xLo, gpanel + xLo * 32, ow * 32, dwT, rowStride, mr, nv);
}

// Tiles of at most 4 rows with 8 accumulators (dk_tile_rows_avx2 plans the rows).
DK_TARGET_AVX2 static void grad_tile_6x16(const dk_conv_geometry *g, const float *x, int64_t HW, int64_t i, int64_t j,
                                          const float *gpanel, float *dwT, int64_t rowStride, int64_t mr, int64_t nv) {
    if (mr > 4) grad_tile(6, g, x, HW, i, j, gpanel, dwT, rowStride, mr, nv);
    else grad_tile(4, g, x, HW, i, j, gpanel, dwT, rowStride, mr, nv);
}

DK_TARGET_AVX2 void dk_conv_direct_grad_tiles_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout,
                                                   const float *x, const float *panels, float *dwT) {
    int64_t P = g->oh * g->ow, kh = g->kh, kw = g->kw;
    for (int64_t o0 = 0; o0 < cout; o0 += 16) {
        // Channels o0..o0+15 are columns o0 % 32 + 0:16 of the panel of o0 / 32.
        const float *panel = panels + o0 / 32 * 32 * P + o0 % 32;
        int64_t nv = cout - o0 < 16 ? cout - o0 : 16;
        for (int64_t c0 = 0, mr; c0 < cin; c0 += mr) {
            mr = dk_tile_rows_avx2(cin - c0);
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++)
                    grad_tile_6x16(g, x + c0 * cs, cs, i, j, panel, dwT + ((c0 * kh + i) * kw + j) * cout + o0, kh * kw * cout,
                                   mr, nv);
        }
    }
}

// With fewer than 8 input channels (conv_direct.c's padded copy): the rows of a tile are (channel,
// tap) pairs k = (c·kh + i)·kw + j, row k at pixel (y, x) being xp[c][y + i][x + j] of the image
// zero-padded to (oh + kh − 1) × (ow + kw − 1) per channel, so that a tile is not one channel's
// row computed 4 or 6 times.
DK_TARGET_AVX2 void dk_conv_direct_grad_tiles_few_channels_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout,
                                                                const float *xp, const float *panels, float *dwT) {
    int64_t kh = g->kh, kw = g->kw, oh = g->oh, ow = g->ow, P = oh * ow, K = cin * kh * kw;
    int64_t Hp = oh + kh - 1, Wp = ow + kw - 1;
    for (int64_t o0 = 0; o0 < cout; o0 += 16) {
        const float *panel = panels + o0 / 32 * 32 * P + o0 % 32;
        int64_t nv = cout - o0 < 16 ? cout - o0 : 16;
        for (int64_t k0 = 0, mr; k0 < K; k0 += mr) {
            mr = dk_tile_rows_avx2(K - k0);
            const float *base[6];
            for (int r = 0; r < 6; r++) {
                int64_t k = k0 + (r < mr ? r : mr - 1), c = k / (kh * kw), i = k / kw % kh, j = k % kw;
                base[r] = xp + (c * Hp + i) * Wp + j;
            }
            if (mr > 4) grad_rows(6, base, Wp, 0, oh, ow, panel, ow * 32, dwT + k0 * cout + o0, cout, mr, nv);
            else grad_rows(4, base, Wp, 0, oh, ow, panel, ow * 32, dwT + k0 * cout + o0, cout, mr, nv);
        }
    }
}
#endif
