// Float32 sums over contiguous runs with vector accumulators: 32 independent float lanes per
// block of at most 1024 elements (so that rounding stays small), the blocks added in double.
// A plain `s += x[i]` loop is one long dependency chain that the compiler may not reorder.
// Compiled for AVX-512, AVX2 and baseline x86-64 and picked from the CPU's features.
#include "descent_kernels.h"

#include "simd.h"

#define LANES 32
#define BLOCK 1024

// Σ f(i) over i in 0..<n, where BODY(i) is the term.
#define BLOCKED_SUM(n, BODY)                                           \
    double total = 0;                                                  \
    for (int64_t b0 = 0; b0 < (n); b0 += BLOCK) {                      \
        int64_t b1 = b0 + BLOCK < (n) ? b0 + BLOCK : (n);              \
        float acc[LANES] = {0};                                        \
        int64_t i = b0;                                                \
        for (; i + LANES <= b1; i += LANES)                            \
            for (int k = 0; k < LANES; k++) acc[k] += BODY(i + k);     \
        float part = 0;                                                \
        for (; i < b1; i++) part += BODY(i);                           \
        for (int k = 0; k < LANES; k++) part += acc[k];                \
        total += part;                                                 \
    }

static inline __attribute__((always_inline)) double dk_sum_f32_impl(int64_t n, const float *restrict x) {
#define TERM(i) x[i]
    BLOCKED_SUM(n, TERM)
#undef TERM
    return total;
}

static inline __attribute__((always_inline)) double dk_sum_squared_deviation_f32_impl(int64_t n, const float *restrict x,
                                                                                      float mean) {
#define TERM(i) ((x[i] - mean) * (x[i] - mean))
    BLOCKED_SUM(n, TERM)
#undef TERM
    return total;
}

static inline __attribute__((always_inline)) double dk_sum_product_deviation_f32_impl(int64_t n, const float *restrict g,
                                                                                     const float *restrict x, float mean) {
#define TERM(i) (g[i] * (x[i] - mean))
    BLOCKED_SUM(n, TERM)
#undef TERM
    return total;
}

// Both sums above in one pass over g and x, each accumulated exactly as its own kernel does
// (the same lanes, blocks and expressions), so the results are those of the two calls.
static inline __attribute__((always_inline)) void dk_sum_and_product_deviation_f32_impl(int64_t n, const float *restrict g,
                                                                                       const float *restrict x, float mean,
                                                                                       double *sums) {
    double total = 0, totalProduct = 0;
    for (int64_t b0 = 0; b0 < n; b0 += BLOCK) {
        int64_t b1 = b0 + BLOCK < n ? b0 + BLOCK : n;
        float acc[LANES] = {0}, accProduct[LANES] = {0};
        int64_t i = b0;
        for (; i + LANES <= b1; i += LANES)
            for (int k = 0; k < LANES; k++) {
                acc[k] += g[i + k];
                accProduct[k] += (g[i + k] * (x[i + k] - mean));
            }
        float part = 0, partProduct = 0;
        for (; i < b1; i++) {
            part += g[i];
            partProduct += (g[i] * (x[i] - mean));
        }
        for (int k = 0; k < LANES; k++) part += acc[k];
        for (int k = 0; k < LANES; k++) partProduct += accProduct[k];
        total += part;
        totalProduct += partProduct;
    }
    sums[0] = total;
    sums[1] = totalProduct;
}

#ifdef DK_X86
#define DK_DISPATCH_RETURNING(NAME, PARAMS, ARGS)                                                 \
    DK_TARGET_AVX512 static double NAME##_avx512 PARAMS { return NAME##_impl ARGS; }             \
    DK_TARGET_AVX2 static double NAME##_avx2 PARAMS { return NAME##_impl ARGS; }                 \
    static double NAME##_base PARAMS { return NAME##_impl ARGS; }                                \
    double NAME PARAMS {                                                                          \
        switch (dk_simd_level()) {                                                                \
        case 2: return NAME##_avx512 ARGS;                                                        \
        case 1: return NAME##_avx2 ARGS;                                                          \
        default: return NAME##_base ARGS;                                                         \
        }                                                                                         \
    }
#else
#define DK_DISPATCH_RETURNING(NAME, PARAMS, ARGS) \
    double NAME PARAMS { return NAME##_impl ARGS; }
#endif

DK_DISPATCH_RETURNING(dk_sum_f32, (int64_t n, const float *x), (n, x))
DK_DISPATCH_RETURNING(dk_sum_squared_deviation_f32, (int64_t n, const float *x, float mean), (n, x, mean))
DK_DISPATCH_RETURNING(dk_sum_product_deviation_f32, (int64_t n, const float *g, const float *x, float mean), (n, g, x, mean))
DK_DISPATCH(dk_sum_and_product_deviation_f32, (int64_t n, const float *g, const float *x, float mean, double *sums), (n, g, x, mean, sums))
