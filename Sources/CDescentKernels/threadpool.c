// The library's one thread pool: persistent workers that spin briefly after a job (so that
// back-to-back small parallel loops do not pay a wake-up each) and then sleep on a condition
// variable. Used by Swift's parallel loops and by the built-in GEMM; a call from inside a
// pool task runs serially, so parallelism is never nested.
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

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static int worker_count = 0;
static _Atomic uint64_t generation = 0;
static _Atomic int sleepers = 0;

static dk_task_fn job_fn;
static void *job_ctx;
static int64_t job_n;
static _Atomic uint64_t acks[MAX_WORKERS];  // the last generation each worker finished
static _Atomic int64_t job_next;
static _Atomic int64_t job_done;
static __thread int in_pool_task = 0;

static void run_tasks(void) {
    int64_t i;
    while ((i = atomic_fetch_add_explicit(&job_next, 1, memory_order_relaxed)) < job_n) {
        job_fn(job_ctx, i);
        atomic_fetch_add_explicit(&job_done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    in_pool_task = 1;
    // The generation current when this worker was created (under pool_lock, before its first job).
    uint64_t seen = atomic_load_explicit(&acks[id], memory_order_acquire);
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERATIONS) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load_explicit(&generation, memory_order_acquire) == seen)
                pthread_cond_wait(&sleep_cond, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
            spins = 0;
        }
        seen = g;
        run_tasks();
        atomic_store_explicit(&acks[id], g, memory_order_release);
    }
    return NULL;
}

static void ensure_workers(int n) {
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    while (worker_count < n) {
        pthread_t t;
        pthread_attr_t attr;
        atomic_store_explicit(&acks[worker_count], atomic_load(&generation), memory_order_release);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
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
    if (threads <= 1 || n == 1 || in_pool_task || pthread_mutex_trylock(&pool_lock) != 0) {
        // Serial: a single task, one thread, a nested call, or another job already running.
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    ensure_workers(threads - 1);
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    atomic_store_explicit(&job_next, 0, memory_order_relaxed);
    atomic_store_explicit(&job_done, 0, memory_order_relaxed);
    uint64_t g = atomic_fetch_add_explicit(&generation, 1, memory_order_release) + 1;
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&sleep_cond);
        pthread_mutex_unlock(&sleep_lock);
    }
    in_pool_task = 1;
    run_tasks();
    in_pool_task = 0;
    while (atomic_load_explicit(&job_done, memory_order_acquire) < n) CPU_RELAX();
    // Every worker must be done with this job's fields before the next job rewrites them.
    for (int i = 0; i < worker_count; i++)
        while (atomic_load_explicit(&acks[i], memory_order_acquire) != g) CPU_RELAX();
    pthread_mutex_unlock(&pool_lock);
}
