// The parts of the AVX-512 GEMM (sgemm_avx512.c) that pack operands (sgemm_pack.c).
#ifndef DESCENT_SGEMM_AVX512_H
#define DESCENT_SGEMM_AVX512_H
#include "simd.h"

#define MR 8     // rows of the micro-kernel's tile
#define NR 32    // columns of the micro-kernel's tile (a panel of B)
#define KC 256   // depth of a block
#define MC 128   // rows of a block of A
#define NC 1024  // columns of a block of B

#ifdef DK_X86
/// 8-row panels dst[panel][k][r] of rows i0..<i0+mc, depths p0..<p0+kc of A stored transposed
/// (A[i][k] = A[k·lda + i]), zero rows past mc.
DK_TARGET_AVX512 void dk_sgemm_pack_at(const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst);
/// The same panels from A stored by rows (A[i][k] = A[i·lda + k]).
DK_TARGET_AVX512 void dk_sgemm_pack_a_rows(const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst);
/// 32-column panels dst[panel][k][j] (panel jr at dst + jr·kc) of columns j0..<j0+nc, depths
/// p0..<p0+kc of B (stored transposed when transB), zero columns past nc.
DK_TARGET_AVX512 void dk_sgemm_pack_panels(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                                           float *dst);
/// C[:, j0:j1] (= or +=) A·B[:, j0:j1] with B packed by dk_sgemm_pack_b (see dk_sgemm_prepacked).
void dk_sgemm_avx512_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB,
                               int64_t j0, int64_t j1, float *C, int64_t ldc, int accumulate);
#endif
#endif
