// Direct float32 convolution with stride 1 and no dilation, one image at a time (AVX-512): the
// image is copied once into a zero-padded buffer, and each output row is formed like a GEMM tile
// whose "B" rows are read straight from that buffer: for input position k = (c, i, j) the 32
// outputs x0..x0+31 of row y need padded[c][y + i][x0 + j …], one contiguous run. No column
// matrix is built and nothing is packed. Register tile: 8 output channels × 32 columns.
// The weight gradient reads the same buffer as the rows of its "A" operand (dWᵀ = col·gᵀ).
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#ifdef DK_X86

#ifndef KD
#define KD 192
#endif

// out[o][0:32] (masked; += when accumulate) for 8 output channels: Σ_k w[k][o] · b[offs[k] + 0:32]
// over k in 0..<K, the weights of the 8 channels packed together for each k (w[k·8 + r]).
DK_TARGET_AVX512 static void tile_8x32(int64_t K, const float *w, const int64_t *offs, const float *b, float *out,
                                int64_t outStride, int64_t mr, __mmask16 m0, __mmask16 m1, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const float *row = b + offs[k];
        __m512 b0 = _mm512_maskz_loadu_ps(m0, row), b1 = _mm512_maskz_loadu_ps(m1, row + 16), x;
#define ROW(p, lo, hi)                 \
    x = _mm512_set1_ps(p);             \
    lo = _mm512_fmadd_ps(x, b0, lo);   \
    hi = _mm512_fmadd_ps(x, b1, hi);
        const float *wk = w + 8 * k;
        ROW(wk[0], c00, c01) ROW(wk[1], c10, c11) ROW(wk[2], c20, c21) ROW(wk[3], c30, c31)
        ROW(wk[4], c40, c41) ROW(wk[5], c50, c51) ROW(wk[6], c60, c61) ROW(wk[7], c70, c71)
#undef ROW
    }
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70};
    __m512 hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    for (int64_t r = 0; r < mr; r++) {
        float *o = out + r * outStride;
        if (accumulate) {
            lo[r] = _mm512_add_ps(lo[r], _mm512_maskz_loadu_ps(m0, o));
            hi[r] = _mm512_add_ps(hi[r], _mm512_maskz_loadu_ps(m1, o + 16));
        }
        _mm512_mask_storeu_ps(o, m0, lo[r]);
        _mm512_mask_storeu_ps(o + 16, m1, hi[r]);
    }
}

// Scratch: the offsets of the K input positions (int64), the padded image, the padded weights.
// Scratch: the offsets of the K input positions (int64), the padded image, then the padded
// weights (forward) or the packed gradient panels (weight gradient), whichever is larger.
int64_t dk_conv2d_direct_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    int64_t K = cin * g->kh * g->kw, W8 = (cout + 7) / 8 * 8 * K, G32 = (cout + 31) / 32 * 32 * g->oh * g->ow;
    return 2 * K + cin * (g->oh + g->kh - 1) * (g->ow + g->kw - 1) + (W8 > G32 ? W8 : G32);
}

// Fills the padded image padded[c][py][px] = x[c][py − ph][px − pw] (0 outside), PH = oh + kh − 1
// rows of PW = ow + kw − 1, and offs[k] = the start of input position k = (c, i, j) in it.
static void pad_image(const dk_conv_geometry *g, int64_t cin, const float *x, float *padded, int64_t *offs) {
    int64_t H = g->h, W = g->w, PH = g->oh + g->kh - 1, PW = g->ow + g->kw - 1;
    for (int64_t c = 0; c < cin; c++)
        for (int64_t py = 0; py < PH; py++) {
            float *d = padded + (c * PH + py) * PW;
            int64_t iy = py - g->ph;
            memset(d, 0, sizeof(float) * (size_t)PW);
            if (iy < 0 || iy >= H) continue;
            int64_t x0 = g->pw, lo = x0 > 0 ? x0 : 0, hi = W + x0 < PW ? W + x0 : PW;  // px range holding x
            if (hi > lo) memcpy(d + lo, x + (c * H + iy) * W + (lo - x0), sizeof(float) * (size_t)(hi - lo));
        }
    for (int64_t c = 0, k = 0; c < cin; c++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) offs[k++] = (c * PH + i) * PW + j;
}

