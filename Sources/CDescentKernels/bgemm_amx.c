// The bf16 GEMM's tiles on AMX (Intel's matrix units: amx_tile, amx_bf16), where the CPU and
// the kernel allow them. bgemm_avx512.c packs the operands as for its AVX512-BF16 tiles — A by
// rows of words (depths 2t, 2t + 1 side by side), B into 32-column panels of words — which is
// the layout tdpbf16ps reads: an A tile is 16 rows of 16 words, a B tile 16 words deep and 16
// columns wide. Each 32×32 block of C is four 16×16 float32 tiles, summed over the depth from
// two A tiles and two B tiles per step of 16 words. tdpbf16ps, like vdpbf16ps, multiplies
// bfloat16 pairs exactly and sums in float32 (ties to even; subnormal inputs and outputs flushed
// to zero); only the order of the float32 sums differs from the AVX512-BF16 kernel's.
//
// Linux hands out the tile registers' state per process on request (arch_prctl
// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): AMX is used only when that request succeeds, the
// CPU reports AMX-TILE and AMX-BF16, and DESCENT_AMX is not "0".
//
// For tests on CPUs without AMX, dk_bgemm_amx_model(1) runs the same code (bgemm_amx.h's
// DK_TILE_* operations) on an emulation of the eight tile registers: tileloadd and tilestored
// copy the same memory, and a scalar model computes tdpbf16ps. So the packing, addressing,
// depth tails, edges and tile register numbers of the AMX paths (this GEMM and
// conv_direct_amx.c) are checked on any AVX512-BF16 machine; the instructions themselves and the
// tile configuration are not.
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "simd.h"

#ifdef DK_AMX
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static _Atomic int amx_state = -1;  // -1 not checked yet; 0 off; 1 on; 2 available but turned off
static _Atomic int amx_model;       // 1: the tile operations on the emulation (tests)

static int amx_check(void) {
    unsigned a, b, c, d;
    if (!dk_bgemm_avx512bf16_available()) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
    if (!tile || !bf16) return 0;
    // The OS must have enabled the tile state in XCR0 (bits 17 and 18) …
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;
    // … and grant this process the tile data.
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return 0;
    return 1;
}

static int amx_load_state(void) {
    int s = atomic_load_explicit(&amx_state, memory_order_acquire);
    if (s >= 0) return s;
    int available = amx_check();
    const char *env = getenv("DESCENT_AMX");
    s = available ? (env && strcmp(env, "0") == 0 ? 2 : 1) : 0;
    int expected = -1;
    if (!atomic_compare_exchange_strong(&amx_state, &expected, s)) s = expected;
    return s;
}

int dk_bgemm_amx_available(void) { return amx_load_state() != 0; }

int dk_bgemm_amx_active(void) { return amx_load_state() == 1; }

int dk_amx_path(void) { return amx_load_state() == 1 || atomic_load_explicit(&amx_model, memory_order_acquire); }

int dk_bgemm_amx_model(int on) {
    int can = on && dk_bgemm_avx512bf16_available();
    atomic_store_explicit(&amx_model, can, memory_order_release);
    return can;
}

int dk_bgemm_set_amx(int on) {
    int s = amx_load_state();
    if (s == 0) return 0;
    atomic_store_explicit(&amx_state, on ? 1 : 2, memory_order_release);
    return on ? 1 : 0;
}

// Palette 1: every tile 16 rows of 64 bytes (C: 16×16 float32; A: 16 rows × 16 words; B: 16
// words deep × 16 columns).
typedef struct {
    uint8_t palette, start;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config_t;
_Static_assert(sizeof(tile_config_t) == 64, "ldtilecfg reads 64 bytes");

DK_TARGET_AMX static void configure(void) {
    tile_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) cfg.colsb[i] = 64, cfg.rows[i] = 16;
    _tile_loadconfig(&cfg);
}

DK_TARGET_AMX static void release(void) { _tile_release(); }

// Where the tiles of a 32×32 block's step at depth word t read: A's rows 16·half… (rows aStride
// bytes apart), B's columns 16·half… of the panel (rows B_STRIDE bytes apart).
#define B_STRIDE 128  // a panel's word row: 32 columns of 4 bytes
static inline const char *a_tile(const char *a, int64_t aStride, int half, int64_t t) { return a + 16 * half * aStride + 4 * t; }
static inline const uint32_t *b_tile(const uint32_t *b, int half, int64_t t) { return b + B_STRIDE / 4 * t + 16 * half; }

