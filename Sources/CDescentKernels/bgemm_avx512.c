// bfloat16 GEMM on AVX512-BF16 dot products (vdpbf16ps): C (float32, or bfloat16 rounded once
// from the float32 sums) (= or +=) op(A)·op(B), where
// A and B hold bfloat16 values, stored as bfloat16 or as float32 (rounded to the nearest bfloat16,
// ties to even, as they are packed). Each product of two bfloat16 values is exact in float32 and
// the sums are float32: what PyTorch's bf16 matmul computes on such CPUs.
//
// vdpbf16ps multiplies pairs: lane j of the result gains a[2j]·b[2j] + a[2j+1]·b[2j+1]. Both
// operands are therefore packed with depths k and k + 1 side by side in one 32-bit word (k even,
// in the low half; an odd depth's last word is padded with zero):
// - B into 32-column panels, dst[panel][k/2][j] (as the float32 GEMM's panels, one word a pair);
// - A, stored by rows, into rows of words dst[i][k/2] (read by the kernel as the float32 GEMM
//   reads A in place), or bfloat16 A by rows read in place; A stored transposed, into 8-row
//   panels dst[panel][k/2][i].
// An 8×32 micro-kernel (16 accumulators, two B vectors, one broadcast word of A per row) sums
// the tile; blocks and the split over threads follow the float32 AVX-512 GEMM (sgemm_avx512.c).
// Where AMX is on (bgemm_amx.c), the full 32×32 blocks of C run on its tiles instead, which read
// A by rows: A stored transposed is then packed by rows too (dk_bgemm_prepacked's rows are).
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bgemm_amx.h"
#include "simd.h"

#ifdef DK_X86

#define BMR 8      // rows of the tile
#define BNR 32     // columns of the tile (a panel of B)
#define BKC 512    // depth of a block, in values (256 words)
#define BMC 128    // rows of a block of A
#define BNC 1024   // columns of a block of B
#define APAD 16    // words added to a packed row of A, so that rows are not a multiple of 1 KiB apart

int dk_bgemm_avx512bf16_available(void) {
    static _Atomic int cached = -1;
    int c = atomic_load_explicit(&cached, memory_order_relaxed);
    if (c >= 0) return c;
    __builtin_cpu_init();
    c = dk_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
    atomic_store_explicit(&cached, c, memory_order_relaxed);
    return c;
}

// An operand as the kernel reads it: element (r, k) — r a row of op(A) or a column of op(B), k the
// depth — at p[k·ld + r] when depthStrided (A transposed, B not), else at p[r·ld + k];
// bfloat16 or float32 storage.
typedef struct {
    const void *p;
    int bf16, depthStrided;
    int64_t ld;
} operand_t;

// n ≤ 16 consecutive values at element offset `at` of x, as float32 (lanes past n are 0).
DK_TARGET_BF16 static inline __m512 load16(const operand_t *x, int64_t at, int64_t n) {
    __mmask16 m = dk_first_lanes(n);
    if (!x->bf16) return _mm512_maskz_loadu_ps(m, (const float *)x->p + at);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)x->p + at);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// The 16 words of depths k0 + 2t, k0 + 2t + 1 (t < 16) of element row r, where depths are
// contiguous (A by rows, B transposed); depths past k1 are 0.
DK_TARGET_BF16 static inline __m512i run_of_pairs(const operand_t *x, int64_t r, int64_t k0, int64_t k1) {
    int64_t at = r * x->ld + k0, n = k1 - k0;
    // Values k0..k0+31 as 32 bfloat16 in order: word t is (k0 + 2t, k0 + 2t + 1).
    return (__m512i)_mm512_cvtne2ps_pbh(load16(x, at + 16, n - 16), load16(x, at, n));
}