DK_TARGET_AVX512 void dk_conv2d_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *w,
                                    float *out, float *scratch) {
    int64_t oh = g->oh, ow = g->ow, PW = ow + g->kw - 1;
    int64_t K = cin * g->kh * g->kw, O8 = (cout + 7) / 8 * 8;
    int64_t *offs = (int64_t *)scratch;  // scratch is 64-byte aligned
    float *padded = scratch + 2 * K, *wp = padded + cin * (oh + g->kh - 1) * PW;
    pad_image(g, cin, x, padded, offs);
    // Weights packed per tile of 8 output channels: wp[tile][k][r] = w[tile·8 + r][k], 0 past cout.
    for (int64_t o0 = 0; o0 < O8; o0 += 8)
        for (int64_t k = 0; k < K; k++)
            for (int64_t r = 0; r < 8; r++) wp[o0 * K + k * 8 + r] = o0 + r < cout ? w[(o0 + r) * K + k] : 0.0f;
    for (int64_t y = 0; y < oh; y++)
        for (int64_t x0 = 0; x0 < ow; x0 += 32) {
            __mmask16 m0 = dk_first_lanes(ow - x0), m1 = dk_first_lanes(ow - x0 - 16);
            const float *b = padded + y * PW + x0;
            // Chunks of KD input positions: their rows of the image (KD × 128 bytes) stay in L1
            // while every tile of output channels uses them.
            for (int64_t k0 = 0; k0 < K; k0 += KD)
                for (int64_t o0 = 0; o0 < cout; o0 += 8)
                    tile_8x32(K - k0 < KD ? K - k0 : KD, wp + o0 * K + k0 * 8, offs + k0, b, out + (o0 * oh + y) * ow + x0,
                              oh * ow, cout - o0 < 8 ? cout - o0 : 8, m0, m1, k0 > 0);
        }
}

// dWᵀ[k0 + r][o0 + 0:32] += Σ_(y,x) padded[offs[r] + y·PW + x] · gpanel[(y·ow + x)·32 + 0:32] for r < mr.
DK_TARGET_AVX512 static void grad_tile_8x32(const float *padded, const int64_t *offs, int64_t oh, int64_t ow, int64_t PW,
                                     const float *gpanel, float *dwT, int64_t ldd, int64_t mr, __mmask16 m0, __mmask16 m1) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    const float *b = gpanel;
    for (int64_t y = 0; y < oh; y++) {
        const float *a[8];
        for (int r = 0; r < 8; r++) a[r] = padded + offs[r < mr ? r : mr - 1] + y * PW;
        for (int64_t x = 0; x < ow; x++, b += 32) {
            __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), v;
#define ROW(r, lo, hi)                 \
    v = _mm512_set1_ps(a[r][x]);       \
    lo = _mm512_fmadd_ps(v, b0, lo);   \
    hi = _mm512_fmadd_ps(v, b1, hi);
            ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
            ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
        }
    }
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70};
    __m512 hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    for (int64_t r = 0; r < mr; r++) {
        float *row = dwT + r * ldd;
        _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(lo[r], _mm512_maskz_loadu_ps(m0, row)));
        _mm512_mask_storeu_ps(row + 16, m1, _mm512_add_ps(hi[r], _mm512_maskz_loadu_ps(m1, row + 16)));
    }
}

DK_TARGET_AVX512 void dk_conv2d_direct_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                                const float *gout, float *dwT, float *scratch) {
    int64_t oh = g->oh, ow = g->ow, P = oh * ow, PW = ow + g->kw - 1, K = cin * g->kh * g->kw;
    int64_t *offs = (int64_t *)scratch;
    float *padded = scratch + 2 * K, *panels = padded + cin * (oh + g->kh - 1) * PW;
    pad_image(g, cin, x, padded, offs);
    // gᵀ in panels of 32 output channels: panels[o0 / 32][p][j] = g[o0 + j][p] (0 past cout).
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        float *d = panels + o0 * P;
        for (int64_t p = 0; p < P; p++)
            for (int64_t j = 0; j < 32; j++) d[p * 32 + j] = o0 + j < cout ? gout[(o0 + j) * P + p] : 0.0f;
    }
    for (int64_t o0 = 0; o0 < cout; o0 += 32) {
        __mmask16 m0 = dk_first_lanes(cout - o0), m1 = dk_first_lanes(cout - o0 - 16);
        for (int64_t k0 = 0; k0 < K; k0 += 8)
            grad_tile_8x32(padded, offs + k0, oh, ow, PW, panels + o0 * P, dwT + k0 * cout + o0, cout,
                           K - k0 < 8 ? K - k0 : 8, m0, m1);
    }
}
#else
int64_t dk_conv2d_direct_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    (void)g; (void)cin; (void)cout;
    abort();
}
void dk_conv2d_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *w, float *out,
                          float *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)w; (void)out; (void)scratch;
    abort();
}
void dk_conv2d_direct_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                      float *dwT, float *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)gout; (void)dwT; (void)scratch;
    abort();
}
#endif
