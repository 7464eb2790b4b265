// 3×3 convolution with stride 1 by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2015),
// float32, one image at a time (AVX-512): each 2×2 block of outputs ("tile") is
//     Y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A
// where d is the 4×4 input patch the tile reads and w the 3×3 kernel. The 16 products of the
// transformed domain, summed over input channels, are 16 matrix products
//     M[ξ] (cout × tiles) = U[ξ] (cout × cin) · V[ξ] (cin × tiles),    ξ = 0..<16,
// which take 16 multiplications per tile and channel pair instead of 36: 2.25× fewer.
//     Bᵀ = | 1  0 −1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
//          | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 −1 −1 |
//          | 0 −1  1  0 |        | ½   −½    ½  |
//          | 0  1  0 −1 |        | 0    0    1  |
// The transforms hold only ±1 and ½ (exact in float32), so for finite values the result differs
// from a direct sum by rounding alone. An infinite input turns some of the outputs whose sums
// include it into NaN instead of ±∞ (∞ − ∞ in the transforms; seen: 5 of its 9), as in other
// Winograd convolutions (cuDNN's, oneDNN's).
// Sixteen tiles along a row (or eight of each of two rows, for rows of at most 8 tiles) are one
// vector: the input transform splits rows into even and odd columns by permutes (loads under
// masks zero the padding), the output transform interleaves them back; tiles are processed in
// chunks of rows so that V and M stay in L2.
#include "descent_kernels.h"
#include <string.h>

#include "conv_winograd.h"
#include "simd.h"

// Tiles along a row, rounded up to whole vectors of 16, or to 8 when a row has at most 8 (a
// vector then holds two rows of tiles).
static int64_t padded_tiles_per_row(const dk_conv_geometry *g) {
    int64_t tw = (g->ow + 1) / 2;
    return tw <= 8 ? 8 : (tw + 15) / 16 * 16;
}

int dk_conv_winograd_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    int64_t tw = (g->ow + 1) / 2, twp = padded_tiles_per_row(g);
    // Few channels leave the products too short to pay for the transforms; rows of tiles much
    // shorter than a vector waste most of it.
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->ph >= 0 && g->ph <= 2
           && g->pw >= 0 && g->pw <= 2 && cin >= 16 && cout >= 16 && 4 * twp <= 5 * tw;
}

int64_t dk_winograd_tile_rows(int64_t cout) {
    return (cout + 7) / 8 * 8;
}

int64_t dk_conv_winograd_packed_floats(int64_t cin, int64_t cout) {
    return 16 * dk_winograd_tile_rows(cout) * cin;
}

#ifdef DK_X86
// U for 8 output channels o0..o0+7 (zero past cout) and one input channel at a time, in vectors
// of the 8: the kernel taps are gathered o·so apart, and each of the 16 values is one store
// (AVX2 and AVX-512 CPUs).
DK_TARGET_AVX2 static void pack_weights_x86(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so,
                                            int64_t sc, int64_t si, int64_t sj, float *up) {
    int64_t coutp = dk_winograd_tile_rows(cout);
    const __m256 half = _mm256_set1_ps(0.5f);
    for (int64_t o0 = 0; o0 < coutp; o0 += 8) {
        // The lanes of channels below cout (a gather reads only those).
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cout - o0)), lane));
        __m256i offset = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)so));
        const float *wo = w + base + o0 * so;
        for (int64_t c = 0; c < cin; c++) {
            __m256 k[3][3], t[4][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    k[i][j] = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), wo + c * sc + i * si + j * sj, offset, valid, 4);
            for (int j = 0; j < 3; j++) {  // t = G·k
                __m256 sum = _mm256_add_ps(k[0][j], k[2][j]);
                t[0][j] = k[0][j];
                t[1][j] = _mm256_mul_ps(half, _mm256_add_ps(sum, k[1][j]));
                t[2][j] = _mm256_mul_ps(half, _mm256_sub_ps(sum, k[1][j]));
                t[3][j] = k[2][j];
            }
            float *d = up + o0 * cin + c * 8;
            for (int i = 0; i < 4; i++) {  // u = t·Gᵀ, row i: ξ = 4i + column
                __m256 sum = _mm256_add_ps(t[i][0], t[i][2]);
                _mm256_storeu_ps(d + (4 * i + 0) * coutp * cin, t[i][0]);
                _mm256_storeu_ps(d + (4 * i + 1) * coutp * cin, _mm256_mul_ps(half, _mm256_add_ps(sum, t[i][1])));
                _mm256_storeu_ps(d + (4 * i + 2) * coutp * cin, _mm256_mul_ps(half, _mm256_sub_ps(sum, t[i][1])));
                _mm256_storeu_ps(d + (4 * i + 3) * coutp * cin, t[i][2]);
            }
        }
    }
}
#endif

