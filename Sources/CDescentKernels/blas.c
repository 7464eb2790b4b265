// Run-time loading of an optimized BLAS (OpenBLAS on Linux, Accelerate on macOS).
// Only cblas_sgemm/cblas_dgemm are used. Nothing here is needed to build or run:
// without a BLAS, dk_sgemm falls back to the built-in kernel in gemm.c.
#define _GNU_SOURCE
#include "descent_kernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sched.h>
#endif

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                               float, float *, int);
typedef void (*cblas_dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int,
                               double, double *, int);
typedef void (*set_threads_fn)(int);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static cblas_sgemm_fn p_sgemm;
static cblas_dgemm_fn p_dgemm;
static set_threads_fn p_set_threads;
static char blas_name[512] = "built-in";
static char blas_coretype[64] = "";

int dk_cpu_has_avx512(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static _Atomic int cached = -1;  // found once; threads racing to find it agree
    int c = atomic_load_explicit(&cached, memory_order_relaxed);
    if (c >= 0) return c;
    __builtin_cpu_init();
    c = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    atomic_store_explicit(&cached, c, memory_order_relaxed);
    return c;
#else
    return 0;
#endif
}

int dk_cpu_has_avx2(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static _Atomic int cached = -1;
    int c = atomic_load_explicit(&cached, memory_order_relaxed);
    if (c >= 0) return c;
    __builtin_cpu_init();
    c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    atomic_store_explicit(&cached, c, memory_order_relaxed);
    return c;
#else
    return 0;
#endif
}

static void choose_coretype(void) {
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set) {
        snprintf(blas_coretype, sizeof blas_coretype, "%s", set);
        return;
    }
    const char *core = dk_cpu_has_avx512() ? "SkylakeX" : (dk_cpu_has_avx2() ? "Haswell" : NULL);
    if (core) {
        setenv("OPENBLAS_CORETYPE", core, 0);
        snprintf(blas_coretype, sizeof blas_coretype, "%s", core);
    }
}

static int try_open(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) return 0;
    cblas_sgemm_fn s = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    cblas_dgemm_fn d = (cblas_dgemm_fn)dlsym(h, "cblas_dgemm");
    if (!s || !d) {
        dlclose(h);
        return 0;
    }
    p_sgemm = s;
    p_dgemm = d;
    p_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    snprintf(blas_name, sizeof blas_name, "%s", path);
    return 1;
}

static void load_once(void) {
    const char *choice = getenv("DESCENT_BLAS");
    if (choice && strcmp(choice, "none") == 0) return;
    choose_coretype();
    // Descent calls the BLAS on one thread from each of its own pool's tasks (Gemm.swift): without
    // this, OpenBLAS starts a server thread of its own at load, which spins (sched_yield) beside
    // the pool's workers before it first sleeps.
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (choice && *choice) {
        try_open(choice);
        return;
    }
#ifdef __APPLE__
    if (try_open("/System/Library/Frameworks/Accelerate.framework/Accelerate")) return;
#endif
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblas.dylib", NULL};
    for (int i = 0; names[i]; i++)
        if (try_open(names[i])) return;
}

int dk_blas_load(void) {
    pthread_once(&blas_once, load_once);
    return p_sgemm != NULL;
}

const char *dk_blas_name(void) {
    dk_blas_load();
    return blas_name;
}

const char *dk_blas_coretype(void) {
    dk_blas_load();
    return blas_coretype;
}

void dk_blas_set_threads(int n) {
    if (dk_blas_load() && p_set_threads) p_set_threads(n);
}

int dk_blas_loaded(void) { return p_sgemm != NULL; }

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

void dk_gemm_builtin_f32(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                         int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void dk_gemm_builtin_f64(int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha, const double *A,
                         int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

void dk_sgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
              int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (M == 1) {  // one row (a linear layer on one sample): no packing
        dk_sgemm_one_row(transA, transB, N, K, alpha, A, lda, B, ldb, beta, C);
        return;
    }
    if (useBlas && K > 0 && dk_blas_load() && M < 2147483647 && N < 2147483647 && K < 2147483647) {
        p_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, (int)M, (int)N, (int)K, alpha, A,
                (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
    dk_gemm_builtin_f32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void dk_dgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha, const double *A,
              int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (useBlas && K > 0 && dk_blas_load() && M < 2147483647 && N < 2147483647 && K < 2147483647) {
        p_dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, (int)M, (int)N, (int)K, alpha, A,
                (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
    dk_gemm_builtin_f64(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int dk_available_cpus(void) {
    int n = 0;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    // cgroup v2 quota: "max 100000" or "200000 100000"
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char quota[64] = {0};
        long period = 0;
        if (fscanf(f, "%63s %ld", quota, &period) == 2 && strcmp(quota, "max") != 0 && period > 0) {
            long q = atol(quota);
            int limit = (int)((q + period - 1) / period);
            if (limit > 0 && (n == 0 || limit < n)) n = limit;
        }
        fclose(f);
    }
#endif
    return n;
}
