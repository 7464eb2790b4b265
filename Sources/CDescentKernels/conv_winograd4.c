// Autocast's 3×3 stride-1 convolutions by Winograd's minimal filtering F(4×4, 3×3) (Lavin &
// Gray, 2015) in float32 on bfloat16 operands, where dk_conv_direct_bf16 runs it
// (dk_conv_wino4_applies): each 4×4 block of outputs ("tile") is
//     Y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A
// with d the 6×6 input patch the tile reads: 36 multiplications per tile and channel pair where
// the direct kernel takes 144, so 4× fewer at half the rate of the bf16 dot products (a Zen 4
// core runs one 16-lane vdpbf16ps or one 16-lane FMA a cycle). The 36 products of the
// transformed domain, summed over input channels, are 36 matrix products (dk_winograd_products).
//     Bᵀ = | 4  0 −5  0  1  0 |    G = |  ¼     0    0 |    Aᵀ = | 1  1  1  1  1  0 |
//          | 0 −4 −4  1  1  0 |        | −⅙    −⅙   −⅙ |         | 0  1 −1  2 −2  0 |
//          | 0  4 −4 −1  1  0 |        | −⅙     ⅙   −⅙ |         | 0  1  1  4  4  0 |
//          | 0 −2 −1  2  1  0 |        | 1/24  1/12  ⅙ |         | 0  1 −1  8 −8  1 |
//          | 0  2 −1 −2  1  0 |        | 1/24 −1/12  ⅙ |
//          | 0  4  0 −5  0  1 |        |  0     0    1 |
// The numbers are autocast's: x is rounded to bfloat16 as the padded copy reads it (as the bf16
// direct kernel's conversion does), w as the packing reads it, and the result (plus the bias) as
// it is stored. Between those roundings the arithmetic is float32, as the dot products' sums are;
// the transforms add float32 rounding of the order of 10⁻⁶ of the terms' magnitudes, three
// orders below the bfloat16 rounding of the result (BFloat16WinogradTests bounds it).
// Tiles sit in the lanes of a vector: 16 of a row of tiles, or 8 of each of two rows when rows
// have at most 8 tiles. The image is first copied, rounded and zero-padded, so that every patch
// row loads whole (no masks), and its stride-4 columns come out of two permutes.
#include "descent_kernels.h"

#include "conv_common.h"
#include "conv_winograd.h"
#include "conv_winograd4.h"
#include "simd.h"

static int64_t up16(int64_t n) { return (n + 15) / 16 * 16; }

wino4_layout dk_wino4_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino4_layout l;
    l.th = (g->oh + 3) / 4, l.tw = (g->ow + 3) / 4;
    l.twp = l.tw <= 8 ? 8 : up16(l.tw);
    int64_t step = l.twp == 8 ? 2 : 1;
    l.thp = (l.th + step - 1) / step * step;
    // Patch rows reach 4·thp + 2 rows; a vector's second load reads 4 columns past its 32.
    l.Hp = 4 * l.thp + 2, l.Wp = 4 * l.twp + 4, l.plane = dk_conv_plane_stride(l.Hp * l.Wp);
    // Chunks of 32 tiles (two vectors of the product tiles) where rows allow.
    l.rows = 32 / l.twp < step ? step : 32 / l.twp;
    if (l.rows > l.thp) l.rows = l.thp;
    l.vs = cin * l.rows * l.twp + 16, l.ms = (cout + 7) / 8 * 8 * l.rows * l.twp + 16;
    return l;
}

int dk_conv_wino4_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1) return 0;
    // 16 channels leave the transforms too large a share: 32 images of 32×32 took 1.35 times as
    // long forward and backward (16 → 16, one Zen 4 core) as on the dot-product tiles, 32 → 32
    // about as long, 64 → 64 0.72 times.
    if (g->ph < 0 || g->ph > 2 || g->pw < 0 || g->pw > 2 || cin < 32 || cout < 32 || cout % 16) return 0;
    int64_t tw = (g->ow + 3) / 4, twp = tw <= 8 ? 8 : up16(tw);
    // Rows of tiles that fill at least 4/5 of their vectors (a row of 28 or 32 outputs: 7 or 8
    // tiles of 8; 16×16 images would leave half of every vector empty).
    return 4 * twp <= 5 * tw && g->oh >= 4;
}

int64_t dk_conv_wino4_packed_floats(int64_t cin, int64_t cout) { return 36 * (cout + 7) / 8 * 8 * cin; }

int64_t dk_conv_wino4_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino4_layout l = dk_wino4_layout(g, cin, cout);
    // + the padded copy's last overrun, and the alignment of the three parts to 64 bytes
    return cin * l.plane + 16 + 36 * (l.vs + l.ms) + 48;
}

