// im2col / col2im for one float32 image, as plain loops the compiler vectorizes (other strides
// included; stride 2 by even/odd permutes on AVX-512), compiled for AVX-512, AVX2 and baseline
// x86-64 and picked from the CPU's features.
// Geometry: output (oy, ox) reads input row oy*sh - ph + i*dh and column ox*sw - pw + j*dw.
#include "descent_kernels.h"
#include <string.h>

#include "simd.h"

// Outputs lo..<hi (within 0..<count) whose input x0 + o*step lies in 0..<size.
static inline __attribute__((always_inline)) void valid_range(int64_t x0, int64_t step, int64_t size, int64_t count,
                                                              int64_t *lo, int64_t *hi) {
    int64_t l = x0 >= 0 ? 0 : (-x0 + step - 1) / step;
    int64_t h = x0 >= size ? 0 : (size - 1 - x0) / step + 1;
    if (l > count) l = count;
    if (h > count) h = count;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

typedef void (*gather2_fn)(float *dst, const float *src, int64_t n);
typedef void (*row1_fn)(float *dst, const float *src, int64_t lo, int64_t hi, int64_t ow, const float *end);
typedef void (*scatter2_fn)(float *row, const float *src, int64_t n);

// dst[o] = src[2·o] and row[2·o] += src[o] for o in 0..<n: loops for stride 2 that the compiler
// handles poorly on short rows; the AVX-512 forms below split even and odd lanes by permutes.
static inline __attribute__((always_inline)) void gather2_plain(float *restrict dst, const float *restrict src, int64_t n) {
    for (int64_t o = 0; o < n; o++) dst[o] = src[2 * o];
}
static inline __attribute__((always_inline)) void scatter2_plain(float *restrict row, const float *restrict src, int64_t n) {
    for (int64_t o = 0; o < n; o++) row[2 * o] += src[o];
}

static inline __attribute__((always_inline)) void im2col_impl(const dk_conv_geometry *g, const float *restrict x,
                                                              int64_t row0, int64_t row1, float *restrict col,
                                                              gather2_fn gather2, row1_fn row1_copy, int masked) {
    int64_t pixels = g->oh * g->ow;
    const float *end = col + row1 * pixels;  // this call's part of the columns
    for (int64_t r = row0; r < row1; r++) {
        int64_t c = r / (g->kh * g->kw), i = (r / g->kw) % g->kh, j = r % g->kw;
        const float *plane = x + c * g->h * g->w;
        float *dst = col + r * pixels;
        int64_t x0 = j * g->dw - g->pw, lo, hi;
        valid_range(x0, g->sw, g->w, g->ow, &lo, &hi);
        for (int64_t oy = 0; oy < g->oh; oy++, dst += g->ow) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            if (iy < 0 || iy >= g->h) {
                memset(dst, 0, sizeof(float) * (size_t)g->ow);
                continue;
            }
            const float *src = plane + iy * g->w + x0;
            if (row1_copy && g->sw == 1) {
                row1_copy(dst, src, lo, hi, g->ow, end);
                continue;
            }
            for (int64_t ox = 0; ox < lo; ox++) dst[ox] = 0;
            // Rows are short (a 16-wide grid is common): on AVX-512 one masked vector rather
            // than a scalar remainder after an unrolled vector loop that never runs. AVX2's
            // masked stores are microcoded on AMD's cores (tens of cycles each): plain copies.
            if (g->sw == 1 && masked) {
                #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox];
            } else if (g->sw == 1) {
                for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox];
            } else if (g->sw == 2) {
                gather2(dst + lo, src + 2 * lo, hi - lo);
            } else {
                #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * g->sw];
            }
            for (int64_t ox = hi; ox < g->ow; ox++) dst[ox] = 0;
        }
    }
}

static inline __attribute__((always_inline)) void col2im_impl(const dk_conv_geometry *g, const float *restrict col,
                                                              int64_t c0, int64_t c1, float *restrict dx,
                                                              scatter2_fn scatter2, int masked) {
    int64_t pixels = g->oh * g->ow;
    for (int64_t c = c0; c < c1; c++) {
        float *plane = dx + c * g->h * g->w;
        for (int64_t i = 0; i < g->kh; i++) {
            for (int64_t j = 0; j < g->kw; j++) {
                const float *src = col + ((c * g->kh + i) * g->kw + j) * pixels;
                int64_t x0 = j * g->dw - g->pw, lo, hi;
                valid_range(x0, g->sw, g->w, g->ow, &lo, &hi);
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    int64_t iy = oy * g->sh - g->ph + i * g->dh;
                    if (iy < 0 || iy >= g->h) continue;
                    float *row = plane + iy * g->w + x0;
                    const float *s = src + oy * g->ow;
                    if (g->sw == 1 && masked) {
                        #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                        for (int64_t ox = lo; ox < hi; ox++) row[ox] += s[ox];
                    } else if (g->sw == 1) {
                        #pragma clang loop interleave_count(1)
                        for (int64_t ox = lo; ox < hi; ox++) row[ox] += s[ox];
                    } else if (g->sw == 2) {
                        scatter2(row + 2 * lo, s + lo, hi - lo);
                    } else {
                        #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                        for (int64_t ox = lo; ox < hi; ox++) row[ox * g->sw] += s[ox];
                    }
                }
            }
        }
    }
}