// Panels dst[panel][t][w] (panel at dst + w0·words, w0 the panel's first lane) of lanes
// l0..<l0+nl and depths k0..<k1 of x, `width` (8 or 32) lanes a panel, zero lanes past nl; a
// lane is a column of B or a row of A.
DK_TARGET_BF16 static void pack_panels(const operand_t *x, int64_t l0, int64_t nl, int64_t k0, int64_t k1, int width,
                                       uint32_t *dst) {
    int64_t words = (k1 - k0 + 1) / 2;
    for (int64_t w0 = 0; w0 < nl; w0 += width) {
        uint32_t *panel = dst + w0 * words;
        if (x->depthStrided) {
            // Lanes contiguous (B by rows, A transposed): two rows of depth make 16 words (zero
            // past nl, so that a partial panel holds no stale words).
            for (int64_t g = 0; g < width; g += 16) {
                int64_t n = nl - w0 - g;
                for (int64_t t = 0; t < words; t++) {
                    int64_t k = k0 + 2 * t, at = k * x->ld + l0 + w0 + g;
                    __m512 lo = load16(x, at, n), hi = k + 1 < k1 ? load16(x, at + x->ld, n) : _mm512_setzero_ps();
                    __m512i v = dk_bf16_pairs16(lo, hi);
                    if (width == BMR) _mm256_storeu_si256((__m256i *)(panel + t * width), _mm512_castsi512_si256(v));
                    else _mm512_storeu_si512(panel + t * width + g, v);
                }
            }
            continue;
        }
        // Depths contiguous (B transposed; A by rows is packed by pack_rows): 16 lanes' runs of
        // 16 words, transposed.
        for (int64_t g = 0; g < width; g += 16)
            for (int64_t t0 = 0; t0 < words; t0 += 16) {
                __m512i r[16];
                for (int64_t j = 0; j < 16; j++)
                    r[j] = w0 + g + j < nl ? run_of_pairs(x, l0 + w0 + g + j, k0 + 2 * t0, k1) : _mm512_setzero_si512();
                dk_transpose16_words(r);
                for (int64_t t = 0; t < 16 && t0 + t < words; t++) _mm512_storeu_si512(panel + (t0 + t) * width + g, r[t]);
            }
    }
}

// Rows dst[i][t] (`stride` words apart) of rows i0..<i0+m, depths k0..<k1 of A stored by rows;
// rows up to the next multiple of 8 are zero.
DK_TARGET_BF16 static void pack_rows(const operand_t *x, int64_t i0, int64_t m, int64_t k0, int64_t k1, int64_t stride,
                                     uint32_t *dst) {
    int64_t words = (k1 - k0 + 1) / 2;
    for (int64_t i = 0; i < (m + BMR - 1) / BMR * BMR; i++)
        for (int64_t t = 0; t < words; t += 16) {
            __mmask16 keep = dk_first_lanes(words - t);
            __m512i v = i < m ? run_of_pairs(x, i0 + i, k0 + 2 * t, k1) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32(dst + i * stride + t, keep, v);
        }
}

// The rows of pack_rows (dst[i][t], `stride` words apart, zero up to the next multiple of 8)
// from A stored transposed (depths strided), for the AMX tiles, which read A by rows: 16 rows'
// words for 16 depth pairs at a time, transposed.
DK_TARGET_BF16 static void pack_rows_transposed(const operand_t *x, int64_t i0, int64_t m, int64_t k0, int64_t k1,
                                                int64_t stride, uint32_t *dst) {
    int64_t words = (k1 - k0 + 1) / 2, rows = (m + BMR - 1) / BMR * BMR;
    for (int64_t l = 0; l < rows; l += 16)
        for (int64_t t0 = 0; t0 < words; t0 += 16) {
            __m512i r[16];
            for (int64_t t = 0; t < 16; t++) {
                int64_t k = k0 + 2 * (t0 + t), at = k * x->ld + i0 + l;
                __m512 lo = k < k1 ? load16(x, at, m - l) : _mm512_setzero_ps();
                __m512 hi = k + 1 < k1 ? load16(x, at + x->ld, m - l) : _mm512_setzero_ps();
                r[t] = dk_bf16_pairs16(lo, hi);
            }
            dk_transpose16_words(r);
            __mmask16 keep = dk_first_lanes(words - t0);
            for (int64_t j = 0; j < 16 && l + j < rows; j++) _mm512_mask_storeu_epi32(dst + (l + j) * stride + t0, keep, r[j]);
        }
}

// C[0:mr, 0:32] (= or +=) A (8 rows) · B (one packed panel), `words` deep. Row r of A at step t
// is the word at byte a + r·rs + t·ks; two base pointers and two offsets reach all eight rows.
// With roundResult each sum is rounded to bfloat16 before it is stored or added.
DK_TARGET_BF16 static void micro_8x32(int64_t words, const char *a, int64_t rs, int64_t ks, const uint32_t *restrict b,
                                      float *restrict c, int64_t ldc, int64_t mr, __mmask16 m0, __mmask16 m1, int accumulate,
                                      int roundResult) {
    const char *p = a, *q = a + 4 * rs;
    const int64_t r1 = rs, r3 = 3 * r1, step = ks;
    // The tile's rows of C, read at the end, brought into L2 while the sums run.
    if (accumulate)
        for (int64_t r = 0; r < mr; r++) {
            _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T1);
            _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T1);
        }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int64_t t = 0; t < words; t++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16), x;
