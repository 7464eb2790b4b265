// Products with an operand B packed once and reused many times (the recurrent weights of the
// fused sequence kernels, lstm_sequence.c and gru_sequence.c): B in the 32-column panels of the
// AVX-512 GEMM, multiplied by that GEMM's micro-kernel on CPUs with AVX-512, else by a 6×16
// AVX2 micro-kernel (also the Winograd weight gradient's, conv_winograd_grad.c) that reads each
// 32-column panel as two 16-column halves. The packed layout is the same on both, so the fused
// kernels do not depend on which one runs.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#include "sgemm_avx2.h"
#include "sgemm_avx512.h"
#include "simd.h"

#ifdef DK_X86

int dk_sgemm_prepacked_available(void) { return dk_simd_level() >= 1; }

int64_t dk_sgemm_packed_b_floats(int64_t K, int64_t N) { return K * ((N + NR - 1) / NR) * NR; }

// The whole of B: the balanced KC blocks one after another, each holding its 32-column panels
// (the layout the AVX-512 GEMM's block() reads, and prepacked_avx2 below).
void dk_sgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    if (K <= 0 || N <= 0) return;
    int64_t kBlocks = (K + KC - 1) / KC, kcMax = (K + kBlocks - 1) / kBlocks, np = (N + NR - 1) / NR * NR;
    for (int64_t p0 = 0; p0 < K; p0 += kcMax) {
        int64_t kc = K - p0 < kcMax ? K - p0 : kcMax;
        if (dk_simd_level() == 2) dk_sgemm_pack_panels(transB, B, ldb, p0, kc, 0, N, dst + p0 * np);
        else dk_gemm_pack_panels_f32(transB, B, ldb, p0, kc, 0, N, dst + p0 * np);
    }
}

// The 6×16 tile of sgemm_avx2.h with `rows` (6 or 4, a constant where it is inlined) rows of
// accumulators. Rows past mr repeat the last row (computed, not stored); lanes past a half's count
// are computed from whatever B holds there and not stored (a partial half is stored in pieces of
// 4, 2 and 1 lanes).
DK_TARGET_AVX2 static inline __attribute__((always_inline)) void micro_taps(int rows, int64_t taps, const int64_t *tapOffset,
        int64_t kc, const float *a, int64_t lda, int64_t mr, const float *restrict b, int64_t bs, const float *bias,
        float *restrict c, int64_t ldc, dk_tile_halves h, int accumulate) {
    const float *r0 = a, *r1 = a + (mr > 1 ? 1 : 0) * lda, *r2 = a + (mr > 2 ? 2 : mr - 1) * lda;
    const float *r3 = a + (mr > 3 ? 3 : mr - 1) * lda, *r4 = a + (mr > 4 ? 4 : mr - 1) * lda;
    const float *r5 = a + (mr > 5 ? 5 : mr - 1) * lda;
#define START(r) (bias ? _mm256_set1_ps(bias[r < mr ? r : mr - 1]) : _mm256_setzero_ps())
    __m256 c00 = START(0), c01 = c00, c10 = START(1), c11 = c10, c20 = START(2), c21 = c20;
    __m256 c30 = START(3), c31 = c30, c40 = START(4), c41 = c40, c50 = START(5), c51 = c50;
#undef START
    for (int64_t t = 0; t < taps; t++, r0 += kc, r1 += kc, r2 += kc, r3 += kc, r4 += kc, r5 += kc) {
        const float *bt = b + tapOffset[t];
        for (int64_t k = 0; k < kc; k++) {
            __m256 b0 = _mm256_loadu_ps(bt), b1 = _mm256_loadu_ps(bt + h.bHigh), x;
#define ROW(r, lo, hi)                     \
    x = _mm256_broadcast_ss(r + k);        \
    lo = _mm256_fmadd_ps(x, b0, lo);       \
    hi = _mm256_fmadd_ps(x, b1, hi);
            ROW(r0, c00, c01) ROW(r1, c10, c11) ROW(r2, c20, c21) ROW(r3, c30, c31)
            if (rows > 4) { ROW(r4, c40, c41) ROW(r5, c50, c51) }
#undef ROW
            bt += bs;
        }
    }
    // Stored row by row with the accumulators named (an array of them, indexed by r, made the
    // compiler spill accumulators inside the loop above).
    dk_store_halves(c, h, c00, c01, accumulate);
    if (mr > 1) dk_store_halves(c + ldc, h, c10, c11, accumulate);
    if (mr > 2) dk_store_halves(c + 2 * ldc, h, c20, c21, accumulate);
    if (mr > 3) dk_store_halves(c + 3 * ldc, h, c30, c31, accumulate);
    if (rows > 4 && mr > 4) dk_store_halves(c + 4 * ldc, h, c40, c41, accumulate);
    if (rows > 4 && mr > 5) dk_store_halves(c + 5 * ldc, h, c50, c51, accumulate);
}

