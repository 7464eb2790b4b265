// Float32 GEMM for CPUs with AVX-512 (Skylake-SP and later): an 8x32 register-blocked
// micro-kernel (16 accumulators, two B vectors, one broadcast of A per row). B is packed into
// 32-column panels; A is read in place when its rows are contiguous (A·B, A·Bᵀ) and packed
// into 8-row panels when transposed (Aᵀ·B). On several threads, large products give each thread a
// slice of every packed block of B and let threads that finish early take rows of other slices;
// smaller ones are split along the larger of M and N into parts taken as threads come free.
// Compiled for AVX-512 with a target attribute; callers check dk_sgemm_avx512_available().
#include "descent_kernels.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sgemm_avx512.h"
#include "simd.h"

#ifdef DK_X86


int dk_sgemm_avx512_available(void) { return dk_cpu_has_avx512(); }


// C[0:mr, 0:32] (= or +=) A (8 rows) · B (kc rows of 32, `bs` apart: packed, or in place). Row r of A at k-step k is
// a[r * rs + k * ks] (rs = lda, ks = 1 in place; rs = 1, ks = 8 packed): two base pointers and
// two offsets address all eight rows, so that nothing is spilled from the loop. 16 accumulators,
// two B vectors, one broadcast of A per row.
DK_TARGET_AVX512 static void micro_8x32(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *restrict b, int64_t bs,
                                 float *restrict c, int64_t ldc, int64_t mr, __mmask16 m0, __mmask16 m1, int accumulate) {
    const char *p = (const char *)a, *q = (const char *)(a + 4 * rs);
    const int64_t r1 = rs * (int64_t)sizeof(float), r3 = 3 * r1, step = ks * (int64_t)sizeof(float);
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    // The C tile is read (or written) after the loop: fetch it now, while the loop runs.
    for (int64_t r = 0; r < mr; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), x;
#define ROW(addr, lo, hi)                               \
    x = _mm512_set1_ps(*(const float *)(addr));         \
    lo = _mm512_fmadd_ps(x, b0, lo);                    \
    hi = _mm512_fmadd_ps(x, b1, hi);
        ROW(p, c00, c01) ROW(p + r1, c10, c11) ROW(p + 2 * r1, c20, c21) ROW(p + r3, c30, c31)
        ROW(q, c40, c41) ROW(q + r1, c50, c51) ROW(q + 2 * r1, c60, c61) ROW(q + r3, c70, c71)
#undef ROW
        b += bs;
        p += step;
        q += step;
    }
    __m512 lo[MR] = {c00, c10, c20, c30, c40, c50, c60, c70};
    __m512 hi[MR] = {c01, c11, c21, c31, c41, c51, c61, c71};
    int full = m0 == 0xFFFF && m1 == 0xFFFF;  // masked loads and stores cost more than plain ones
    for (int64_t r = 0; r < mr; r++) {
        float *row = c + r * ldc;
        __m512 v0 = lo[r], v1 = hi[r];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, full ? _mm512_loadu_ps(row) : _mm512_maskz_loadu_ps(m0, row));
            v1 = _mm512_add_ps(v1, full ? _mm512_loadu_ps(row + 16) : _mm512_maskz_loadu_ps(m1, row + 16));
        }
        if (full) {
            _mm512_storeu_ps(row, v0);
            _mm512_storeu_ps(row + 16, v1);
        } else {
            _mm512_mask_storeu_ps(row, m0, v0);
            _mm512_mask_storeu_ps(row + 16, m1, v1);
        }
    }
}

// Per-thread packing buffers, kept between calls: allocating (and faulting in) a fresh megabyte
// for every product costs more than a small product itself.
static __thread float *tl_abuf, *tl_bbuf;

static float *thread_buffer(float **slot, size_t floats) {
    if (!*slot) {
        *slot = aligned_alloc(64, sizeof(float) * floats);
        if (!*slot) abort();
    }
    return *slot;
}

typedef struct {
    int transA, transB;
    int64_t M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float *C;
    int64_t parts;
    int splitN;
    int accumulate;
    int packRows;  // pack A·B's A instead of reading it in place
    const float *packedB;  // B already packed by dk_sgemm_pack_b (all of it), or NULL
    int64_t packedN;       // its width rounded up to whole panels
} job_t;