#define ROW(addr, lo, hi)                                      \
    x = (__m512bh)_mm512_set1_epi32(*(const int32_t *)(addr)); \
    lo = _mm512_dpbf16_ps(lo, x, b0);                          \
    hi = _mm512_dpbf16_ps(hi, x, b1);
        ROW(p, c00, c01) ROW(p + r1, c10, c11) ROW(p + 2 * r1, c20, c21) ROW(p + r3, c30, c31)
        ROW(q, c40, c41) ROW(q + r1, c50, c51) ROW(q + 2 * r1, c60, c61) ROW(q + r3, c70, c71)
#undef ROW
        b += BNR;
        p += step;
        q += step;
    }
    // Row by row from the registers (not through an array on the stack: a 64-byte load of a
    // 64-byte store waits for the store on cores that split it in two, as Zen 4's do).
#define STORE_ROW(r, lo, hi)                                                        \
    if (r < mr) {                                                                   \
        float *row = c + r * ldc;                                                   \
        __m512 v0 = lo, v1 = hi;                                                    \
        if (roundResult) v0 = dk_bf16_round16(v0), v1 = dk_bf16_round16(v1);        \
        if (accumulate) {                                                           \
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));                 \
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));            \
        }                                                                           \
        _mm512_mask_storeu_ps(row, m0, v0);                                         \
        _mm512_mask_storeu_ps(row + 16, m1, v1);                                    \
    }
    STORE_ROW(0, c00, c01) STORE_ROW(1, c10, c11) STORE_ROW(2, c20, c21) STORE_ROW(3, c30, c31)
    STORE_ROW(4, c40, c41) STORE_ROW(5, c50, c51) STORE_ROW(6, c60, c61) STORE_ROW(7, c70, c71)
#undef STORE_ROW
}

typedef struct {
    operand_t a, b;
    void *C;  // float32, or bfloat16 in form 1
    int64_t M, N, K, ldc, parts;
    int splitN, accumulate, cForm;  // dk_bgemm_avx512bf16's
} job_t;

// Per-thread packing buffers, kept between calls (as in sgemm_avx512.c).
static __thread uint32_t *tl_abuf, *tl_bbuf;

static uint32_t *thread_buffer(uint32_t **slot, size_t words) {
    if (!*slot) {
        *slot = aligned_alloc(64, sizeof(uint32_t) * words);
        if (!*slot) abort();
    }
    return *slot;
}

// The AMX part of a block's panel: rows 0, 32, … of the block's A (by rows: rows ic + … of A
// read in place while whole blocks of 32 lie before `full`, else the packed rows) times the
// full panel b into c (the block's first row), over the first tileWords words on the tiles and
// the rest on micro_8x32. Returns the first row left for micro_8x32.
DK_TARGET_BF16 __attribute__((noinline)) static int64_t amx_rows(const job_t *job, const uint32_t *abuf, int64_t ic, int64_t k0,
                                                                int64_t mc, int64_t full, int64_t stride, int64_t words,
                                                                int64_t tileWords, const uint32_t *b, float *c, int64_t ldc, int acc) {
    int64_t ir = 0;
    for (; (ir < full ? full : mc) - ir >= 32; ir += 32) {
        const char *a;
        int64_t rs;
        if (ir < full) a = (const char *)job->a.p + 2 * ((ic + ir) * job->a.ld + k0), rs = 2 * job->a.ld;
        else a = (const char *)(abuf + (ir - full) * stride), rs = 4 * stride;
        dk_amx_tile_32x32(tileWords, a, rs, b, c + ir * ldc, ldc, acc);
        if (tileWords < words)
            for (int64_t r = 0; r < 32; r += BMR)
                micro_8x32(words - tileWords, a + r * rs + 4 * tileWords, rs, 4, b + tileWords * BNR, c + (ir + r) * ldc, ldc, BMR,
                           0xFFFF, 0xFFFF, 1, 0);
    }
    return ir;
}

