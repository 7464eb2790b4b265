// Shared by the C kernels: the x86 targets they are compiled for, the run-time dispatch among
// them (AVX-512, AVX2+FMA, baseline), the lane masks of AVX-512 tails, the partial loads and
// stores of AVX2 tails, and rounding to bfloat16 (scalar, and as pairs for vdpbf16ps).
#ifndef DESCENT_SIMD_H
#define DESCENT_SIMD_H
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define DK_X86 1
#define DK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx2")))
#define DK_TARGET_AVX2 __attribute__((target("avx2,fma")))
// AVX-512 with the bfloat16 dot products (callers check dk_bgemm_avx512bf16_available()).
#define DK_TARGET_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma,avx2")))
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

/// The bits of x rounded to the nearest bfloat16 (ties to even), in the upper half, the lower
/// half zero; a NaN keeps its sign and becomes quiet (as BFloat16.roundedBits in Swift).
static inline __attribute__((always_inline)) uint32_t dk_bf16_rounded_bits(float x) {
    uint32_t u;
    __builtin_memcpy(&u, &x, 4);
    uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u, nan = (u | 0x00400000u) & 0xFFFF0000u;
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? nan : r;
}

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

// The lanes k of a 16-float load starting at column s of a row of w for which 0 ≤ s + k < w.
static inline __mmask16 dk_columns_inside(int64_t s, int64_t w) {
    int64_t lo = s < 0 ? -s : 0, hi = w - s < 16 ? w - s : 16;
    return hi <= lo ? 0 : (__mmask16)(((1u << (hi - lo)) - 1) << lo);
}

/// p[0:n] = the first n lanes of v (n ≤ 0: none, n ≥ 8: all), as stores of 4, 2 and 1 lanes
/// (AVX2's masked stores are microcoded on AMD's cores).
DK_TARGET_AVX2 static inline void dk_store_first8(float *p, __m256 v, int64_t n) {
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 q = _mm256_castps256_ps128(v);
    if (n >= 4) _mm_storeu_ps(p, q), q = _mm256_extractf128_ps(v, 1), p += 4, n -= 4;
    if (n >= 2) _mm_storel_pi((__m64 *)p, q), q = _mm_movehl_ps(q, q), p += 2, n -= 2;
    if (n >= 1) _mm_store_ss(p, q);
}

/// The first n floats at p in the first n lanes, the others 0 (n as for dk_store_first8).
DK_TARGET_AVX2 static inline __m256 dk_load_first8(const float *p, int64_t n) {
    if (n >= 8) return _mm256_loadu_ps(p);
    if (n <= 0) return _mm256_setzero_ps();
    __m128 lo = _mm_setzero_ps(), t = _mm_setzero_ps();
    int high = n >= 4, pair;
    if (high) lo = _mm_loadu_ps(p), p += 4, n -= 4;
    if ((pair = n >= 2)) t = _mm_castpd_ps(_mm_load_sd((const double *)p)), p += 2, n -= 2;
    if (n >= 1) t = pair ? _mm_insert_ps(t, _mm_load_ss(p), 0x20) : _mm_load_ss(p);
    return high ? _mm256_set_m128(t, lo) : _mm256_set_m128(_mm_setzero_ps(), t);
}

/// v rounded to the nearest bfloat16 values (ties to even), kept as float32, as
/// dk_bf16_rounded_bits rounds (subnormals kept; a NaN stays a quiet NaN).
DK_TARGET_AVX512 static inline __m512 dk_bf16_round16(__m512 v) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF), high = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512i u = _mm512_castps_si512(v);
    __m512i r = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(u, bias), _mm512_and_si512(_mm512_srli_epi32(u, 16), one)), high);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    __m512i quiet = _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x00400000)), high);
    return _mm512_castsi512_ps(_mm512_mask_mov_epi32(r, nan, quiet));
}

/// Transposes 16 vectors of 16 words in place: r[i][j] ↔ r[j][i] (the bf16 GEMM's and the bf16
/// weight gradient's packing).
DK_TARGET_AVX512 static inline void dk_transpose16_words(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    // u[4i + c]'s 128-bit lane l holds column 4l + c of rows 4i..4i+3.
    for (int c = 0; c < 4; c++) {
        __m512i p0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), p1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
        __m512i p2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), p3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_i32x4(p0, p2, 0x88);
        r[4 + c] = _mm512_shuffle_i32x4(p0, p2, 0xDD);
        r[8 + c] = _mm512_shuffle_i32x4(p1, p3, 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(p1, p3, 0xDD);
    }
}

/// v rounded to bfloat16 as the bf16 kernels' conversion rounds what they read (nearest even,
/// subnormals taken as zero), as float32 values.
DK_TARGET_BF16 static inline __m512 dk_bf16_read16(__m512 v) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v)), 16));
}

/// Words (lo[j], hi[j]) for 16 lanes, each rounded to the nearest bfloat16 (ties to even; lo in
/// the low half): the operand of vdpbf16ps for two depths.
DK_TARGET_BF16 static inline __m512i dk_bf16_pairs16(__m512 lo, __m512 hi) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                                21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/// Stores the 16 bfloat16 of v at p, where the caller writes n values from p on in order (a run
/// of a row, and the rows after it): past the row they land where later runs write. Only where
/// n < 16 (the end of what the caller writes) is the store masked: a masked store of 16-bit lanes
/// is microcoded on Zen 4, and one at each row's end cost as much as the rest of a copy.
DK_TARGET_AVX512 static inline void dk_store_bf16_run(uint16_t *p, __m256i v, int64_t n) {
    if (n < 16) _mm256_mask_storeu_epi16(p, dk_first_lanes(n), v);
    else _mm256_storeu_si256((__m256i *)p, v);
}
#endif

#endif