void dk_conv_winograd_pack_weights(int64_t cin, int64_t cout, const float *w, int64_t base, int64_t so, int64_t sc,
                                   int64_t si, int64_t sj, float *up) {
#ifdef DK_X86
    // (offsets of the 8 gathered channels are 32-bit)
    if (dk_cpu_has_avx2() && so > -(1 << 20) && so < (1 << 20)) {
        pack_weights_x86(cin, cout, w, base, so, sc, si, sj, up);
        return;
    }
#endif
    int64_t coutp = dk_winograd_tile_rows(cout);
    for (int64_t o = 0; o < coutp; o++)
        for (int64_t c = 0; c < cin; c++) {
            float k[3][3], t[4][3], u[4][4];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) k[i][j] = o < cout ? w[base + o * so + c * sc + i * si + j * sj] : 0.0f;
            for (int j = 0; j < 3; j++) {  // t = G·k
                t[0][j] = k[0][j];
                t[1][j] = 0.5f * (k[0][j] + k[1][j] + k[2][j]);
                t[2][j] = 0.5f * (k[0][j] - k[1][j] + k[2][j]);
                t[3][j] = k[2][j];
            }
            for (int i = 0; i < 4; i++) {  // u = t·Gᵀ
                u[i][0] = t[i][0];
                u[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[i][3] = t[i][2];
            }
            // up[ξ][o / 8][c][o % 8]: the 8 output channels of a GEMM tile side by side.
            for (int xi = 0; xi < 16; xi++) up[((xi * coutp + o / 8 * 8) * cin + c * 8) + o % 8] = u[xi / 4][xi % 4];
        }
}

wino_layout dk_winograd_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino_layout l;
    l.th = (g->oh + 1) / 2, l.twp = padded_tiles_per_row(g);
    int64_t widest = cin > cout ? cin : cout, step = l.twp == 8 ? 2 : 1;  // rows of tiles per vector
    // V's chunks of 256 KB each at most (64 KB in AVX2), or one vector of rows. With 256 KB on an
    // AVX2 CPU with 512 KB of L2 (AMD EPYC), V and M did not stay in it: a ResNet step spent twice
    // as long in the input transform as with 64 KB.
#ifdef DK_X86
    int64_t chunk = dk_simd_level() == 2 ? 65536 : 16384;
#else
    int64_t chunk = 65536;
#endif
    l.rows = chunk / (16 * widest * l.twp);
    if (l.rows > l.th) l.rows = l.th;
    l.rows = (l.rows + step - 1) / step * step;
    if (l.rows < step) l.rows = step;
    l.vs = cin * l.rows * l.twp + 16;
    return l;
}

int64_t dk_winograd_chunk_rows(wino_layout l, int64_t th0, int64_t end) {
    int64_t rows = end - th0 < l.rows ? end - th0 : l.rows, step = l.twp == 8 ? 2 : 1;
    return (rows + step - 1) / step * step;  // a row past the output in a last, half vector
}

int64_t dk_winograd_m_plane(wino_layout l, int64_t cout) {
    return dk_winograd_tile_rows(cout) * l.rows * l.twp + 16;
}

int64_t dk_conv_winograd_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    return 16 * (l.vs + dk_winograd_m_plane(l, cout)) + 32;  // + alignment of the two parts to 64 bytes
}