// C[0:i1−i0, 0:j1−j0] (float32, rows ldc apart) (= or +=) op(A)[i0:i1, :] · op(B)[:, j0:j1].
DK_TARGET_BF16 static void products(const job_t *job, float *C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    int64_t K = job->K;
    if (K == 0) {
        if (!job->accumulate)
            for (int64_t i = i0; i < i1; i++) memset(C + (i - i0) * ldc, 0, sizeof(float) * (size_t)(j1 - j0));
        return;
    }
    // Blocks of even depth, balanced so that the last is not a sliver.
    int64_t kBlocks = (K + BKC - 1) / BKC, kcMax = ((K + kBlocks - 1) / kBlocks + 1) / 2 * 2;
    // bfloat16 A by rows holds its pairs of depths side by side already: it is read in place, but
    // for an odd depth (whose last pair would read past the row).
    int inPlace = job->a.bf16 && !job->a.depthStrided && K % 2 == 0;
    // On AMX, full 32×32 blocks of C run on the tiles (over the depth's whole multiples of 16
    // words; the rest, and blocks at the edges, on micro_8x32), which read A by rows.
    int amx = dk_amx_path(), aRows = amx || !job->a.depthStrided;
    uint32_t *abuf = thread_buffer(&tl_abuf, BMC * (BKC / 2 + APAD));
    uint32_t *bbuf = thread_buffer(&tl_bbuf, BNC * BKC / 2);
    if (amx) dk_amx_configure();
    for (int64_t jc = j0; jc < j1; jc += BNC) {
        int64_t nc = j1 - jc < BNC ? j1 - jc : BNC;
        for (int64_t k0 = 0; k0 < K; k0 += kcMax) {
            int64_t k1 = K - k0 < kcMax ? K : k0 + kcMax, words = (k1 - k0 + 1) / 2, tileWords = amx ? words / 16 * 16 : 0;
            int acc = k0 > 0 || job->accumulate;
            pack_panels(&job->b, jc, nc, k0, k1, BNR, bbuf);
            for (int64_t ic = i0; ic < i1; ic += BMC) {
                int64_t mc = i1 - ic < BMC ? i1 - ic : BMC, stride = words + APAD, full = inPlace ? mc / BMR * BMR : 0;
                // Packed: panels (A transposed), rows, or (A read in place) the last partial tile's rows.
                if (!aRows) pack_panels(&job->a, ic, mc, k0, k1, BMR, abuf);
                else if (job->a.depthStrided) pack_rows_transposed(&job->a, ic, mc, k0, k1, stride, abuf);
                else if (full < mc) pack_rows(&job->a, ic + full, mc - full, k0, k1, stride, abuf);
                for (int64_t jr = 0; jr < nc; jr += BNR) {
                    __mmask16 m0 = dk_first_lanes(nc - jr), m1 = dk_first_lanes(nc - jr - 16);
                    float *c = C + (ic - i0) * ldc + jc + jr - j0;
                    // Full panels on AMX: rows in blocks of 32 (of A read in place, or packed).
                    int64_t ir = tileWords > 0 && nc - jr >= BNR
                                     ? amx_rows(job, abuf, ic, k0, mc, full, stride, words, tileWords, bbuf + jr * words, c, ldc, acc)
                                     : 0;
                    for (; ir < mc; ir += BMR) {
                        const char *a;
                        int64_t rs, ks;
                        if (!aRows) a = (const char *)(abuf + ir * words), rs = 4, ks = 4 * BMR;
                        else if (ir < full) a = (const char *)job->a.p + 2 * ((ic + ir) * job->a.ld + k0), rs = 2 * job->a.ld, ks = 4;
                        else a = (const char *)(abuf + (ir - full) * stride), rs = 4 * stride, ks = 4;
                        micro_8x32(words, a, rs, ks, bbuf + jr * words, c + ir * ldc, ldc, mc - ir < BMR ? mc - ir : BMR, m0, m1, acc, 0);
                    }
                }
            }
        }
    }
    if (amx) dk_amx_release();
}

static __thread float *tl_cbuf;  // a part's float32 sums when C is bfloat16
static __thread size_t tl_cfloats;

