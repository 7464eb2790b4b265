// Packing of the AVX-512 GEMM's operands (sgemm_avx512.c): A into 8-row panels, B into 32-column
// panels, each laid out in the order the micro-kernel reads it.
#include <stdlib.h>
#include <string.h>

#include "sgemm_avx512.h"

#ifdef DK_X86
// Packs Aᵀ storage (A[i][k] = src[k * lda + i]) for i in i0..<i0+mc, k in p0..<p0+kc into
// 8-row panels dst[panel][k][r], zero rows past mc. (A·B and A·Bᵀ read A in place.)
DK_TARGET_AVX512 void dk_sgemm_pack_at(const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst) {
    // Row k of the source holds depth k of every panel: read it once, front to back (by panels
    // instead, each row's cache lines would be fetched again for the next panel, rows a page apart).
    int64_t full = mc / MR * MR;
    __mmask8 m = (__mmask8)((1u << (mc - full)) - 1);
    for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (p0 + k) * lda + i0;
        for (int64_t ir = 0; ir < full; ir += MR) _mm256_store_ps(dst + ir * kc + k * MR, _mm256_loadu_ps(src + ir));
        if (full < mc) _mm256_store_ps(dst + full * kc + k * MR, _mm256_maskz_loadu_ps(m, src + full));
    }
}

// Packs A (A[i][k] = src[i * lda + k]) for i in i0..<i0+mc, k in p0..<p0+kc into 8-row panels
// dst[panel][k][r] with 8x8 register transposes, zero rows past mc. Used when reading A in place
// would thrash the L1 (a leading dimension that is a multiple of 256 floats) or when M is large
// enough to repay the copy.
DK_TARGET_AVX512 void dk_sgemm_pack_a_rows(const float *A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        int64_t mr = mc - ir < MR ? mc - ir : MR;
        float *d = dst + ir * kc;
        const float *src = A + (i0 + ir) * lda + p0;
        int64_t k = 0;
        if (mr == MR) {
            for (; k + 8 <= kc; k += 8) {
                __m256 r0 = _mm256_loadu_ps(src + 0 * lda + k), r1 = _mm256_loadu_ps(src + 1 * lda + k);
                __m256 r2 = _mm256_loadu_ps(src + 2 * lda + k), r3 = _mm256_loadu_ps(src + 3 * lda + k);
                __m256 r4 = _mm256_loadu_ps(src + 4 * lda + k), r5 = _mm256_loadu_ps(src + 5 * lda + k);
                __m256 r6 = _mm256_loadu_ps(src + 6 * lda + k), r7 = _mm256_loadu_ps(src + 7 * lda + k);
                __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
                __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
                __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
                __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
                __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
                __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
                __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
                __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
                float *o = d + k * MR;
                _mm256_store_ps(o + 0 * MR, _mm256_permute2f128_ps(u0, u4, 0x20));
                _mm256_store_ps(o + 1 * MR, _mm256_permute2f128_ps(u1, u5, 0x20));
                _mm256_store_ps(o + 2 * MR, _mm256_permute2f128_ps(u2, u6, 0x20));
                _mm256_store_ps(o + 3 * MR, _mm256_permute2f128_ps(u3, u7, 0x20));
                _mm256_store_ps(o + 4 * MR, _mm256_permute2f128_ps(u0, u4, 0x31));
                _mm256_store_ps(o + 5 * MR, _mm256_permute2f128_ps(u1, u5, 0x31));
                _mm256_store_ps(o + 6 * MR, _mm256_permute2f128_ps(u2, u6, 0x31));
                _mm256_store_ps(o + 7 * MR, _mm256_permute2f128_ps(u3, u7, 0x31));
            }
        }
        for (; k < kc; k++)
            for (int64_t r = 0; r < MR; r++) d[k * MR + r] = r < mr ? src[r * lda + k] : 0;
    }
}

// dst[c * ldd + r] = src[r * lds + c] for a 16x16 block.
DK_TARGET_AVX512 static inline void transpose16(const float *src, int64_t lds, float *dst, int64_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ldd, r[i]);
}

// Packs B (k in p0..<p0+kc, j in j0..<j0+nc) into 32-column panels dst[panel][k][j], zero
// columns past nc. B[k][j] is src[k * ldb + j], or src[j * ldb + k] when transB.
DK_TARGET_AVX512 void dk_sgemm_pack_panels(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                             float *dst) {
    if (!transB) {
        // Row by row: each row's stretch is contiguous, so the hardware prefetcher streams it;
        // its 32-column pieces go to their panels.
        for (int64_t k = 0; k < kc; k++) {
            const float *src = B + (p0 + k) * ldb + j0;
            for (int64_t jr = 0; jr < nc; jr += NR) {
                float *d = dst + jr * kc + k * NR;
                if (nc - jr >= NR) {  // masked loads cost more than plain ones
                    _mm512_store_ps(d, _mm512_loadu_ps(src + jr));
                    _mm512_store_ps(d + 16, _mm512_loadu_ps(src + jr + 16));
                    continue;
                }
                __mmask16 m0 = dk_first_lanes(nc - jr), m1 = dk_first_lanes(nc - jr - 16);
                _mm512_store_ps(d, _mm512_maskz_loadu_ps(m0, src + jr));
                _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps(m1, src + jr + 16));
            }
        }
        return;
    }
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = nc - jr < NR ? nc - jr : NR;
        float *d = dst + jr * kc;
        int64_t k = 0;
        if (nr == NR) {
            // 16x16 blocks transposed in registers: rows j of Bᵀ become k-rows of the panel.
            for (; k + 16 <= kc; k += 16)
                for (int64_t half = 0; half < 2; half++)
                    transpose16(B + (j0 + jr + 16 * half) * ldb + p0 + k, ldb, d + k * NR + 16 * half, NR);
        }
        for (int64_t j = 0; j < NR; j++) {
            if (j < nr) {
                const float *src = B + (j0 + jr + j) * ldb + p0;
                for (int64_t kk = k; kk < kc; kk++) d[kk * NR + j] = src[kk];
            } else {
                for (int64_t kk = k; kk < kc; kk++) d[kk * NR + j] = 0;
            }
        }
    }
}

#endif