#ifdef DK_X86
// d is read from the image under masks that zero the padding (dk_wino_patch_row).
DK_TARGET_AVX512 void dk_winograd_input_transform(const dk_conv_geometry *g, int64_t cin, const float *x, wino_layout l,
                                                 int64_t th0, int64_t rows, float *V) {
    int64_t T = rows * l.twp, HW = g->h * g->w;
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
        // The 4×4 patches of the vector's tiles.
        dk_wino_patches w = dk_wino_patches_of(g, l, th0, t0);
        const float *p = x + w.y0 * g->w + w.s;
        float *v = V + t0;
        for (int64_t c = 0; c < cin; c++, p += HW, v += T) {
            __m512 t[4][4];
            for (int i = 0; i < 4; i++) {
                __m512 d[4];
                dk_wino_patch_row(&w, g, p + i * g->w, i, d);
                t[i][0] = _mm512_sub_ps(d[0], d[2]), t[i][1] = _mm512_add_ps(d[1], d[2]);  // d·B
                t[i][2] = _mm512_sub_ps(d[2], d[1]), t[i][3] = _mm512_sub_ps(d[1], d[3]);
            }
            for (int k = 0; k < 4; k++) {  // Bᵀ·(d·B)
                _mm512_storeu_ps(v + (0 * 4 + k) * l.vs, _mm512_sub_ps(t[0][k], t[2][k]));
                _mm512_storeu_ps(v + (1 * 4 + k) * l.vs, _mm512_add_ps(t[1][k], t[2][k]));
                _mm512_storeu_ps(v + (2 * 4 + k) * l.vs, _mm512_sub_ps(t[2][k], t[1][k]));
                _mm512_storeu_ps(v + (3 * 4 + k) * l.vs, _mm512_sub_ps(t[1][k], t[3][k]));
            }
        }
    }
}

// m[r][0:16·n] = Σ_c u[c][r] · v[c][0:16·n] for 8 rows r and n = 1 or 2 vectors of tiles
// (rows of m and v T floats apart).
DK_TARGET_AVX512 static inline void product_tile(int64_t cin, int64_t T, const float *u, const float *v, float *m, int n) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int64_t c = 0; c < cin; c++, u += 8, v += T) {
        __m512 b0 = _mm512_loadu_ps(v), b1 = n == 2 ? _mm512_loadu_ps(v + 16) : b0, s;
#define ROW(r, lo, hi)               \
    s = _mm512_set1_ps(u[r]);        \
    lo = _mm512_fmadd_ps(s, b0, lo); \
    if (n == 2) hi = _mm512_fmadd_ps(s, b1, hi);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
    }
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70}, hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    for (int r = 0; r < 8; r++) {
        _mm512_storeu_ps(m + r * T, lo[r]);
        if (n == 2) _mm512_storeu_ps(m + r * T + 16, hi[r]);
    }
}

// M[ξ] = U[ξ] · V[ξ] for the n ξ (T tiles, a multiple of 16; planes of V vs and of M ms floats
// apart): F(2×2, 3×3)'s 16 here, F(4×4, 3×3)'s 36 (conv_winograd4.c).
DK_TARGET_AVX512 void dk_winograd_products(int n, int64_t cin, int64_t cout, int64_t T, const float *U, const float *V, int64_t vs,
                                           float *M, int64_t ms) {
    int64_t coutp = dk_winograd_tile_rows(cout);
    for (int xi = 0; xi < n; xi++) {
        const float *u = U + xi * coutp * cin, *v = V + xi * vs;
        float *m = M + xi * ms;
        for (int64_t o0 = 0; o0 < coutp; o0 += 8) {
            int64_t t = 0;
            for (; t + 32 <= T; t += 32) product_tile(cin, T, u + o0 * cin, v + t, m + o0 * T + t, 2);
            if (t < T) product_tile(cin, T, u + o0 * cin, v + t, m + o0 * T + t, 1);
        }
    }
}