#ifdef DK_X86
// u = G k Gᵀ (6×6) for 16 kernels k (3×3) in the lanes.
DK_TARGET_AVX512 static void weight_transform(const __m512 k[3][3], __m512 u[6][6]) {
    const __m512 quarter = _mm512_set1_ps(0.25f), sixth = _mm512_set1_ps(1.0f / 6.0f), twelfth = _mm512_set1_ps(1.0f / 12.0f),
                 t24 = _mm512_set1_ps(1.0f / 24.0f);
    __m512 t[6][3];
    for (int j = 0; j < 3; j++) {  // t = G·k, column j
        __m512 a = _mm512_add_ps(k[0][j], k[2][j]);
        t[0][j] = _mm512_mul_ps(quarter, k[0][j]);
        t[1][j] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_add_ps(a, k[1][j]));
        t[2][j] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_sub_ps(a, k[1][j]));
        __m512 e = _mm512_fmadd_ps(t24, k[0][j], _mm512_mul_ps(sixth, k[2][j]));
        t[3][j] = _mm512_fmadd_ps(twelfth, k[1][j], e);
        t[4][j] = _mm512_fnmadd_ps(twelfth, k[1][j], e);
        t[5][j] = k[2][j];
    }
    for (int i = 0; i < 6; i++) {  // u = t·Gᵀ, row i
        __m512 a = _mm512_add_ps(t[i][0], t[i][2]);
        u[i][0] = _mm512_mul_ps(quarter, t[i][0]);
        u[i][1] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_add_ps(a, t[i][1]));
        u[i][2] = _mm512_mul_ps(_mm512_set1_ps(-1.0f / 6.0f), _mm512_sub_ps(a, t[i][1]));
        __m512 e = _mm512_fmadd_ps(t24, t[i][0], _mm512_mul_ps(sixth, t[i][2]));
        u[i][3] = _mm512_fmadd_ps(twelfth, t[i][1], e);
        u[i][4] = _mm512_fnmadd_ps(twelfth, t[i][1], e);
        u[i][5] = t[i][2];
    }
}

// up[ξ][o / 8][c][o % 8] = (G w Gᵀ)[ξ] of w[o][c] rounded to bfloat16 (as the bf16 direct kernel's
// packing rounds), 16 output channels at a time, gathered o·so apart (32-bit offsets: a kernel
// with larger strides is read a value at a time).
DK_TARGET_BF16 void dk_conv_wino4_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc,
                                        int64_t si, int64_t sj, float *up) {
    int64_t coutp = (cout + 7) / 8 * 8;
    int gathers = so > -(1 << 26) && so < (1 << 26);
    const __m512i offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(gathers ? (int)so : 0));
    for (int64_t o0 = 0; o0 < cout; o0 += 16)
        for (int64_t c = 0; c < cin; c++) {
            __m512 k[3][3], u[6][6];
            const float *at = w + base + o0 * so + c * sc;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    if (gathers) {
                        k[i][j] = _mm512_i32gather_ps(offsets, at + i * si + j * sj, 4);
                    } else {
                        float taps[16];
                        for (int64_t r = 0; r < 16; r++) taps[r] = at[r * so + i * si + j * sj];
                        k[i][j] = _mm512_loadu_ps(taps);
                    }
                    k[i][j] = dk_bf16_round16(k[i][j]);
                }
            weight_transform(k, u);
            float *d = up + o0 * cin + c * 8;
            for (int xi = 0; xi < 36; xi++) {
                __m512 v = u[xi / 6][xi % 6];
                _mm256_storeu_ps(d + xi * coutp * cin, _mm512_castps512_ps256(v));
                _mm256_storeu_ps(d + xi * coutp * cin + 8 * cin, _mm512_extractf32x8_ps(v, 1));
            }
        }
}

// xp[c][r][col] = x[c][r − ph][col − pw] rounded to bfloat16, 0 outside the image. Whole stores,
// in order: a row's last one runs into the next row, which its own stores then overwrite (the
// scratch has room for the last one's overrun).
DK_TARGET_BF16 void dk_wino4_padded_copy(const dk_conv_geometry *g, wino4_layout l, int64_t cin, const float *x, float *xp) {
    for (int64_t c = 0; c < cin; c++)
        for (int64_t r = 0; r < l.Hp; r++) {
            float *d = xp + c * l.plane + r * l.Wp;
            int64_t y = r - g->ph;
            const float *s = y >= 0 && y < g->h ? x + (c * g->h + y) * g->w : NULL;
            for (int64_t col = 0; col < l.Wp; col += 16) {
                int64_t lo = g->pw - col > 0 ? g->pw - col : 0, hi = g->w + g->pw - col < 16 ? g->w + g->pw - col : 16;
                __mmask16 m = s && hi > lo ? (__mmask16)(dk_first_lanes(hi) & ~dk_first_lanes(lo)) : 0;
                __m512 v = dk_bf16_read16(_mm512_maskz_loadu_ps(m, s ? s + col - g->pw : x));
                _mm512_storeu_ps(d + col, v);
            }
        }
}