// C[i0:i1, j0:j1] of the job: in place for float32 C (form 2: then rounded where it lies, while
// the part is still in cache); for bfloat16 C, summed in a float32 buffer of the thread's and
// rounded once at the end.
DK_TARGET_BF16 static void block(const job_t *job, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    if (i1 <= i0 || j1 <= j0) return;
    if (job->cForm != 1) {
        float *c = (float *)job->C + i0 * job->ldc + j0;
        products(job, c, job->ldc, i0, i1, j0, j1);
        if (job->cForm == 2)
            for (int64_t i = 0; i < i1 - i0; i++)
                for (int64_t j = 0; j < j1 - j0; j += 16) {
                    __mmask16 m = dk_first_lanes(j1 - j0 - j);
                    float *p = c + i * job->ldc + j;
                    _mm512_mask_storeu_ps(p, m, dk_bf16_round16(_mm512_maskz_loadu_ps(m, p)));
                }
        return;
    }
    int64_t n = j1 - j0;
    size_t need = (size_t)((i1 - i0) * n);
    if (tl_cfloats < need) {
        free(tl_cbuf);
        tl_cbuf = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
        if (!tl_cbuf) abort();
        tl_cfloats = need;
    }
    products(job, tl_cbuf, n, i0, i1, j0, j1);
    for (int64_t i = i0; i < i1; i++) {
        const float *s = tl_cbuf + (i - i0) * n;
        uint16_t *d = (uint16_t *)job->C + i * job->ldc + j0;
        // (Masked only at the row's end: other threads write past it. dk_store_bf16_run.)
        for (int64_t j = 0; j < n; j += 16)
            dk_store_bf16_run(d + j, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(dk_first_lanes(n - j), s + j)), n - j);
    }
}

static void task(void *ctx, int64_t t) {
    const job_t *job = ctx;
    int64_t size = job->splitN ? job->N : job->M, unit = job->splitN ? BNR : BMR;
    int64_t units = (size + unit - 1) / unit;
    int64_t s0 = units * t / job->parts * unit, s1 = units * (t + 1) / job->parts * unit;
    if (s1 > size) s1 = size;
    if (job->splitN) block(job, 0, job->M, s0, s1);
    else block(job, s0, s1, 0, job->N);
}

void dk_bgemm_avx512bf16(int transA, int transB, int64_t M, int64_t N, int64_t K, const void *A, int aBF16, int64_t lda,
                         const void *B, int bBF16, int64_t ldb, void *C, int cForm, int64_t ldc, int accumulate, int threads) {
    if (M <= 0 || N <= 0) return;
    if (cForm && accumulate) abort();  // not offered: a rounded C is written, never added to
    job_t job = {{A, aBF16, transA, lda}, {B, bBF16, !transB, ldb}, C, M, N, K, ldc, 1, 0, accumulate, cForm};
    // Split the larger side (each part packs all of the other operand) into parts that threads
    // take as they come free: four per thread when each stays large (≥ 16 M multiply-adds), so
    // that a thread slowed by other work on its core takes fewer; below ~1 MFLOP a part does not
    // pay for its hand-off.
    int64_t mUnits = (M + BMR - 1) / BMR, nUnits = (N + BNR - 1) / BNR, work = M * N * K;
    job.splitN = nUnits * BNR >= mUnits * BMR;
    int64_t parts = threads < 1 ? 1 : threads, units = job.splitN ? nUnits : mUnits;
    if (parts > 1 && work / (4 * parts) >= (int64_t)16 << 20) parts *= 4;
    if (parts > units) parts = units;
    while (parts > 1 && work / parts < 500000) parts--;
    job.parts = parts;
    dk_parallel_for(parts, threads, task, &job);
}

// Prepacked products (the fused recurrent kernels' per-step products under autocast): B packed
// once into 32-column panels of the whole depth, A packed for each call.

int64_t dk_bgemm_packed_b_words(int64_t K, int64_t N) {
    return (N + BNR - 1) / BNR * BNR * ((K + 1) / 2);
}

void dk_bgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, uint32_t *dst) {
    operand_t b = {B, 0, !transB, ldb};
    pack_panels(&b, 0, N, 0, K, BNR, dst);
}

