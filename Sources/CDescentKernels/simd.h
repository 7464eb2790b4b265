// Shared by the C kernels: the x86 targets they are compiled for, the run-time dispatch among
// them (AVX-512, AVX2+FMA, baseline) and the lane masks of AVX-512 tails.
#ifndef DESCENT_SIMD_H
#define DESCENT_SIMD_H
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define DK_X86 1
#define DK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx2")))
#define DK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

#ifdef DK_X86
// The instruction set the kernels run with: 2 AVX-512, 1 AVX2+FMA, 0 baseline. Found once; a
// relaxed atomic (a plain load on x86), so that threads that race to find it do not race in C.
static inline int dk_simd_level(void) {
    static _Atomic int level = -1;
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        l = dk_cpu_has_avx512() ? 2 : (dk_cpu_has_avx2() ? 1 : 0);
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return l;
}
#endif

// Defines NAME_impl (inline body) variants NAME_avx512, NAME_avx2, NAME_base and the public NAME
// that calls the best one for this CPU.
#ifdef DK_X86
#define DK_DISPATCH(NAME, PARAMS, ARGS)                                                       \
    DK_TARGET_AVX512 static void NAME##_avx512 PARAMS { NAME##_impl ARGS; }                   \
    DK_TARGET_AVX2 static void NAME##_avx2 PARAMS { NAME##_impl ARGS; }                       \
    static void NAME##_base PARAMS { NAME##_impl ARGS; }                                      \
    void NAME PARAMS {                                                                        \
        switch (dk_simd_level()) {                                                            \
        case 2: NAME##_avx512 ARGS; return;                                                   \
        case 1: NAME##_avx2 ARGS; return;                                                     \
        default: NAME##_base ARGS; return;                                                    \
        }                                                                                     \
    }
#else
#define DK_DISPATCH(NAME, PARAMS, ARGS) \
    void NAME PARAMS { NAME##_impl ARGS; }
#endif

#ifdef DK_X86
#include <immintrin.h>
// The first n of 16 lanes (none for n ≤ 0, all for n ≥ 16).
static inline __mmask16 dk_first_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (n <= 0 ? 0 : (__mmask16)((1u << n) - 1));
}
#endif

#endif
