// im2col / col2im for one float32 image, as plain loops the compiler vectorizes (strided rows
// included), compiled for AVX-512, AVX2 and baseline x86-64 and picked from the CPU's features.
// Geometry: output (oy, ox) reads input row oy*sh - ph + i*dh and column ox*sw - pw + j*dw.
#include "descent_kernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define DK_X86 1
#define DK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx2")))
#define DK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

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

static inline __attribute__((always_inline)) void im2col_impl(const dk_conv_geometry *g, const float *restrict x,
                                                              int64_t row0, int64_t row1, float *restrict col) {
    int64_t pixels = g->oh * g->ow;
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
            for (int64_t ox = 0; ox < lo; ox++) dst[ox] = 0;
            // Rows are short (a 16-wide grid is common): one masked vector rather than a
            // scalar remainder after an unrolled vector loop that never runs.
            if (g->sw == 1) {
                #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox];
            } else {
                #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * g->sw];
            }
            for (int64_t ox = hi; ox < g->ow; ox++) dst[ox] = 0;
        }
    }
}

static inline __attribute__((always_inline)) void col2im_impl(const dk_conv_geometry *g, const float *restrict col,
                                                              int64_t c0, int64_t c1, float *restrict dx) {
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
                    if (g->sw == 1) {
                        #pragma clang loop vectorize_predicate(enable) interleave_count(1)
                        for (int64_t ox = lo; ox < hi; ox++) row[ox] += s[ox];
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
DK_TARGET_AVX512 static void im2col_avx512(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col); }
DK_TARGET_AVX2 static void im2col_avx2(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col); }
DK_TARGET_AVX512 static void col2im_avx512(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx); }
DK_TARGET_AVX2 static void col2im_avx2(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx); }
#endif
static void im2col_base(const dk_conv_geometry *g, const float *x, int64_t r0, int64_t r1, float *col) { im2col_impl(g, x, r0, r1, col); }
static void col2im_base(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx) { col2im_impl(g, col, c0, c1, dx); }

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