// C[ic:ic+mc, jc:jc+nc] (= at p0 = 0 unless accumulating, else +=) A[ic:ic+mc, p0:p0+kc] ·
// B[p0:p0+kc, jc:jc+nc], B's 32-column panels at bpack + q·NR·kc, or (bpack NULL) packed one at
// a time into `bbuf` just before use, or read in place.
DK_TARGET_AVX512 static void rows_times_panels(const job_t *job, int64_t ic, int64_t mc, int64_t p0, int64_t kc, int64_t jc,
                                               int64_t nc, const float *bpack, float *abuf, float *bbuf) {
    if (job->transA) dk_sgemm_pack_at(job->A, job->lda, ic, mc, p0, kc, abuf);
    else if (job->packRows) dk_sgemm_pack_a_rows(job->A, job->lda, ic, mc, p0, kc, abuf);
    else if (mc % MR) dk_sgemm_pack_a_rows(job->A, job->lda, ic + mc / MR * MR, mc % MR, p0, kc, abuf);
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = nc - jr;
        __mmask16 m0 = dk_first_lanes(nr), m1 = dk_first_lanes(nr - 16);
        const float *bp = bpack + jr * kc;
        int64_t bs = NR;
        if (!bpack && !job->transB && nr >= NR && mc <= 32) {
            // At most four row tiles use the panel: packing it would cost more than reading
            // its rows where they are.
            bp = job->B + p0 * job->ldb + jc + jr;
            bs = job->ldb;
        } else if (!bpack) {
            dk_sgemm_pack_panels(job->transB, job->B, job->ldb, p0, kc, jc + jr, nr < NR ? nr : NR, bbuf);
            bp = bbuf;
        }
        for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t mr = mc - ir < MR ? mc - ir : MR;
            float *ct = job->C + (ic + ir) * job->ldc + jc + jr;
            int acc = p0 > 0 || job->accumulate;
            if (job->transA || job->packRows) {
                micro_8x32(kc, abuf + ir * kc, 1, MR, bp, bs, ct, job->ldc, mr, m0, m1, acc);
            } else if (mr == MR) {
                micro_8x32(kc, job->A + (ic + ir) * job->lda + p0, job->lda, 1, bp, bs, ct, job->ldc, mr, m0, m1, acc);
            } else {
                // The last rows of an in-place A, packed above with zero rows, so that the
                // kernel reads no row past the matrix.
                micro_8x32(kc, abuf, 1, MR, bp, bs, ct, job->ldc, mr, m0, m1, acc);
            }
        }
    }
}

// C[i0:i1, j0:j1] = A[i0:i1, :] · B[:, j0:j1]. Blocks: NC columns of B (packed, in L2),
// KC deep (balanced so the last block is not a sliver), MC rows of A (packed).
DK_TARGET_AVX512 static void block(const job_t *job, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    int64_t M = i1 - i0, N = j1 - j0, K = job->K;
    if (M <= 0 || N <= 0) return;
    if (K == 0) {
        if (!job->accumulate)
            for (int64_t i = i0; i < i1; i++) memset(job->C + i * job->ldc + j0, 0, sizeof(float) * (size_t)N);
        return;
    }
    int64_t kBlocks = (K + KC - 1) / KC;
    int64_t kcMax = (K + kBlocks - 1) / kBlocks;
    float *abuf = thread_buffer(&tl_abuf, MC * KC);
    float *bbuf = thread_buffer(&tl_bbuf, NC * KC);
    for (int64_t jc = j0; jc < j1; jc += NC) {
        int64_t nc = j1 - jc < NC ? j1 - jc : NC;
        for (int64_t p0 = 0; p0 < K; p0 += kcMax) {
            int64_t kc = K - p0 < kcMax ? K - p0 : kcMax;
            // A single block of rows, with B small enough to stay in L2, packs each panel just
            // before its use into one slot that stays in L1 (or reads it in place). Otherwise the
            // block is packed at once (long contiguous row stretches, which the hardware
            // prefetcher streams from memory) and shared by all row blocks.
            int fused = !job->packedB && i1 - i0 <= MC && K * job->N <= 256 * 1024;
            const float *bpack = job->packedB ? job->packedB + p0 * job->packedN + jc * kc : fused ? NULL : bbuf;
            if (!fused && !job->packedB) dk_sgemm_pack_panels(job->transB, job->B, job->ldb, p0, kc, jc, nc, bbuf);
            for (int64_t ic = i0; ic < i1; ic += MC)
                rows_times_panels(job, ic, i1 - ic < MC ? i1 - ic : MC, p0, kc, jc, nc, bpack, abuf, bbuf);
        }
    }
}