// Tiles of at most 4 rows run with 8 accumulators, so that they do not compute 6 rows for 4.
DK_TARGET_AVX2 void dk_micro_6x16_taps_avx2(int64_t taps, const int64_t *tapOffset, int64_t kc, const float *a, int64_t lda,
                                            int64_t mr, const float *restrict b, int64_t bs, const float *bias,
                                            float *restrict c, int64_t ldc, dk_tile_halves h, int accumulate) {
    if (mr > 4) micro_taps(6, taps, tapOffset, kc, a, lda, mr, b, bs, bias, c, ldc, h, accumulate);
    else micro_taps(4, taps, tapOffset, kc, a, lda, mr, b, bs, bias, c, ldc, h, accumulate);
}

// One stretch of 16 contiguous columns (constants where micro_taps is inlined).
DK_TARGET_AVX2 void dk_micro_6x16_avx2(int64_t kc, const float *a, int64_t lda, int64_t mr, const float *restrict b, int64_t bs,
                                       float *restrict c, int64_t ldc, int64_t nv, int accumulate) {
    static const int64_t none = 0;
    if (mr > 4) micro_taps(6, 1, &none, kc, a, lda, mr, b, bs, NULL, c, ldc, dk_contiguous_halves(nv), accumulate);
    else micro_taps(4, 1, &none, kc, a, lda, mr, b, bs, NULL, c, ldc, dk_contiguous_halves(nv), accumulate);
}

// C[:, j0:j1] (= or +=) A·B[:, j0:j1] on AVX2, B packed by dk_sgemm_pack_b.
DK_TARGET_AVX2 static void prepacked_avx2(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB,
                                          int64_t j0, int64_t j1, float *C, int64_t ldc, int accumulate) {
    if (K == 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; i++) memset(C + i * ldc + j0, 0, sizeof(float) * (size_t)(j1 - j0));
        return;
    }
    int64_t kBlocks = (K + KC - 1) / KC, kcMax = (K + kBlocks - 1) / kBlocks, np = (N + NR - 1) / NR * NR;
    for (int64_t p0 = 0; p0 < K; p0 += kcMax) {
        int64_t kc = K - p0 < kcMax ? K - p0 : kcMax;
        int acc = p0 > 0 || accumulate;
        for (int64_t jc = j0; jc < j1; jc += NR2) {
            int64_t nv = j1 - jc < NR2 ? j1 - jc : NR2;
            // Column jc lies in panel jc / NR, at half (jc % NR) / NR2 of it.
            const float *b = packedB + p0 * np + (jc / NR) * NR * kc + jc % NR;
            for (int64_t i = 0, mr; i < M; i += mr) {
                mr = dk_tile_rows_avx2(M - i);
                dk_micro_6x16_avx2(kc, A + i * lda + p0, lda, mr, b, NR, C + i * ldc + jc, ldc, nv, acc);
            }
        }
    }
}

void dk_sgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB, int64_t j0,
                        int64_t j1, float *C, int64_t ldc, int accumulate) {
    if (M <= 0 || j1 <= j0) return;
    if (dk_simd_level() == 2) dk_sgemm_avx512_prepacked(M, N, K, A, lda, packedB, j0, j1, C, ldc, accumulate);
    else prepacked_avx2(M, N, K, A, lda, packedB, j0, j1, C, ldc, accumulate);
}

#else
int dk_sgemm_prepacked_available(void) { return 0; }
int64_t dk_sgemm_packed_b_floats(int64_t K, int64_t N) { (void)K; (void)N; abort(); }
void dk_sgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    (void)transB; (void)K; (void)N; (void)B; (void)ldb; (void)dst;
    abort();
}
void dk_sgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB, int64_t j0,
                        int64_t j1, float *C, int64_t ldc, int accumulate) {
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)packedB; (void)j0; (void)j1; (void)C; (void)ldc; (void)accumulate;
    abort();
}
#endif