// out[o][2·th + a][2·tw + b] = bias[o] + (Aᵀ M A)[a][b] for the chunk's tiles, inside the output
// (dk_wino_store_row).
DK_TARGET_AVX512 static void output_transform(const dk_conv_geometry *g, int64_t cout, const float *M, wino_layout l,
                                              int64_t th0, int64_t rows, const float *bias, float *out) {
    int64_t T = rows * l.twp, xs = dk_winograd_m_plane(l, cout);
    for (int64_t o = 0; o < cout; o++) {
        __m512 add = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int64_t t0 = 0; t0 < T; t0 += 16) {
            const float *m = M + o * T + t0;
            __m512 s[4][2];
            for (int i = 0; i < 4; i++) {  // m·A
                __m512 m0 = _mm512_loadu_ps(m + (i * 4 + 0) * xs), m1 = _mm512_loadu_ps(m + (i * 4 + 1) * xs);
                __m512 m2 = _mm512_loadu_ps(m + (i * 4 + 2) * xs), m3 = _mm512_loadu_ps(m + (i * 4 + 3) * xs);
                s[i][0] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                s[i][1] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
            }
            for (int a = 0; a < 2; a++) {  // Aᵀ·(m·A), row a of the tiles
                __m512 e, f;
                if (a == 0) {
                    e = _mm512_add_ps(_mm512_add_ps(s[0][0], s[1][0]), s[2][0]);
                    f = _mm512_add_ps(_mm512_add_ps(s[0][1], s[1][1]), s[2][1]);
                } else {
                    e = _mm512_sub_ps(_mm512_sub_ps(s[1][0], s[2][0]), s[3][0]);
                    f = _mm512_sub_ps(_mm512_sub_ps(s[1][1], s[2][1]), s[3][1]);
                }
                dk_wino_store_row(g, l, th0, t0, a, _mm512_add_ps(e, add), _mm512_add_ps(f, add), out + o * g->oh * g->ow);
            }
        }
    }
}

// The AVX2 forms (8 tiles a vector; no masked stores, which AMD's cores microcode).

// Lanes k of an 8-float load starting at column s for which 0 ≤ s + k < w, as a load mask.
DK_TARGET_AVX2 static inline __m256i columns_inside8(int64_t s, int64_t w) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t lo = s < 0 ? -s : 0, hi = w - s;
    if (lo > 8) lo = 8;
    if (hi > 8) hi = 8;
    if (hi < 0) hi = 0;
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1)), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane));
}

// The even (0xD8 after 0x88) or odd lanes of the 16 floats a, b, in order.
#define EVEN8(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8))
#define ODD8(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8))

// As dk_winograd_input_transform, 8 tiles of one row of tiles a vector (twp is a multiple of 8).
DK_TARGET_AVX2 void dk_winograd_input_transform_avx2(const dk_conv_geometry *g, int64_t cin, const float *x, wino_layout l,
                                                     int64_t th0, int64_t rows, float *V) {
    int64_t T = rows * l.twp, HW = g->h * g->w;
    for (int64_t t0 = 0; t0 < T; t0 += 8) {
        int64_t r = t0 / l.twp, tw = t0 % l.twp, y0 = 2 * (th0 + r) - g->ph, s = 2 * tw - g->pw;
        __m256i ma = columns_inside8(s, g->w), mb = columns_inside8(s + 8, g->w);
        __m256i ma2 = columns_inside8(s + 2, g->w), mb2 = columns_inside8(s + 10, g->w);
        // Loads wholly inside the image's columns go without a mask: masked loads cost more on
        // AMD (a ResNet step spent about half as long in this transform with them plain).
        int fa = s >= 0 && s + 8 <= g->w, fb = s + 8 >= 0 && s + 16 <= g->w;
        int fa2 = s + 2 >= 0 && s + 10 <= g->w, fb2 = s + 10 >= 0 && s + 18 <= g->w;
        int inside[4];
        for (int i = 0; i < 4; i++) inside[i] = y0 + i >= 0 && y0 + i < g->h;
        const float *p = x + y0 * g->w + s;  // lanes outside the image only read through masks
        float *v = V + t0;
        for (int64_t c = 0; c < cin; c++, p += HW, v += T) {
            __m256 t[4][4];
            for (int i = 0; i < 4; i++) {
                const float *q = p + i * g->w;
                __m256 a = _mm256_setzero_ps(), b = a, a2 = a, b2 = a;
                if (inside[i]) {
                    a = fa ? _mm256_loadu_ps(q) : _mm256_maskload_ps(q, ma);
                    b = fb ? _mm256_loadu_ps(q + 8) : _mm256_maskload_ps(q + 8, mb);
                    a2 = fa2 ? _mm256_loadu_ps(q + 2) : _mm256_maskload_ps(q + 2, ma2);
                    b2 = fb2 ? _mm256_loadu_ps(q + 10) : _mm256_maskload_ps(q + 10, mb2);
                }
                __m256 d0 = EVEN8(a, b), d1 = ODD8(a, b), d2 = EVEN8(a2, b2), d3 = ODD8(a2, b2);
                t[i][0] = _mm256_sub_ps(d0, d2), t[i][1] = _mm256_add_ps(d1, d2);  // d·B
                t[i][2] = _mm256_sub_ps(d2, d1), t[i][3] = _mm256_sub_ps(d1, d3);
            }
            for (int k = 0; k < 4; k++) {  // Bᵀ·(d·B)
                _mm256_storeu_ps(v + (0 * 4 + k) * l.vs, _mm256_sub_ps(t[0][k], t[2][k]));
                _mm256_storeu_ps(v + (1 * 4 + k) * l.vs, _mm256_add_ps(t[1][k], t[2][k]));
                _mm256_storeu_ps(v + (2 * 4 + k) * l.vs, _mm256_sub_ps(t[2][k], t[1][k]));
                _mm256_storeu_ps(v + (3 * 4 + k) * l.vs, _mm256_sub_ps(t[1][k], t[3][k]));
            }
        }
    }
}