static void task(void *ctx, int64_t t) {
    const job_t *job = ctx;
    if (job->splitN) {
        int64_t panels = (job->N + NR - 1) / NR;
        int64_t p0 = panels * t / job->parts, p1 = panels * (t + 1) / job->parts;
        int64_t j0 = p0 * NR, j1 = p1 * NR < job->N ? p1 * NR : job->N;
        block(job, 0, job->M, j0, j1);
    } else {
        int64_t panels = (job->M + MR - 1) / MR;
        int64_t p0 = panels * t / job->parts, p1 = panels * (t + 1) / job->parts;
        int64_t i0 = p0 * MR, i1 = p1 * MR < job->M ? p1 * MR : job->M;
        block(job, i0, i1, 0, job->N);
    }
}

// Large products: each KC×NC block of B is cut into one slice of columns per thread; a thread
// packs its slice (into its own cache) and multiplies it by blocks of RB rows of A, then takes
// row blocks of the other slices that are still left, so that a thread slowed by other work on
// its core computes fewer rows instead of holding up the product.
#define RB 64
#define MAX_SLICES 64
#define KC_SLICED 512  // blocks twice as deep: half the passes over C (measured +2–5% on 1024³)
_Static_assert(RB * KC_SLICED <= MC * KC, "a row block of A packed KC_SLICED deep must fit the A buffer");
typedef struct {
    const job_t *job;
    float *bpack;
    int64_t p0, kc, jc, nc, slices;
    _Atomic int64_t next[MAX_SLICES];  // each slice's next row block
    _Atomic int packed[MAX_SLICES];
} stage_t;

static void rows_of_slice(stage_t *s, int64_t t, int64_t j0, int64_t j1) {
    float *abuf = thread_buffer(&tl_abuf, MC * KC), *bbuf = thread_buffer(&tl_bbuf, NC * KC);
    for (int64_t r; (r = atomic_fetch_add_explicit(&s->next[t], 1, memory_order_relaxed)) * RB < s->job->M;) {
        int64_t ic = r * RB, mc = s->job->M - ic < RB ? s->job->M - ic : RB;
        rows_times_panels(s->job, ic, mc, s->p0, s->kc, s->jc + j0, j1 - j0, s->bpack + j0 * s->kc, abuf, bbuf);
    }
}

static void slice_task(void *ctx, int64_t t) {
    stage_t *s = ctx;
    int64_t panels = (s->nc + NR - 1) / NR, j[MAX_SLICES + 1];
    for (int64_t u = 0; u <= s->slices; u++) j[u] = panels * u / s->slices * NR < s->nc ? panels * u / s->slices * NR : s->nc;
    dk_sgemm_pack_panels(s->job->transB, s->job->B, s->job->ldb, s->p0, s->kc, s->jc + j[t], j[t + 1] - j[t], s->bpack + j[t] * s->kc);
    atomic_store_explicit(&s->packed[t], 1, memory_order_release);
    rows_of_slice(s, t, j[t], j[t + 1]);
    // Only slices already packed: their owner may be this very thread, later (serial run).
    for (int64_t u = 1; u < s->slices; u++) {
        int64_t v = (t + u) % s->slices;
        if (atomic_load_explicit(&s->packed[v], memory_order_acquire)) rows_of_slice(s, v, j[v], j[v + 1]);
    }
}

static float *shared_buffer;  // one KC_SLICED×NC block, kept between products (taken by one product at a time)
static atomic_flag shared_busy = ATOMIC_FLAG_INIT;

static void sliced_product(const job_t *job, int threads) {
    int64_t K = job->K, kBlocks = (K + KC_SLICED - 1) / KC_SLICED, kcMax = (K + kBlocks - 1) / kBlocks;
    int own = !atomic_flag_test_and_set(&shared_busy);
    if (own && !shared_buffer) shared_buffer = aligned_alloc(64, sizeof(float) * KC_SLICED * NC);
    float *bpack = own ? shared_buffer : aligned_alloc(64, sizeof(float) * KC_SLICED * NC);
    if (!bpack) abort();
    for (int64_t jc = 0; jc < job->N; jc += NC)
        for (int64_t p0 = 0; p0 < K; p0 += kcMax) {
            stage_t s = {job, bpack, p0, K - p0 < kcMax ? K - p0 : kcMax, jc, job->N - jc < NC ? job->N - jc : NC, threads};
            int64_t panels = (s.nc + NR - 1) / NR;
            if (s.slices > panels) s.slices = panels;
            if (s.slices > MAX_SLICES) s.slices = MAX_SLICES;
            for (int64_t u = 0; u < s.slices; u++) atomic_init(&s.next[u], 0), atomic_init(&s.packed[u], 0);
            dk_parallel_for(s.slices, threads, slice_task, &s);
        }
    if (own) atomic_flag_clear(&shared_busy);
    else free(bpack);
}

