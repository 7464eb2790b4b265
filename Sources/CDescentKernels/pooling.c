// Max pooling of float32 planes whose windows lie inside the image (no padding, no overhang, no
// dilation), the common case of a CNN. Windows two wide with stride two (2x2 pooling) run on
// AVX-512 vectors of 16 outputs, even and odd columns split by one permute (AVX2: 8 outputs,
// split by shuffles); other windows loop
// over a whole output row at a time. Other geometries use the Swift loops (PoolKernels.swift).
// As in PyTorch, within a window the first maximum wins, and NaN wins (the last one).
#include "descent_kernels.h"

#include "simd.h"

static inline __attribute__((always_inline)) void dk_maxpool2d_any_f32_impl(int64_t planes, const dk_pool_geometry *g,
        const float *restrict x, float *restrict values, int64_t *restrict indices) {
    int64_t h = g->h, w = g->w, sh = g->sh, sw = g->sw, oh = g->oh, ow = g->ow;
    for (int64_t c = 0; c < planes; c++) {
        const float *plane = x + c * h * w;
        for (int64_t oy = 0; oy < oh; oy++) {
            float *restrict best = values + (c * oh + oy) * ow;
            int64_t *restrict at = indices + (c * oh + oy) * ow;
            const float *top = plane + oy * sh * w;
            for (int64_t ox = 0; ox < ow; ox++) {
                best[ox] = top[ox * sw];
                at[ox] = oy * sh * w + ox * sw;
            }
            for (int64_t i = 0; i < g->kh; i++) {
                for (int64_t j = 0; j < g->kw; j++) {
                    const float *r = top + i * w + j;
                    int64_t base = (oy * sh + i) * w + j;
                    // (No predicated vectors: AVX2's masked stores are microcoded on AMD's cores;
                    // AVX-512 takes 2-wide windows in maxpool_2wide_avx512.)
                    for (int64_t ox = 0; ox < ow; ox++) {
                        // Branch-free: random data would defeat branch prediction. NaN wins.
                        float v = r[ox * sw];
                        int take = v > best[ox] || v != v;
                        best[ox] = take ? v : best[ox];
                        at[ox] = take ? base + ox * sw : at[ox];
                    }
                }
            }
        }
    }
}

#ifdef DK_X86
// A window's next candidate v at flat index at: taken when greater, or NaN.
#define TAKE(v, at)                                                                              \
    {                                                                                            \
        __mmask16 t = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); \
        best = _mm512_mask_mov_ps(best, t, v);                                                   \
        where = _mm512_mask_mov_epi32(where, t, at);                                             \
    }

DK_TARGET_AVX512 static void maxpool_2wide_avx512(int64_t planes, const dk_pool_geometry *g, const float *x,
                                                   float *values, int64_t *indices) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    int64_t h = g->h, w = g->w, sh = g->sh, oh = g->oh, ow = g->ow;
    for (int64_t c = 0; c < planes; c++) {
        const float *plane = x + c * h * w;
        for (int64_t oy = 0; oy < oh; oy++) {
            for (int64_t ox = 0; ox < ow; ox += 16) {
                int64_t n = ow - ox < 16 ? ow - ox : 16;
                __mmask16 m = dk_first_lanes(n), lo = dk_first_lanes(2 * n), hi = dk_first_lanes(2 * n - 16);
                __m512 best = _mm512_setzero_ps();
                __m512i where = _mm512_setzero_si512();
                for (int64_t i = 0; i < g->kh; i++) {
                    int64_t row = (oy * sh + i) * w + 2 * ox;
                    const float *r = plane + row;
                    __m512 v0 = _mm512_maskz_loadu_ps(lo, r), v1 = _mm512_maskz_loadu_ps(hi, r + 16);
                    __m512 ev = _mm512_permutex2var_ps(v0, even, v1), od = _mm512_permutex2var_ps(v0, odd, v1);
                    __m512i at = _mm512_add_epi32(_mm512_set1_epi32((int32_t)row), even);
                    if (i == 0) {
                        best = ev;
                        where = at;
                    } else {
                        TAKE(ev, at)
                    }
                    TAKE(od, _mm512_add_epi32(at, _mm512_set1_epi32(1)))
                }
                int64_t o = (c * oh + oy) * ow + ox;
                _mm512_mask_storeu_ps(values + o, m, best);
                if (!indices) continue;
                _mm512_mask_storeu_epi64(indices + o, (__mmask8)m, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(where)));
                _mm512_mask_storeu_epi64(indices + o + 8, (__mmask8)(m >> 8),
                                         _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(where, 1)));
            }
        }
    }
}
#undef TAKE

// The same on AVX2, 8 outputs a vector. Partial vectors load under masks (fast) and store
// through a small buffer (AVX2's masked stores are microcoded on AMD's cores).
#define TAKE8(v, at)                                                                                 \
    {                                                                                                \
        __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q)); \
        best = _mm256_blendv_ps(best, v, t);                                                         \
        if (withIndices)                                                                             \
            where = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(where), _mm256_castsi256_ps(at), t)); \
    }

DK_TARGET_AVX2 static __m256i first_lanes8(int64_t n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : (n > 8 ? 8 : n))), lane);
}