// m[r][0:8·n] = Σ_c u[c][r] · v[c][0:8·n] for 4 rows r (of the 8 a packed tile holds: u steps 8
// a channel) and n = 1 or 2 vectors of tiles.
DK_TARGET_AVX2 static inline void product_tile_avx2(int64_t cin, int64_t T, const float *u, const float *v, float *m, int n) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int64_t c = 0; c < cin; c++, u += 8, v += T) {
        __m256 b0 = _mm256_loadu_ps(v), b1 = n == 2 ? _mm256_loadu_ps(v + 8) : b0, s;
#define ROW8(r, lo, hi)                 \
    s = _mm256_broadcast_ss(u + r);     \
    lo = _mm256_fmadd_ps(s, b0, lo);    \
    if (n == 2) hi = _mm256_fmadd_ps(s, b1, hi);
        ROW8(0, c00, c01) ROW8(1, c10, c11) ROW8(2, c20, c21) ROW8(3, c30, c31)
#undef ROW8
    }
    __m256 lo[4] = {c00, c10, c20, c30}, hi[4] = {c01, c11, c21, c31};
    for (int r = 0; r < 4; r++) {
        _mm256_storeu_ps(m + r * T, lo[r]);
        if (n == 2) _mm256_storeu_ps(m + r * T + 8, hi[r]);
    }
}

DK_TARGET_AVX2 static void products_avx2(int64_t cin, int64_t cout, wino_layout l, int64_t T, const float *U, const float *V,
                                         float *M) {
    int64_t coutp = dk_winograd_tile_rows(cout);
    for (int xi = 0; xi < 16; xi++) {
        const float *u = U + xi * coutp * cin, *v = V + xi * l.vs;
        float *m = M + xi * dk_winograd_m_plane(l, cout);
        for (int64_t o0 = 0; o0 < coutp; o0 += 4) {
            // Rows o0..o0+3: the first or second half of the packed tile of 8 at o0 / 8 · 8.
            const float *uo = u + o0 / 8 * 8 * cin + o0 % 8;
            int64_t t = 0;
            for (; t + 16 <= T; t += 16) product_tile_avx2(cin, T, uo, v + t, m + o0 * T + t, 2);
            if (t < T) product_tile_avx2(cin, T, uo, v + t, m + o0 * T + t, 1);
        }
    }
}

