// The peak arithmetic rate of one core, the bound that BENCHMARKS.md compares kernels with:
// twelve independent chains of 512-bit vfmadd231ps (float32: 32 FLOP each) and of vdpbf16ps
// (bfloat16 pairs into float32: 64 FLOP each), long enough that the loop's latency is hidden.
//
//   clang -O2 Scripts/peak_flops.c -o /tmp/peak_flops && /tmp/peak_flops
//
// Run two at once (`/tmp/peak_flops & /tmp/peak_flops; wait`) to see whether two threads have
// two cores' worth. Needs AVX-512 (and AVX512-BF16 for the second figure, else it says so).
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define ITERATIONS 100000000L
#define CHAINS 12

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// GFLOP/s of `op` on CHAINS accumulators; the empty asm keeps x from being treated as constant.
#define MEASURE(T, ZERO, X, Y, OP, FLOPS)                                 \
    T acc[CHAINS];                                                        \
    for (int c = 0; c < CHAINS; c++) acc[c] = ZERO;                       \
    T x = X, y = Y;                                                       \
    double t0 = seconds();                                                \
    for (long i = 0; i < ITERATIONS; i++) {                               \
        __asm__ volatile("" : "+v"(x));                                   \
        for (int c = 0; c < CHAINS; c++) acc[c] = OP(acc[c], x, y);       \
    }                                                                     \
    double t = seconds() - t0;                                            \
    __m512 s = (__m512)acc[0];                                            \
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, (__m512)acc[c]); \
    volatile float sink = _mm512_reduce_add_ps(s);                        \
    (void)sink;                                                           \
    return (double)ITERATIONS * CHAINS * FLOPS / t / 1e9;

#define FMA(a, x, y) _mm512_fmadd_ps(x, y, a)
__attribute__((target("avx512f,fma"))) static double float32_peak(void) {
    MEASURE(__m512, _mm512_setzero_ps(), _mm512_set1_ps(1.0f), _mm512_set1_ps(1e-7f), FMA, 32)
}

#define DOT(a, x, y) _mm512_dpbf16_ps(a, (__m512bh)(x), (__m512bh)(y))
__attribute__((target("avx512f,avx512bf16"))) static double bfloat16_peak(void) {
    MEASURE(__m512, _mm512_setzero_ps(), (__m512)_mm512_set1_epi32(0x3f803f80), (__m512)_mm512_set1_epi32(0x00010001), DOT, 64)
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        puts("no AVX-512 on this CPU");
        return 1;
    }
    for (int r = 0; r < 3; r++) {
        printf("float32 vfmadd231ps %6.1f GFLOP/s", float32_peak());
        if (__builtin_cpu_supports("avx512bf16")) printf("   bfloat16 vdpbf16ps %6.1f GFLOP/s", bfloat16_peak());
        printf("\n");
    }
    return 0;
}
