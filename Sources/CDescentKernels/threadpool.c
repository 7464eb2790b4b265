// The library's one thread pool: persistent workers that spin briefly after a job (so that
// back-to-back small parallel loops do not pay a wake-up each) and then sleep on a condition
// variable. Used by Swift's parallel loops and by the built-in GEMM; a call from inside a
// pool task runs serially, so parallelism is never nested.
//
// Tasks are claimed from one atomic word holding the job's generation and the next task index,
// by compare-and-swap: a claim succeeds only while its job is the current one. The caller takes
// tasks too and returns once every task is done, without waiting for workers that never got to
// run (a worker whose CPU is busy with other work joins the next job when it wakes, or none).
#define _GNU_SOURCE
#include "descent_kernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 255
#define SPIN_ITERATIONS 20000
#define CLOSED 0xFFFFFFFFu  // the index of a word whose job's fields are being written

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static int worker_count = 0;
static _Atomic int sleepers = 0;

static _Atomic uint64_t claims;  // generation << 32 | next task index (CLOSED while fields change)
static _Atomic(dk_task_fn) job_fn;
static _Atomic(void *) job_ctx;
static _Atomic int64_t job_n;
static _Atomic int64_t job_done;
static _Atomic int job_workers;  // workers that take part in the current job (threads − 1)
static uint32_t start_generation[MAX_WORKERS];  // the generation current when each was created
static __thread int in_pool_task = 0;

static uint32_t generation_of(uint64_t word) { return (uint32_t)(word >> 32); }

static void run_tasks(void) {
    uint64_t w = atomic_load_explicit(&claims, memory_order_acquire);
    for (;;) {
        uint32_t i = (uint32_t)w;
        if (i == CLOSED) return;
        dk_task_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&job_ctx, memory_order_relaxed);
        if ((int64_t)i >= atomic_load_explicit(&job_n, memory_order_relaxed)) return;
        // Succeeds only if the word is unchanged: the fields just read belong to this job.
        if (!atomic_compare_exchange_weak_explicit(&claims, &w, w + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        fn(ctx, i);
        atomic_fetch_add_explicit(&job_done, 1, memory_order_release);
        w = atomic_load_explicit(&claims, memory_order_acquire);
    }
}

static void *worker_main(void *arg) {
    in_pool_task = 1;
    int id = (int)(intptr_t)arg;
    uint32_t seen = start_generation[id];
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = generation_of(atomic_load_explicit(&claims, memory_order_acquire))) == seen) {
            if (++spins < SPIN_ITERATIONS) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while (generation_of(atomic_load(&claims)) == seen) pthread_cond_wait(&sleep_cond, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
            spins = 0;
        }
        seen = g;
        if (id < atomic_load_explicit(&job_workers, memory_order_relaxed)) run_tasks();
    }
    return NULL;
}

static void ensure_workers(int n) {
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    while (worker_count < n) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        start_generation[worker_count] = generation_of(atomic_load(&claims));
        if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)worker_count) != 0) {
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_attr_destroy(&attr);
        pthread_detach(t);
        worker_count++;
    }
}

void dk_parallel_for(int64_t n, int threads, dk_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (threads <= 1 || n == 1 || n >= CLOSED || in_pool_task || pthread_mutex_trylock(&pool_lock) != 0) {
        // Serial: a single task, one thread, a nested call, or another job already running.
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    ensure_workers(threads - 1);
    // Close the current word (a late claim on the previous job now fails), write the job, then
    // open it under a new generation.
    uint32_t g = generation_of(atomic_load(&claims));
    atomic_store(&claims, (uint64_t)g << 32 | CLOSED);
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job_n, n, memory_order_relaxed);
    atomic_store_explicit(&job_done, 0, memory_order_relaxed);
    atomic_store_explicit(&job_workers, threads - 1, memory_order_relaxed);
    atomic_store(&claims, (uint64_t)(uint32_t)(g + 1) << 32);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&sleep_cond);
        pthread_mutex_unlock(&sleep_lock);
    }
    in_pool_task = 1;
    run_tasks();
    in_pool_task = 0;
    while (atomic_load_explicit(&job_done, memory_order_acquire) < n) CPU_RELAX();
    pthread_mutex_unlock(&pool_lock);
}