// C[0:32, 0:32] (= or +=) A[0:32, pairs 0:words] · B (one 32-column panel), words a multiple of
// 16.
DK_TARGET_AMX static void tiles_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc,
                                     int accumulate, int emu) {
    if (accumulate) dk_tiles_load(emu, c, ldc);
    else dk_tiles_zero(emu);
    for (int64_t t = 0; t < words; t += 16)
        dk_tiles_step(emu, a_tile(a, aStride, 0, t), a_tile(a, aStride, 1, t), aStride, b_tile(b, 0, t), b_tile(b, 1, t), B_STRIDE);
    dk_tiles_store(emu, c, ldc);
}

// The emulation: eight registers of 16 rows × 64 bytes per thread.
static _Thread_local uint8_t emu_tiles[8][16][64];

void dk_amx_emu_load(int t, const void *base, int64_t stride) {
    for (int r = 0; r < 16; r++) memcpy(emu_tiles[t][r], (const char *)base + r * stride, 64);
}

void dk_amx_emu_zero(int t) { memset(emu_tiles[t], 0, sizeof emu_tiles[t]); }

void dk_amx_emu_store(int t, void *base, int64_t stride) {
    for (int r = 0; r < 16; r++) memcpy((char *)base + r * stride, emu_tiles[t][r], 64);
}

// Half `high` of a word as float32, a subnormal taken as zero.
static float emu_half(uint32_t word, int high) {
    uint32_t u = high ? word & 0xFFFF0000u : word << 16;
    if ((u & 0x7F800000u) == 0) u &= 0x80000000u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void dk_amx_emu_dpbf16ps(int c, int a, int b) {
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float sum;
            memcpy(&sum, &emu_tiles[c][m][4 * n], 4);
            for (int k = 0; k < 16; k++) {
                uint32_t x, y;
                memcpy(&x, &emu_tiles[a][m][4 * k], 4);
                memcpy(&y, &emu_tiles[b][k][4 * n], 4);
                sum += emu_half(x, 0) * emu_half(y, 0) + emu_half(x, 1) * emu_half(y, 1);
            }
            uint32_t u;
            memcpy(&u, &sum, 4);
            if ((u & 0x7F800000u) == 0) sum = 0.0f * sum;  // a subnormal result flushed (sign kept)
            memcpy(&emu_tiles[c][m][4 * n], &sum, 4);
        }
}

int dk_amx_emulated(void) { return atomic_load_explicit(&amx_model, memory_order_acquire); }

void dk_amx_configure(void) {
    if (!dk_amx_emulated()) configure();
}

void dk_amx_release(void) {
    if (!dk_amx_emulated()) release();
}

void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc, int accumulate) {
    tiles_32x32(words, a, aStride, b, c, ldc, accumulate, dk_amx_emulated());
}

#else
int dk_bgemm_amx_available(void) { return 0; }
int dk_bgemm_amx_active(void) { return 0; }
int dk_amx_path(void) { return 0; }
int dk_bgemm_set_amx(int on) {
    (void)on;
    return 0;
}
int dk_bgemm_amx_model(int on) {
    (void)on;
    return 0;
}
int dk_amx_emulated(void) { return 0; }
void dk_amx_configure(void) { abort(); }
void dk_amx_release(void) { abort(); }
void dk_amx_emu_load(int t, const void *base, int64_t stride) {
    (void)t; (void)base; (void)stride;
    abort();
}
void dk_amx_emu_zero(int t) {
    (void)t;
    abort();
}
void dk_amx_emu_store(int t, void *base, int64_t stride) {
    (void)t; (void)base; (void)stride;
    abort();
}
void dk_amx_emu_dpbf16ps(int c, int a, int b) {
    (void)c; (void)a; (void)b;
    abort();
}
void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc, int accumulate) {
    (void)words; (void)a; (void)aStride; (void)b; (void)c; (void)ldc; (void)accumulate;
    abort();
}
#endif
