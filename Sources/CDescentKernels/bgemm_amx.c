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
// For tests on CPUs without AMX, dk_bgemm_amx_model(1) runs the same path with each tile
// product computed by a scalar model of tdpbf16ps that reads the same memory (tiles loaded
// from the same addresses and strides), so that the packing, addressing, depth tails and edges
// of the AMX path are checked on any AVX512-BF16 machine.
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "simd.h"

#if defined(DK_X86) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

#define DK_TARGET_AMX __attribute__((target("amx-tile,amx-bf16,avx512f")))

static _Atomic int amx_state = -1;  // -1 not checked yet; 0 off; 1 on; 2 available but turned off
static _Atomic int amx_model;       // 1: the tiles' products on the scalar model (tests)

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

// Where the tiles of a 32×32 block live, shared by the tiles and the model so that the model
// checks these addresses too: A's rows 16·half… at depth word t (rows aStride bytes apart), B's
// columns 16·half… of the panel from word row t (rows B_STRIDE bytes apart), and C's tile
// (row, col) (rows ldc floats apart).
#define B_STRIDE 128  // a panel's word row: 32 columns of 4 bytes
static inline const char *a_tile(const char *a, int64_t aStride, int half, int64_t t) { return a + 16 * half * aStride + 4 * t; }
static inline const uint32_t *b_tile(const uint32_t *b, int half, int64_t t) { return b + B_STRIDE / 4 * t + 16 * half; }
static inline float *c_tile(float *c, int64_t ldc, int row, int col) { return c + 16 * (row * ldc + col); }

// C[0:32, 0:32] (= or +=) A[0:32, pairs 0:words] · B (one 32-column panel), words a multiple of
// 16: tile 2·row + col of C from A's half `row` and B's half `col`.
DK_TARGET_AMX static void tiles_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc,
                                     int accumulate) {
    int64_t cs = 4 * ldc;
    if (accumulate) {
        _tile_loadd(0, c_tile(c, ldc, 0, 0), cs);
        _tile_loadd(1, c_tile(c, ldc, 0, 1), cs);
        _tile_loadd(2, c_tile(c, ldc, 1, 0), cs);
        _tile_loadd(3, c_tile(c, ldc, 1, 1), cs);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int64_t t = 0; t < words; t += 16) {
        _tile_loadd(4, a_tile(a, aStride, 0, t), aStride);
        _tile_loadd(5, a_tile(a, aStride, 1, t), aStride);
        _tile_loadd(6, b_tile(b, 0, t), B_STRIDE);
        _tile_loadd(7, b_tile(b, 1, t), B_STRIDE);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c_tile(c, ldc, 0, 0), cs);
    _tile_stored(1, c_tile(c, ldc, 0, 1), cs);
    _tile_stored(2, c_tile(c, ldc, 1, 0), cs);
    _tile_stored(3, c_tile(c, ldc, 1, 1), cs);
}

// The model: tdpbf16ps on a 16×16 tile of C (rows ldc floats apart) from A's 16 rows of 16
// words (aStride bytes apart) and B's 16 rows of 16 words (B_STRIDE bytes apart):
// c[m][n] += Σ_k a[m][2k]·b[k][2n] + a[m][2k+1]·b[k][2n+1], exact products summed in float32.
static float model_half(uint32_t word, int high) {
    uint32_t u = high ? word & 0xFFFF0000u : word << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void model_tile(float *c, int64_t ldc, const char *a, int64_t aStride, const uint32_t *b, int accumulate) {
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float sum = accumulate ? c[m * ldc + n] : 0.0f;
            for (int k = 0; k < 16; k++) {
                uint32_t x, y = b[B_STRIDE / 4 * k + n];
                memcpy(&x, a + m * aStride + 4 * k, sizeof x);
                sum += model_half(x, 0) * model_half(y, 0) + model_half(x, 1) * model_half(y, 1);
            }
            c[m * ldc + n] = sum;
        }
}

void dk_amx_configure(void) {
    if (!atomic_load_explicit(&amx_model, memory_order_acquire)) configure();
}

void dk_amx_release(void) {
    if (!atomic_load_explicit(&amx_model, memory_order_acquire)) release();
}

void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc, int accumulate) {
    if (!atomic_load_explicit(&amx_model, memory_order_acquire)) {
        tiles_32x32(words, a, aStride, b, c, ldc, accumulate);
        return;
    }
    for (int64_t t = 0; t < words; t += 16)
        for (int row = 0; row < 2; row++)
            for (int col = 0; col < 2; col++)
                model_tile(c_tile(c, ldc, row, col), ldc, a_tile(a, aStride, row, t), aStride, b_tile(b, col, t), accumulate || t > 0);
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
void dk_amx_configure(void) { abort(); }
void dk_amx_release(void) { abort(); }
void dk_amx_tile_32x32(int64_t words, const char *a, int64_t aStride, const uint32_t *b, float *c, int64_t ldc, int accumulate) {
    (void)words; (void)a; (void)aStride; (void)b; (void)c; (void)ldc; (void)accumulate;
    abort();
}
#endif