// Columns j of 16 patch rows: lanes 0–7 from the row at a (its tiles 4 columns apart), lanes
// 8–15 from the row at b.
DK_TARGET_AVX512 static inline void patch_columns(const float *a, const float *b, __m512 d[6]) {
    const __m512i i0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    const __m512i i1 = _mm512_add_epi32(i0, _mm512_set1_epi32(1)), i2 = _mm512_add_epi32(i0, _mm512_set1_epi32(2));
    const __m512i i3 = _mm512_add_epi32(i0, _mm512_set1_epi32(3));
    __m512 a0 = _mm512_loadu_ps(a), a1 = _mm512_loadu_ps(a + 16), a2 = _mm512_loadu_ps(a + 4), a3 = _mm512_loadu_ps(a + 20);
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + 4), b3 = _mm512_loadu_ps(b + 20);
    const __mmask16 high = 0xFF00;
    d[0] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a0, i0, a1), _mm512_permutex2var_ps(b0, i0, b1));
    d[1] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a0, i1, a1), _mm512_permutex2var_ps(b0, i1, b1));
    d[2] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a0, i2, a1), _mm512_permutex2var_ps(b0, i2, b1));
    d[3] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a0, i3, a1), _mm512_permutex2var_ps(b0, i3, b1));
    d[4] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a2, i0, a3), _mm512_permutex2var_ps(b2, i0, b3));
    d[5] = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(a2, i1, a3), _mm512_permutex2var_ps(b2, i1, b3));
}

// t = Bᵀ·d along one axis: t[k] = Σ_j Bᵀ[k][j] d[j].
DK_TARGET_AVX512 static inline void input_rows(const __m512 d[6], __m512 *t0, __m512 *t1, __m512 *t2, __m512 *t3, __m512 *t4,
                                               __m512 *t5) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]), b = _mm512_fnmadd_ps(four, d[1], d[3]);  // d4 − 4d2, d3 − 4d1
    __m512 c = _mm512_sub_ps(d[4], d[2]), e = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    *t0 = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    *t1 = _mm512_add_ps(a, b), *t2 = _mm512_sub_ps(a, b);
    *t3 = _mm512_add_ps(c, e), *t4 = _mm512_sub_ps(c, e);
    *t5 = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

// V[ξ][c][t] = (Bᵀ d B)[ξ] for the tiles of rows th0..<th0 + rows (t = (row − th0)·twp + column).
DK_TARGET_AVX512 void dk_wino4_input_transform(wino4_layout l, int64_t cin, const float *xp, int64_t th0, int64_t rows, float *V) {
    int64_t T = rows * l.twp, paired = l.twp == 8;
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
        int64_t r = th0 + t0 / l.twp, col = 4 * (t0 % l.twp);
        const float *pa = xp + 4 * r * l.Wp + col, *pb = paired ? pa + 4 * l.Wp : pa + 32;
        float *v = V + t0;
        for (int64_t c = 0; c < cin; c++, pa += l.plane, pb += l.plane, v += T) {
            __m512 t[6][6];
            for (int i = 0; i < 6; i++) {  // d·B, row i of the patches
                __m512 d[6];
                patch_columns(pa + i * l.Wp, pb + i * l.Wp, d);
                input_rows(d, &t[i][0], &t[i][1], &t[i][2], &t[i][3], &t[i][4], &t[i][5]);
            }
            for (int k = 0; k < 6; k++) {  // Bᵀ·(d·B), column k
                __m512 col6[6] = {t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k]}, s[6];
                input_rows(col6, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5]);
                for (int i = 0; i < 6; i++) _mm512_storeu_ps(v + (6 * i + k) * l.vs, s[i]);
            }
        }
    }
}

// y[a] = Σ_j Aᵀ[a][j] m[j].
DK_TARGET_AVX512 static inline void output_rows(const __m512 m[6], __m512 y[4]) {
    __m512 p = _mm512_add_ps(m[1], m[2]), q = _mm512_sub_ps(m[1], m[2]);
    __m512 r = _mm512_add_ps(m[3], m[4]), s = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], p), r);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), s, q);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), r, p);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), s, q), m[5]);
}