// withIndices (a constant where inlined) 0: values only, as inference needs.
DK_TARGET_AVX2 static inline __attribute__((always_inline)) void maxpool_2wide_avx2_impl(int withIndices, int64_t planes,
        const dk_pool_geometry *g, const float *x, float *values, int64_t *indices) {
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i one = _mm256_set1_epi32(1);
    int64_t h = g->h, w = g->w, sh = g->sh, oh = g->oh, ow = g->ow;
    for (int64_t c = 0; c < planes; c++) {
        const float *plane = x + c * h * w;
        for (int64_t oy = 0; oy < oh; oy++) {
            for (int64_t ox = 0; ox < ow; ox += 8) {
                int64_t n = ow - ox < 8 ? ow - ox : 8;
                __m256i lo = first_lanes8(2 * n), hi = first_lanes8(2 * n - 8);
                __m256 best = _mm256_setzero_ps();
                __m256i where = _mm256_setzero_si256();
                for (int64_t i = 0; i < g->kh; i++) {
                    int64_t row = (oy * sh + i) * w + 2 * ox;
                    const float *r = plane + row;
                    // Whole vectors load plain (masked loads cost more on AMD).
                    __m256 v0 = n == 8 ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, lo);
                    __m256 v1 = n == 8 ? _mm256_loadu_ps(r + 8) : _mm256_maskload_ps(r + 8, hi);
                    // even: v0[0,2,4,6], v1[0,2,4,6]; odd: the 1,3,5,7 lanes (in-lane shuffles
                    // interleave the 128-bit halves; the 64-bit permute puts them in order).
                    __m256 ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0x88)), 0xD8));
                    __m256 od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0xDD)), 0xD8));
                    __m256i at = _mm256_add_epi32(_mm256_set1_epi32((int32_t)row), even);
                    if (i == 0) {
                        best = ev;
                        where = at;
                    } else {
                        TAKE8(ev, at)
                    }
                    TAKE8(od, _mm256_add_epi32(at, one))
                }
                int64_t o = (c * oh + oy) * ow + ox;
                if (!withIndices) {
                    dk_store_first8(values + o, best, n);
                    continue;
                }
                __m256i i0 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(where));
                __m256i i1 = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(where, 1));
                if (n == 8) {
                    _mm256_storeu_ps(values + o, best);
                    _mm256_storeu_si256((__m256i *)(indices + o), i0);
                    _mm256_storeu_si256((__m256i *)(indices + o + 4), i1);
                } else {
                    float vb[8];
                    int64_t ib[8];
                    _mm256_storeu_ps(vb, best);
                    _mm256_storeu_si256((__m256i *)ib, i0);
                    _mm256_storeu_si256((__m256i *)(ib + 4), i1);
                    for (int64_t k = 0; k < n; k++) values[o + k] = vb[k], indices[o + k] = ib[k];
                }
            }
        }
    }
}

DK_TARGET_AVX2 static void maxpool_2wide_avx2(int64_t planes, const dk_pool_geometry *g, const float *x, float *values,
                                              int64_t *indices) {
    if (indices) maxpool_2wide_avx2_impl(1, planes, g, x, values, indices);
    else maxpool_2wide_avx2_impl(0, planes, g, x, values, NULL);
}
#undef TAKE8
#endif

// Windows two wide with stride two, on a CPU with a vector 2-wide kernel. (Flat indices are
// formed in 32-bit lanes: planes of fewer than 2^31 elements.)
static int two_wide(const dk_pool_geometry *g) {
#ifdef DK_X86
    return g->kw == 2 && g->sw == 2 && g->h * g->w < (1LL << 31) && (dk_cpu_has_avx512() || dk_cpu_has_avx2());
#else
    (void)g;
    return 0;
#endif
}

int dk_maxpool2d_values_only(const dk_pool_geometry *g) { return two_wide(g); }

DK_DISPATCH(dk_maxpool2d_any_f32,
            (int64_t planes, const dk_pool_geometry *g, const float *x, float *values, int64_t *indices),
            (planes, g, x, values, indices))

void dk_maxpool2d_f32(int64_t planes, const dk_pool_geometry *g, const float *x, float *values, int64_t *indices) {
#ifdef DK_X86
    if (two_wide(g)) {
        if (dk_cpu_has_avx512()) maxpool_2wide_avx512(planes, g, x, values, indices);
        else maxpool_2wide_avx2(planes, g, x, values, indices);
        return;
    }
#endif
    dk_maxpool2d_any_f32(planes, g, x, values, indices);
}

// The gradient of max pooling for planes [c0, c1): dx[c] = 0, then each output's gradient added at
// the input its index names (indices < 0: windows wholly in the padding, no input).
void dk_maxpool2d_backward_f32(int64_t c0, int64_t c1, int64_t hw, int64_t per, const float *g, const int64_t *indices,
                               float *dx) {
    for (int64_t c = c0; c < c1; c++) {
        float *d = dx + c * hw;
        const float *gc = g + c * per;
        const int64_t *ic = indices + c * per;
        for (int64_t p = 0; p < hw; p++) d[p] = 0.0f;
        for (int64_t o = 0; o < per; o++)
            if (ic[o] >= 0) d[ic[o]] += gc[o];
    }
}