#ifdef DK_X86

DK_TARGET_AVX512 static inline __attribute__((always_inline)) void gather2_avx512(float *dst, const float *src, int64_t n) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t o = 0; o < n; o += 16) {
        int64_t m = n - o < 16 ? n - o : 16, used = 2 * m - 1;  // src[2o .. 2o + 2m − 2]
        __m512 v0 = _mm512_maskz_loadu_ps(dk_first_lanes(used), src + 2 * o);
        __m512 v1 = _mm512_maskz_loadu_ps(dk_first_lanes(used - 16), src + 2 * o + 16);
        _mm512_mask_storeu_ps(dst + o, dk_first_lanes(m), _mm512_permutex2var_ps(v0, even, v1));
    }
}

DK_TARGET_AVX512 static inline __attribute__((always_inline)) void scatter2_avx512(float *row, const float *src, int64_t n) {
    // src lanes to even positions, zeros (lane 16: the second operand) to odd ones.
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_setr_epi32(8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0));
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t o = 0; o < n; o += 16) {
        int64_t m = n - o < 16 ? n - o : 16, used = 2 * m - 1;  // row[2o .. 2o + 2m − 2]
        __m512 v = _mm512_maskz_loadu_ps(dk_first_lanes(m), src + o);
        __mmask16 k0 = dk_first_lanes(used), k1 = dk_first_lanes(used - 16);
        float *r = row + 2 * o;
        _mm512_mask_storeu_ps(r, k0, _mm512_add_ps(_mm512_maskz_loadu_ps(k0, r), _mm512_permutex2var_ps(v, lo, zero)));
        _mm512_mask_storeu_ps(r + 16, k1, _mm512_add_ps(_mm512_maskz_loadu_ps(k1, r + 16), _mm512_permutex2var_ps(v, hi, zero)));
    }
}

// One row of columns at stride 1 on AVX2: dst[ox] = src[ox] for lo ≤ ox < hi, else 0, for ox
// in 0..<ow, in whole vectors: loads under masks (which also make the zeros; masked lanes never
// fault, so src may point before its row), stores unmasked while they stay before `end` (the
// lanes past ow land in the next row, which is written after this one).
DK_TARGET_AVX2 static inline __attribute__((always_inline)) void row1_avx2(float *dst, const float *src, int64_t lo,
                                                                         int64_t hi, int64_t ow, const float *end) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t ox = 0; ox < ow; ox += 8) {
        __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32((int)ox));
        __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32((int)lo - 1)),
                                     _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), idx));
        // (A vector wholly inside lo..<hi loads plain: masked loads cost more on AMD.)
        __m256 v = ox >= lo && ox + 8 <= hi ? _mm256_loadu_ps(src + ox) : _mm256_maskload_ps(src + ox, m);
        if (dst + ox + 8 <= end) {
            _mm256_storeu_ps(dst + ox, v);
        } else {
            float b[8];
            _mm256_storeu_ps(b, v);
            for (int64_t k = 0; k < ow - ox; k++) dst[ox + k] = b[k];
        }
    }
}

DK_TARGET_AVX512 static void im2col_avx512(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col, gather2_avx512, NULL, 1); }
DK_TARGET_AVX2 static void im2col_avx2(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col, gather2_plain, row1_avx2, 0); }
DK_TARGET_AVX512 static void col2im_avx512(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx, scatter2_avx512, 1); }
DK_TARGET_AVX2 static void col2im_avx2(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx, scatter2_plain, 0); }
#endif
static void im2col_base(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col, gather2_plain, NULL, 0); }
static void col2im_base(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx, scatter2_plain, 0); }

void dk_im2col_f32(const dk_conv_geometry *g, const float *x, int64_t row0, int64_t row1, float *col) {
#ifdef DK_X86
    if (dk_cpu_has_avx512()) { im2col_avx512(g, x, row0, row1, col); return; }
    if (dk_cpu_has_avx2()) { im2col_avx2(g, x, row0, row1, col); return; }
#endif
    im2col_base(g, x, row0, row1, col);
}

void dk_col2im_f32(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) {
#ifdef DK_X86
    if (dk_cpu_has_avx512()) { col2im_avx512(g, col, c0, c1, dx); return; }
    if (dk_cpu_has_avx2()) { col2im_avx2(g, col, c0, c1, dx); return; }
#endif
    col2im_base(g, col, c0, c1, dx);
}
