// AMX tiles (bgemm_amx.c) for the bf16 GEMM's blocks (bgemm_avx512.c: products and
// dk_bgemm_prepacked) and the bf16 direct convolutions (conv_direct_amx.c), used when dk_amx_path(): configure the calling thread's
// tiles, run the tile operations, release. The operations go through the DK_TILE_* macros,
// which run them on the tiles, or, when the scalar model is on (dk_bgemm_amx_model(1), tests on
// CPUs without AMX), on an emulation of the eight tile registers that reads and writes the same
// memory: the kernels' code, tile register numbers included, is the same either way.
#ifndef DK_BGEMM_AMX_H
#define DK_BGEMM_AMX_H
#include <stdint.h>

#include "simd.h"

/// 1 when the tile operations run on the emulation (the scalar model on), 0 on the tiles.
int dk_amx_emulated(void);
/// Loads the tile configuration (eight 16-row × 64-byte tiles) on the calling thread (the model:
/// nothing).
void dk_amx_configure(void);
/// Releases the calling thread's tiles (their state returns to its initial, unused form).
void dk_amx_release(void);
/// C[0:32, 0:32] (= or +=) A · B over `words` (a multiple of 16) pairs of depths: A's row r at
/// a + r·aStride bytes (word t at + 4t), B a 32-column panel (word row t at b + 32t).
void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc,
                       int accumulate);

/// The emulated tile registers of the calling thread (16 rows of 64 bytes each): tileloadd,
/// tilezero, tilestored, and tdpbf16ps (c[m][n] += Σ_k a[m][2k]·b[k][2n] + a[m][2k+1]·b[k][2n+1]
/// for float32 c and bfloat16 a, b; products exact, subnormal inputs and results taken as zero,
/// as the instruction does).
void dk_amx_emu_load(int t, const void *base, int64_t stride);
void dk_amx_emu_zero(int t);
void dk_amx_emu_store(int t, void *base, int64_t stride);
void dk_amx_emu_dpbf16ps(int c, int a, int b);

#if defined(DK_X86) && defined(__linux__)
#define DK_AMX 1
#define DK_TARGET_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma,avx2")))
// The tile operations (register numbers are constants), on the emulation when `emu`.
#define DK_TILE_LOAD(emu, t, base, stride) ((emu) ? dk_amx_emu_load(t, base, stride) : _tile_loadd(t, base, stride))
#define DK_TILE_ZERO(emu, t) ((emu) ? dk_amx_emu_zero(t) : _tile_zero(t))
#define DK_TILE_STORE(emu, t, base, stride) ((emu) ? dk_amx_emu_store(t, base, stride) : _tile_stored(t, base, stride))
#define DK_TILE_DP(emu, c, a, b) ((emu) ? dk_amx_emu_dpbf16ps(c, a, b) : _tile_dpbf16ps(c, a, b))

// The 2×2 blocking of every AMX kernel here: a 32×32 float32 block of C in tiles 0–3 (tile
// 2·row + col holds rows 16·row… and columns 16·col…, at c + 16·(row·ldc + col)), summed from A
// tiles 4 and 5 (rows 0–15, 16–31) and B tiles 6 and 7 (columns 0–15, 16–31).
DK_TARGET_AMX static inline __attribute__((always_inline)) void dk_tiles_zero(int emu) {
    DK_TILE_ZERO(emu, 0);
    DK_TILE_ZERO(emu, 1);
    DK_TILE_ZERO(emu, 2);
    DK_TILE_ZERO(emu, 3);
}
DK_TARGET_AMX static inline __attribute__((always_inline)) void dk_tiles_load(int emu, const float *c, int64_t ldc) {
    DK_TILE_LOAD(emu, 0, c, 4 * ldc);
    DK_TILE_LOAD(emu, 1, c + 16, 4 * ldc);
    DK_TILE_LOAD(emu, 2, c + 16 * ldc, 4 * ldc);
    DK_TILE_LOAD(emu, 3, c + 16 * ldc + 16, 4 * ldc);
}
DK_TARGET_AMX static inline __attribute__((always_inline)) void dk_tiles_store(int emu, float *c, int64_t ldc) {
    DK_TILE_STORE(emu, 0, c, 4 * ldc);
    DK_TILE_STORE(emu, 1, c + 16, 4 * ldc);
    DK_TILE_STORE(emu, 2, c + 16 * ldc, 4 * ldc);
    DK_TILE_STORE(emu, 3, c + 16 * ldc + 16, 4 * ldc);
}
/// C += A · B for one step of 16 words: A's two tiles at a0, a1 (rows aStride bytes apart), B's
/// at b0, b1 (rows bStride bytes apart).
DK_TARGET_AMX static inline __attribute__((always_inline)) void dk_tiles_step(int emu, const void *a0, const void *a1,
                                                                              int64_t aStride, const void *b0, const void *b1,
                                                                              int64_t bStride) {
    DK_TILE_LOAD(emu, 4, a0, aStride);
    DK_TILE_LOAD(emu, 5, a1, aStride);
    DK_TILE_LOAD(emu, 6, b0, bStride);
    DK_TILE_LOAD(emu, 7, b1, bStride);
    DK_TILE_DP(emu, 0, 4, 6);
    DK_TILE_DP(emu, 1, 4, 7);
    DK_TILE_DP(emu, 2, 5, 6);
    DK_TILE_DP(emu, 3, 5, 7);
}
#endif
#endif
