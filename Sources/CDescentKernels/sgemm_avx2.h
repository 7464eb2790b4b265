// The AVX2 micro-kernel of the prepacked products (sgemm_prepacked.c), shared with the AVX2
// Winograd weight gradient (conv_winograd_grad.c).
#ifndef DESCENT_SGEMM_AVX2_H
#define DESCENT_SGEMM_AVX2_H
#include "simd.h"

#define MR2 6   // rows of the AVX2 tile
#define NR2 16  // its columns: half a packed panel of 32

/// 32-column panels dst[panel][k][j] (panel at dst + j·kc) of columns j0..<j0+nc, depths
/// p0..<p0+kc of B (stored transposed when transB), zero columns past nc: the built-in float32
/// GEMM's packing (gemm.c), in the layout of dk_sgemm_pack_panels.
void dk_gemm_pack_panels_f32(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                             float *dst);

/// Rows of the next tile when `left` rows remain: 6, except that 7 or 8 rows go as two tiles of
/// at most 4 (the kernel runs those with 4 rows of accumulators), so 32 rows are 4×6 + 2×4
/// rather than 5×6 + a 6-row tile for 2.
static inline int64_t dk_tile_rows_avx2(int64_t left) { return left == 7 || left == 8 ? 4 : left < MR2 ? left : MR2; }

#ifdef DK_X86
/// Where the two 8-lane halves of a tile's 16 columns lie: B's high half `bHigh` floats after its
/// low half, C's `cHigh` after, and how many lanes of each are stored (nLow, nHigh ≤ 8). 16
/// contiguous columns: bHigh = cHigh = 8; two rows of at most 8 columns (a convolution's rows of
/// 6–8 pixels): bHigh the padded row's width, cHigh the output row's.
typedef struct {
    int64_t bHigh, cHigh, nLow, nHigh;
} dk_tile_halves;

/// The halves of nv ≤ 16 contiguous columns.
static inline dk_tile_halves dk_contiguous_halves(int64_t nv) {
    return (dk_tile_halves){8, 8, nv < 8 ? nv : 8, nv - 8};
}

/// The row's halves (= or += when accumulate) lo, hi.
DK_TARGET_AVX2 static inline void dk_store_halves(float *row, dk_tile_halves h, __m256 lo, __m256 hi, int accumulate) {
    if (accumulate) lo = _mm256_add_ps(lo, dk_load_first8(row, h.nLow)), hi = _mm256_add_ps(hi, dk_load_first8(row + h.cHigh, h.nHigh));
    dk_store_first8(row, lo, h.nLow);
    dk_store_first8(row + h.cHigh, hi, h.nHigh);
}

/// C[0:mr, 0:nv] (= or +=) A (6 rows, lda apart, read in place, kc deep) · B (kc rows of 16
/// floats, bs apart); mr ≤ 6, nv ≤ 16 (columns past nv are computed, not stored). Tiles of mr ≤ 4
/// cost 4 rows.
DK_TARGET_AVX2 void dk_micro_6x16_avx2(int64_t kc, const float *a, int64_t lda, int64_t mr, const float *restrict b, int64_t bs,
                                       float *restrict c, int64_t ldc, int64_t nv, int accumulate);
/// The same over `taps` stretches of kc: A's rows run on through them (taps·kc deep), and B's rows
/// of stretch t start at b + tapOffset[t] (a convolution's taps over an image read in place);
/// bias (NULL: none) adds bias[r] to row r; the columns' halves as `h` places them.
DK_TARGET_AVX2 void dk_micro_6x16_taps_avx2(int64_t taps, const int64_t *tapOffset, int64_t kc, const float *a, int64_t lda,
                                            int64_t mr, const float *restrict b, int64_t bs, const float *bias,
                                            float *restrict c, int64_t ldc, dk_tile_halves h, int accumulate);
#endif
#endif