// C[0:32, 0:32] (= or +=) A (32 rows of words, rs bytes apart) · B (one packed panel), `words`
// deep: the product summed in a 32×32 buffer, on the tiles over the depth's whole multiples of 16
// words and by micro_8x32 over the rest, then (rounded to bfloat16 with roundResult, as
// micro_8x32 rounds) stored or added.
DK_TARGET_BF16 __attribute__((noinline)) static void amx_prepacked_block(int64_t words, const char *a, int64_t rs, const uint32_t *b,
                                                                         float *c, int64_t ldc, int accumulate, int roundResult) {
    float buf[32 * 32] __attribute__((aligned(64)));
    int64_t tileWords = words / 16 * 16;
    dk_amx_tile_32x32(tileWords, a, rs, b, buf, 32, 0);
    if (tileWords < words)
        for (int64_t r = 0; r < 32; r += BMR)
            micro_8x32(words - tileWords, a + r * rs + 4 * tileWords, rs, 4, b + tileWords * BNR, buf + r * 32, 32, BMR, 0xFFFF, 0xFFFF,
                       1, 0);
    for (int64_t r = 0; r < 32; r++)
        for (int h = 0; h < 32; h += 16) {
            __m512 v = _mm512_load_ps(buf + r * 32 + h);
            if (roundResult) v = dk_bf16_round16(v);
            if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c + r * ldc + h));
            _mm512_storeu_ps(c + r * ldc + h, v);
        }
}

static __thread uint32_t *tl_prepacked_a;  // A's rows for dk_bgemm_prepacked
static __thread size_t tl_prepacked_words;

void dk_bgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const uint32_t *packedB, int64_t j0,
                        int64_t j1, float *C, int64_t ldc, int accumulate, int roundResult) {
    if (M <= 0 || j1 <= j0) return;
    int64_t words = (K + 1) / 2, stride = words + APAD;
    size_t need = (size_t)((M + BMR - 1) / BMR * BMR * stride);
    if (tl_prepacked_words < need) {
        free(tl_prepacked_a);
        tl_prepacked_a = aligned_alloc(64, (need * sizeof(uint32_t) + 63) / 64 * 64);
        if (!tl_prepacked_a) abort();
        tl_prepacked_words = need;
    }
    operand_t a = {A, 0, 0, lda};
    pack_rows(&a, 0, M, 0, K, stride, tl_prepacked_a);
    (void)N;
    // On AMX, full 32×32 blocks on the tiles (as in products).
    int amx = dk_amx_path() && M >= 32 && words >= 16;
    if (amx) dk_amx_configure();
    for (int64_t jr = j0; jr < j1; jr += BNR) {
        __mmask16 m0 = dk_first_lanes(j1 - jr), m1 = dk_first_lanes(j1 - jr - 16);
        int64_t ir = 0;
        if (amx && j1 - jr >= BNR)
            for (; M - ir >= 32; ir += 32)
                amx_prepacked_block(words, (const char *)(tl_prepacked_a + ir * stride), 4 * stride, packedB + jr * words, C + ir * ldc + jr,
                                    ldc, accumulate, roundResult);
        for (; ir < M; ir += BMR)
            micro_8x32(words, (const char *)(tl_prepacked_a + ir * stride), 4 * stride, 4, packedB + jr * words, C + ir * ldc + jr,
                       ldc, M - ir < BMR ? M - ir : BMR, m0, m1, accumulate, roundResult);
    }
    if (amx) dk_amx_release();
}

#else
int64_t dk_bgemm_packed_b_words(int64_t K, int64_t N) { (void)K; (void)N; abort(); }
void dk_bgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, uint32_t *dst) {
    (void)transB; (void)K; (void)N; (void)B; (void)ldb; (void)dst;
    abort();
}
void dk_bgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const uint32_t *packedB, int64_t j0,
                        int64_t j1, float *C, int64_t ldc, int accumulate, int roundResult) {
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)packedB; (void)j0; (void)j1; (void)C; (void)ldc; (void)accumulate;
    (void)roundResult;
    abort();
}
int dk_bgemm_avx512bf16_available(void) { return 0; }
void dk_bgemm_avx512bf16(int transA, int transB, int64_t M, int64_t N, int64_t K, const void *A, int aBF16, int64_t lda,
                         const void *B, int bBF16, int64_t ldb, void *C, int cForm, int64_t ldc, int accumulate, int threads) {
    (void)transA; (void)cForm; (void)transB; (void)M; (void)N; (void)K; (void)A; (void)aBF16; (void)lda; (void)B; (void)bBF16;
    (void)ldb; (void)C; (void)ldc; (void)accumulate; (void)threads;
    abort();
}
#endif