// out[o][4·th + a][4·tw + b] = bias[o] + (Aᵀ M A)[a][b] for the chunk's tiles inside the output,
// rounded to bfloat16. The 4 columns b of a vector's 16 tiles interleave into 64 outputs: of one
// row, or (paired) 32 of each of two rows of tiles.
DK_TARGET_AVX512 static void output_transform(const dk_conv_geometry *g, wino4_layout l, int64_t cout, const float *M, int64_t th0,
                                              int64_t rows, const float *bias, float *out) {
    const __m512i pairs_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i pairs_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i quads_lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), quads_hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    int64_t T = rows * l.twp, oh = g->oh, ow = g->ow, paired = l.twp == 8;
    for (int64_t o = 0; o < cout; o++) {
        __m512 add = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int64_t t0 = 0; t0 < T; t0 += 16) {
            const float *m = M + o * T + t0;
            __m512 s[6][4];
            for (int i = 0; i < 6; i++) {  // m·A, row i
                __m512 row[6];
                for (int j = 0; j < 6; j++) row[j] = _mm512_loadu_ps(m + (6 * i + j) * l.ms);
                output_rows(row, s[i]);
            }
            int64_t y0 = 4 * (th0 + t0 / l.twp), x0 = 4 * (t0 % l.twp);
            for (int b = 0; b < 4; b++) {  // Aᵀ·(m·A), column b: s[a][b] = y[a][b]
                __m512 col6[6] = {s[0][b], s[1][b], s[2][b], s[3][b], s[4][b], s[5][b]}, y[4];
                output_rows(col6, y);
                for (int a = 0; a < 4; a++) s[a][b] = y[a];
            }
            for (int a = 0; a < 4; a++) {
                __m512 y[4];
                for (int b = 0; b < 4; b++) y[b] = dk_bf16_round16(_mm512_add_ps(s[a][b], add));
                __m512 p0 = _mm512_permutex2var_ps(y[0], pairs_lo, y[1]), p1 = _mm512_permutex2var_ps(y[0], pairs_hi, y[1]);
                __m512 q0 = _mm512_permutex2var_ps(y[2], pairs_lo, y[3]), q1 = _mm512_permutex2var_ps(y[2], pairs_hi, y[3]);
                __m512 e[4] = {
                    _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(p0), quads_lo, _mm512_castps_pd(q0))),
                    _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(p0), quads_hi, _mm512_castps_pd(q0))),
                    _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(p1), quads_lo, _mm512_castps_pd(q1))),
                    _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(p1), quads_hi, _mm512_castps_pd(q1))),
                };
                for (int h = 0; h < 4; h++) {
                    // Vector h: 16 outputs of row y0 + a from column x0 + 16h, or (paired, h ≥ 2)
                    // of row y0 + 4 + a from column 16(h − 2).
                    int64_t y = paired && h >= 2 ? y0 + 4 + a : y0 + a, x = paired && h >= 2 ? x0 + 16 * (h - 2) : x0 + 16 * h;
                    // (a masked store costs a Zen 4 core several cycles: only at a row's end)
                    if (y >= oh || x >= ow) continue;
                    if (x + 16 <= ow) _mm512_storeu_ps(out + (o * oh + y) * ow + x, e[h]);
                    else _mm512_mask_storeu_ps(out + (o * oh + y) * ow + x, dk_first_lanes(ow - x), e[h]);
                }
            }
        }
    }
}

DK_TARGET_BF16 void dk_conv_wino4(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up,
                                  const float *bias, float *out, float *scratch) {
    wino4_layout l = dk_wino4_layout(g, cin, cout);
    float *xp = dk_align64(scratch), *V = dk_align64(xp + cin * l.plane + 16), *M = dk_align64(V + 36 * l.vs);
    dk_wino4_padded_copy(g, l, cin, x, xp);
    for (int64_t th0 = 0; th0 < l.thp; th0 += l.rows) {
        int64_t rows = l.thp - th0 < l.rows ? l.thp - th0 : l.rows, T = rows * l.twp;
        dk_wino4_input_transform(l, cin, xp, th0, rows, V);
        dk_winograd_products(36, cin, cout, T, up, V, l.vs, M, l.ms);
        output_transform(g, l, cout, M, th0, rows, bias, out);
    }
}
#else
#include <stdlib.h>
void dk_conv_wino4_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc, int64_t si,
                                int64_t sj, float *up) {
    (void)cin; (void)cout; (void)w; (void)base; (void)so; (void)sc; (void)si; (void)sj; (void)up;
    abort();
}
void dk_conv_wino4(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up, const float *bias,
                   float *out, float *scratch) {
    (void)g; (void)cin; (void)cout; (void)x; (void)up; (void)bias; (void)out; (void)scratch;
    abort();
}
#endif
