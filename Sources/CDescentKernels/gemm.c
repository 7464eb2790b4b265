// Built-in GEMM, used when no BLAS is available (and for float64 gradient checks when asked).
// A packed, blocked kernel in the BLIS style: B is packed into NR-wide column panels, A into
// MR-tall row panels, and an MR x NR micro-kernel accumulates in registers. The driver is
// compiled for several instruction sets and chosen at run time (target_clones on Linux/x86).
// Single-threaded: the Swift side splits M across threads.
#include "descent_kernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DK_UNDER_TSAN 1
#endif
#endif
// Under ThreadSanitizer (Scripts/sanitize.sh) the baseline only: target_clones' ifunc resolvers
// run before TSan's runtime has started, and instrumented they crash the loader.
#if defined(__linux__) && defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(DK_UNDER_TSAN)
#define DK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DK_CLONES
#endif

#define KC 256
#define MC 96

#define DEFINE_GEMM(T, SUFFIX, MR, NR)                                                                      \
    static inline __attribute__((always_inline)) void pack_a_##SUFFIX(int transA, const T *A, int64_t lda,   \
                                                                      int64_t i0, int64_t mc, int64_t p0,   \
                                                                      int64_t kc, T *dst) {                 \
        for (int64_t ir = 0; ir < mc; ir += MR) {                                                          \
            int64_t mr = mc - ir < MR ? mc - ir : MR;                                                      \
            for (int64_t p = 0; p < kc; p++) {                                                             \
                for (int64_t i = 0; i < MR; i++) {                                                         \
                    T v = 0;                                                                               \
                    if (i < mr) {                                                                          \
                        int64_t r = i0 + ir + i, c = p0 + p;                                               \
                        v = transA ? A[c * lda + r] : A[r * lda + c];                                      \
                    }                                                                                      \
                    *dst++ = v;                                                                            \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
    static inline __attribute__((always_inline)) void pack_b_##SUFFIX(int transB, const T *B, int64_t ldb,   \
                                                                      int64_t p0, int64_t kc, int64_t j0,   \
                                                                      int64_t nc, T *dst) {                 \
        for (int64_t jr = 0; jr < nc; jr += NR) {                                                          \
            int64_t nr = nc - jr < NR ? nc - jr : NR;                                                      \
            for (int64_t p = 0; p < kc; p++) {                                                             \
                int64_t r = p0 + p;                                                                        \
                if (!transB && nr == NR) {                                                                 \
                    memcpy(dst, B + r * ldb + j0 + jr, sizeof(T) * NR);                                    \
                    dst += NR;                                                                             \
                    continue;                                                                              \
                }                                                                                          \
                for (int64_t j = 0; j < NR; j++) {                                                         \
                    T v = 0;                                                                               \
                    if (j < nr) {                                                                          \
                        int64_t c = j0 + jr + j;                                                           \
                        v = transB ? B[c * ldb + r] : B[r * ldb + c];                                      \
                    }                                                                                      \
                    *dst++ = v;                                                                            \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
    static inline __attribute__((always_inline)) void micro_##SUFFIX(int64_t kc, const T *a, const T *b,    \
                                                                     T alpha, T *C, int64_t ldc, int64_t mr, \
                                                                     int64_t nr) {                         \
        T acc[MR][NR];                                                                                     \
        for (int i = 0; i < MR; i++)                                                                       \
            for (int j = 0; j < NR; j++) acc[i][j] = 0;                                                    \
        for (int64_t p = 0; p < kc; p++) {                                                                 \
            for (int i = 0; i < MR; i++) {                                                                 \
                T av = a[p * MR + i];                                                                      \
                for (int j = 0; j < NR; j++) acc[i][j] += av * b[p * NR + j];                              \
            }                                                                                              \
        }                                                                                                  \
        for (int64_t i = 0; i < mr; i++)                                                                   \
            for (int64_t j = 0; j < nr; j++) C[i * ldc + j] += alpha * acc[i][j];                          \
    }                                                                                                      \
    DK_CLONES void dk_gemm_builtin_##SUFFIX(int transA, int transB, int64_t M, int64_t N, int64_t K, T alpha, \
                                            const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C,  \
                                            int64_t ldc) {                                                 \
        for (int64_t i = 0; i < M; i++) {                                                                  \
            T *row = C + i * ldc;                                                                          \
            if (beta == 0)                                                                                 \
                memset(row, 0, sizeof(T) * (size_t)N);                                                     \
            else if (beta != 1)                                                                            \
                for (int64_t j = 0; j < N; j++) row[j] *= beta;                                            \
        }                                                                                                  \
        if (K == 0 || alpha == 0) return;                                                                  \
        int64_t ncMax = N < 4096 ? N : 4096;                                                               \
        T *bp = aligned_alloc(64, sizeof(T) * (size_t)(((ncMax + NR - 1) / NR) * NR * KC + 64));           \
        T *ap = aligned_alloc(64, sizeof(T) * (size_t)(((MC + MR - 1) / MR) * MR * KC + 64));              \
        if (!bp || !ap) abort();                                                                           \
        for (int64_t j0 = 0; j0 < N; j0 += ncMax) {                                                        \
            int64_t nc = N - j0 < ncMax ? N - j0 : ncMax;                                                  \
            for (int64_t p0 = 0; p0 < K; p0 += KC) {                                                       \
                int64_t kc = K - p0 < KC ? K - p0 : KC;                                                    \
                pack_b_##SUFFIX(transB, B, ldb, p0, kc, j0, nc, bp);                                       \
                for (int64_t i0 = 0; i0 < M; i0 += MC) {                                                   \
                    int64_t mc = M - i0 < MC ? M - i0 : MC;                                                \
                    pack_a_##SUFFIX(transA, A, lda, i0, mc, p0, kc, ap);                                   \
                    for (int64_t jr = 0; jr < nc; jr += NR) {                                              \
                        int64_t nr = nc - jr < NR ? nc - jr : NR;                                          \
                        for (int64_t ir = 0; ir < mc; ir += MR) {                                          \
                            int64_t mr = mc - ir < MR ? mc - ir : MR;                                      \
                            micro_##SUFFIX(kc, ap + ir * kc, bp + jr * kc, alpha,                          \
                                           C + (i0 + ir) * ldc + j0 + jr, ldc, mr, nr);                    \
                        }                                                                                  \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
        free(bp);                                                                                          \
        free(ap);                                                                                          \
    }

DEFINE_GEMM(float, f32, 6, 32)

// The float32 kernel's 32-column panels of B, which are also the panels of dk_sgemm_pack_b
// (sgemm_prepacked.c) on CPUs without AVX-512.
void dk_gemm_pack_panels_f32(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                             float *dst) {
    pack_b_f32(transB, B, ldb, p0, kc, j0, nc, dst);
}
DEFINE_GEMM(double, f64, 6, 16)

// C (1 × N) = alpha·a·op(B) + beta·C for one row a (a vector–matrix product, which GEMM's packing
// only slows down): a[p] = A[p·(lda if transA else 1)]; with B transposed (N rows of K), N dot
// products, each in 32 lanes of partial sums; else the sum of K scaled rows of B.
DK_CLONES void dk_sgemm_one_row(int transA, int transB, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                                const float *B, int64_t ldb, float beta, float *C) {
    int64_t as = transA ? lda : 1;
    for (int64_t j = 0; j < N; j++) C[j] = beta == 0 ? 0 : beta * C[j];
    if (transB) {
        for (int64_t j = 0; j < N; j++) {
            const float *b = B + j * ldb;
            float acc[32] = {0}, s = 0;
            int64_t p = 0;
            if (as == 1)
                for (; p + 32 <= K; p += 32)
                    for (int l = 0; l < 32; l++) acc[l] += A[p + l] * b[p + l];
            for (; p < K; p++) s += A[p * as] * b[p];
            for (int l = 0; l < 32; l++) s += acc[l];
            C[j] += alpha * s;
        }
        return;
    }
    for (int64_t p = 0; p < K; p++) {
        float v = alpha * A[p * as];
        const float *b = B + p * ldb;
        for (int64_t j = 0; j < N; j++) C[j] += v * b[j];
    }
}