// As output_transform: 8 tiles give 16 outputs of each of two rows, interleaved by unpacks.
DK_TARGET_AVX2 static void output_transform_avx2(const dk_conv_geometry *g, int64_t cout, const float *M, wino_layout l,
                                                 int64_t th0, int64_t rows, const float *bias, float *out) {
    int64_t T = rows * l.twp, xs = dk_winograd_m_plane(l, cout), oh = g->oh, ow = g->ow;
    for (int64_t o = 0; o < cout; o++) {
        __m256 add = _mm256_set1_ps(bias ? bias[o] : 0.0f);
        for (int64_t t0 = 0; t0 < T; t0 += 8) {
            const float *m = M + o * T + t0;
            __m256 s[4][2];
            for (int i = 0; i < 4; i++) {  // m·A
                __m256 m0 = _mm256_loadu_ps(m + (i * 4 + 0) * xs), m1 = _mm256_loadu_ps(m + (i * 4 + 1) * xs);
                __m256 m2 = _mm256_loadu_ps(m + (i * 4 + 2) * xs), m3 = _mm256_loadu_ps(m + (i * 4 + 3) * xs);
                s[i][0] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                s[i][1] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            int64_t x0 = 2 * (t0 % l.twp), y0 = 2 * (th0 + t0 / l.twp);
            if (x0 >= ow) continue;
            for (int a = 0; a < 2; a++) {  // Aᵀ·(m·A), row a of the tiles
                if (y0 + a >= oh) break;
                __m256 e, f;
                if (a == 0) {
                    e = _mm256_add_ps(_mm256_add_ps(s[0][0], s[1][0]), s[2][0]);
                    f = _mm256_add_ps(_mm256_add_ps(s[0][1], s[1][1]), s[2][1]);
                } else {
                    e = _mm256_sub_ps(_mm256_sub_ps(s[1][0], s[2][0]), s[3][0]);
                    f = _mm256_sub_ps(_mm256_sub_ps(s[1][1], s[2][1]), s[3][1]);
                }
                e = _mm256_add_ps(e, add), f = _mm256_add_ps(f, add);
                __m256 lo = _mm256_unpacklo_ps(e, f), hi = _mm256_unpackhi_ps(e, f);
                __m256 first = _mm256_permute2f128_ps(lo, hi, 0x20), second = _mm256_permute2f128_ps(lo, hi, 0x31);
                float *d = out + (o * oh + y0 + a) * ow + x0;
                if (x0 + 16 <= ow) {
                    _mm256_storeu_ps(d, first);
                    _mm256_storeu_ps(d + 8, second);
                } else {
                    float buffer[16];
                    _mm256_storeu_ps(buffer, first);
                    _mm256_storeu_ps(buffer + 8, second);
                    for (int64_t k = 0; k < ow - x0; k++) d[k] = buffer[k];
                }
            }
        }
    }
}
#undef EVEN8
#undef ODD8

void dk_conv_winograd_part_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up,
                               const float *bias, float *out, float *scratch, int64_t part, int64_t parts) {
    wino_layout l = dk_winograd_layout(g, cin, cout);
    float *V = dk_align64(scratch), *M = dk_align64(V + 16 * l.vs);
    int avx512 = dk_cpu_has_avx512();
    // The part's rows of tiles, in whole vectors of rows.
    int64_t step = l.twp == 8 ? 2 : 1, vectors = (l.th + step - 1) / step;
    int64_t begin = vectors * part / parts * step, end = vectors * (part + 1) / parts * step;
    if (end > l.th) end = l.th;
    for (int64_t th0 = begin; th0 < end; th0 += l.rows) {
        int64_t rows = dk_winograd_chunk_rows(l, th0, end);
        if (avx512) {
            dk_winograd_input_transform(g, cin, x, l, th0, rows, V);
            dk_winograd_products(16, cin, cout, rows * l.twp, up, V, l.vs, M, dk_winograd_m_plane(l, cout));
            output_transform(g, cout, M, l, th0, rows, bias, out);
        } else {
            dk_winograd_input_transform_avx2(g, cin, x, l, th0, rows, V);
            products_avx2(cin, cout, l, rows * l.twp, up, V, M);
            output_transform_avx2(g, cout, M, l, th0, rows, bias, out);
        }
    }
}
#endif

void dk_conv_winograd_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up,
                          const float *bias, float *out, float *scratch) {
    dk_conv_winograd_part_f32(g, cin, cout, x, up, bias, out, scratch, 0, 1);
}
#ifndef DK_X86
#include <stdlib.h>
void dk_conv_winograd_part_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *up,
                               const float *bias, float *out, float *scratch, int64_t part, int64_t parts) { abort(); }
#endif
