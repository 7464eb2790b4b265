// AMX tiles for the bf16 GEMM (bgemm_amx.c), used by bgemm_avx512.c's blocks when
// dk_amx_path(): configure the calling thread's tiles, run 32×32 blocks, release.
#ifndef DK_BGEMM_AMX_H
#define DK_BGEMM_AMX_H
#include <stdint.h>

/// 1 when the bf16 GEMM takes its AMX path: AMX active, or its scalar model on (tests).
int dk_amx_path(void);
/// Loads the tile configuration (eight 16-row × 64-byte tiles) on the calling thread (the model:
/// nothing).
void dk_amx_configure(void);
/// Releases the calling thread's tiles (their state returns to its initial, unused form).
void dk_amx_release(void);
/// C[0:32, 0:32] (= or +=) A · B over `words` (a multiple of 16) pairs of depths: A's row r at
/// a + r·aStride bytes (word t at + 4t), B a 32-column panel (word row t at b + 32t).
void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc,
                       int accumulate);
#endif
