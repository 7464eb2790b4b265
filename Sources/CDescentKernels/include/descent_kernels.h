#ifndef DESCENT_KERNELS_H
#define DESCENT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads an optimized BLAS at run time (once). Returns 1 when one was found.
/// Before loading OpenBLAS it sets OPENBLAS_CORETYPE from the CPU's features when the
/// user has not set it, so that an OpenBLAS that does not recognise the CPU still runs its
/// fast kernel. `DESCENT_BLAS=none` disables BLAS; `DESCENT_BLAS=/path/lib.so` picks one.
int dk_blas_load(void);
/// The path or name of the loaded BLAS, or "built-in".
const char *dk_blas_name(void);
/// The OPENBLAS_CORETYPE in force when the BLAS was loaded ("" when none).
const char *dk_blas_coretype(void);
/// Sets the BLAS thread count (no-op without BLAS).
void dk_blas_set_threads(int n);

/// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T (trans != 0).
/// Uses the loaded BLAS when `useBlas` and one is loaded, else the built-in kernel.
void dk_sgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void dk_dgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha,
              const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

/// 1 when the CPU has AVX-512F, AVX-512BW/DQ/VL.
int dk_cpu_has_avx512(void);
/// 1 when the CPU has AVX2 and FMA.
int dk_cpu_has_avx2(void);
/// Number of CPUs in this process's affinity mask, limited by a cgroup CPU quota (0 if unknown).
int dk_available_cpus(void);

#ifdef __cplusplus
}
#endif
#endif