// A one-row product's columns j0..<j1 (a part of dk_sgemm_avx512's, split over the threads).
typedef struct {
    const job_t *job;
    int64_t parts;
} one_row_t;

static void one_row_part(void *ctx, int64_t t) {
    const one_row_t *o = ctx;
    const job_t *job = o->job;
    int64_t j0 = job->N * t / o->parts, j1 = job->N * (t + 1) / o->parts;
    dk_sgemm_one_row(job->transA, job->transB, j1 - j0, job->K, 1, job->A, job->lda, job->B + j0 * (job->transB ? job->ldb : 1),
                     job->ldb, job->accumulate ? 1 : 0, job->C + j0);
}

void dk_sgemm_avx512(int transA, int transB, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate, int threads) {
    if (M <= 0 || N <= 0) return;
    if (M == 1) {
        // A vector–matrix product (a batch-1 linear layer): no packing, as dk_sgemm does; split
        // by columns when there is enough work (≥ 2¹⁵ multiply-adds a part).
        job_t one = {transA, transB, M, N, K, lda, ldb, ldc, A, B, C, 1, 0, accumulate, 0, NULL, 0};
        int64_t parts = N * K >> 15;
        one_row_t o = {&one, parts < 1 ? 1 : parts > threads ? threads : parts};
        if (o.parts > N) o.parts = N;
        dk_parallel_for(o.parts, threads, one_row_part, &o);
        return;
    }
    job_t job = {transA, transB, M, N, K, lda, ldb, ldc, A, B, C, 1, 0, accumulate, 0, NULL, 0};
    // Reading A in place thrashes the L1 when its rows are a multiple of 1 KiB apart; packing
    // also pays once M is large (each packed panel then serves many column panels).
    job.packRows = !transA && (lda % 256 == 0 || M >= 512);
    int64_t mPanels = (M + MR - 1) / MR, nPanels = (N + NR - 1) / NR, work = M * N * K;
    job.splitN = nPanels * NR >= mPanels * MR;
    // Slices of columns, each thread packing A for its own (as parts along N do).
    if (threads > 1 && job.splitN && K > 0 && M >= 4 * RB && work >= (int64_t)1 << 26) {
        sliced_product(&job, threads);
        return;
    }
    // Otherwise split the larger side (in panels) into parts that the threads take as they come
    // free: four per thread when each part stays large (≥ 32 MFLOP) and packs little for itself,
    // else one; below ~1 MFLOP per part a hand-off does not pay.
    int64_t panels = job.splitN ? nPanels : mPanels;
    int64_t ownPacking = job.splitN ? (transA || job.packRows ? M * K : 0) : K * N;
    int64_t parts = work / (4 * threads) >= (int64_t)16 << 20 && ownPacking * 4 * threads <= work / 512 ? 4 * threads : threads;
    if (parts > panels) parts = panels;
    while (parts > 1 && work / parts < 500000) parts--;
    job.parts = parts < 1 ? 1 : parts;
    dk_parallel_for(job.parts, threads, task, &job);
}

void dk_sgemm_avx512_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB,
                               int64_t j0, int64_t j1, float *C, int64_t ldc, int accumulate) {
    if (M <= 0 || j1 <= j0) return;
    job_t job = {0, 0, M, N, K, lda, 0, ldc, A, NULL, C, 1, 0, accumulate, 0, packedB, (N + NR - 1) / NR * NR};
    job.packRows = lda % 256 == 0 || M >= 512;
    block(&job, 0, M, j0, j1);
}

#else
int dk_sgemm_avx512_available(void) { return 0; }
void dk_sgemm_avx512(int transA, int transB, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate, int threads) {
    (void)transA; (void)accumulate; (void)transB; (void)M; (void)N; (void)K; (void)A; (void)lda; (void)B; (void)ldb; (void)C; (void)ldc;
    (void)threads;
    abort();
}
#endif
