// MPI through the system's library, found at run time (Open MPI's libmpi.so.40 or MPICH's
// libmpi.so.12), so that nothing MPI is needed to build Descent and only distributed training
// needs it. Only nonblocking collectives on MPI_COMM_WORLD are used; every wait polls with
// MPI_Test under a deadline, so that a rank that died cannot hang the others.
//
// The two implementations differ in their handles: Open MPI's MPI_Comm, MPI_Datatype and MPI_Op
// are addresses of exported objects, MPICH's are 32-bit integer constants (mpi.h of MPICH 3/4).
// Handles are passed here as intptr_t (an int argument of MPICH's lives in the low half of the
// same register); requests are stored in a zeroed intptr_t, of which MPICH writes the low half.
#define _GNU_SOURCE
#include "descent_kernels.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef intptr_t handle;
typedef int (*init_thread_fn)(int *, char ***, int, int *);
typedef int (*flag_fn)(int *);
typedef int (*comm_int_fn)(handle, int *);
typedef int (*iallreduce_fn)(const void *, void *, int, handle, handle, handle, intptr_t *);
typedef int (*ibcast_fn)(void *, int, handle, int, handle, intptr_t *);
typedef int (*iallgather_fn)(const void *, int, handle, void *, int, handle, handle, intptr_t *);
typedef int (*ibarrier_fn)(handle, intptr_t *);
typedef int (*test_fn)(intptr_t *, int *, void *);
typedef int (*abort_fn)(handle, int);
typedef int (*finalize_fn)(void);
typedef int (*version_fn)(char *, int *);

static struct {
    int loaded;
    char library[256];
    char error[512];
    init_thread_fn init_thread;
    flag_fn initialized, finalized;
    comm_int_fn comm_rank, comm_size;
    iallreduce_fn iallreduce;
    ibcast_fn ibcast;
    iallgather_fn iallgather;
    ibarrier_fn ibarrier;
    test_fn test;
    abort_fn abort_;
    finalize_fn finalize;
    version_fn version;
    handle world, float32, float64, byte, sum, max;
    void *in_place;
} mpi;

static void *symbol(void *h, const char *name, int *missing) {
    void *p = dlsym(h, name);
    if (!p && !*missing) {
        snprintf(mpi.error, sizeof mpi.error, "%s has no symbol %s", mpi.library, name);
        *missing = 1;
    }
    return p;
}

static int bind(void *h, const char *path) {
    snprintf(mpi.library, sizeof mpi.library, "%s", path);
    int missing = 0;
    mpi.init_thread = (init_thread_fn)symbol(h, "MPI_Init_thread", &missing);
    mpi.initialized = (flag_fn)symbol(h, "MPI_Initialized", &missing);
    mpi.finalized = (flag_fn)symbol(h, "MPI_Finalized", &missing);
    mpi.comm_rank = (comm_int_fn)symbol(h, "MPI_Comm_rank", &missing);
    mpi.comm_size = (comm_int_fn)symbol(h, "MPI_Comm_size", &missing);
    mpi.iallreduce = (iallreduce_fn)symbol(h, "MPI_Iallreduce", &missing);
    mpi.ibcast = (ibcast_fn)symbol(h, "MPI_Ibcast", &missing);
    mpi.iallgather = (iallgather_fn)symbol(h, "MPI_Iallgather", &missing);
    mpi.ibarrier = (ibarrier_fn)symbol(h, "MPI_Ibarrier", &missing);
    mpi.test = (test_fn)symbol(h, "MPI_Test", &missing);
    mpi.abort_ = (abort_fn)symbol(h, "MPI_Abort", &missing);
    mpi.finalize = (finalize_fn)symbol(h, "MPI_Finalize", &missing);
    mpi.version = (version_fn)dlsym(h, "MPI_Get_library_version");
    if (missing) return 0;
    void *ompi_world = dlsym(h, "ompi_mpi_comm_world");
    if (ompi_world) {  // Open MPI: predefined handles are the addresses of exported objects.
        mpi.world = (handle)ompi_world;
        mpi.float32 = (handle)symbol(h, "ompi_mpi_float", &missing);
        mpi.float64 = (handle)symbol(h, "ompi_mpi_double", &missing);
        mpi.byte = (handle)symbol(h, "ompi_mpi_byte", &missing);
        mpi.sum = (handle)symbol(h, "ompi_mpi_op_sum", &missing);
        mpi.max = (handle)symbol(h, "ompi_mpi_op_max", &missing);
        mpi.in_place = (void *)1;
    } else {  // MPICH and its ABI relatives: integer constants from mpi.h.
        mpi.world = 0x44000000;
        mpi.float32 = 0x4c00040a;
        mpi.float64 = 0x4c00080b;
        mpi.byte = 0x4c00010d;
        mpi.sum = 0x58000003;
        mpi.max = 0x58000001;
        mpi.in_place = (void *)-1;
    }
    return !missing;
}

int dk_mpi_load(const char *path) {
    if (mpi.loaded) return 1;
    const char *candidates[] = {"libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so", NULL};
    const char *one[] = {path, NULL};
    const char **list = (path && *path) ? one : candidates;
    snprintf(mpi.error, sizeof mpi.error, "no MPI library found (tried libmpi.so.40, libmpi.so.12, libmpich.so.12, libmpi.so)");
    for (int i = 0; list[i]; i++) {
        // RTLD_GLOBAL: Open MPI's components are shared objects that resolve libmpi's symbols.
        void *h = dlopen(list[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h) {
            if (list == one) snprintf(mpi.error, sizeof mpi.error, "cannot load %s: %s", list[i], dlerror());
            continue;
        }
        if (bind(h, list[i])) {
            mpi.loaded = 1;
            return 1;
        }
        dlclose(h);
    }
    return 0;
}

const char *dk_mpi_error(void) { return mpi.error; }
const char *dk_mpi_library(void) { return mpi.library; }

int dk_mpi_version(char *out, int capacity) {
    if (!mpi.loaded || !mpi.version || capacity < 8192) return 0;
    int length = 0;
    return mpi.version(out, &length) == 0 ? length : 0;
}

int dk_mpi_init(int *rank, int *size) {
    if (!mpi.loaded) return -1;
    int done = 0, provided = 0;
    mpi.initialized(&done);
    if (!done) {
        int rc = mpi.init_thread(NULL, NULL, 2 /* MPI_THREAD_SERIALIZED */, &provided);
        if (rc != 0) return rc;
    }
    if (mpi.comm_rank(mpi.world, rank) != 0 || mpi.comm_size(mpi.world, size) != 0) return -2;
    return 0;
}

void dk_mpi_finalize(void) {
    int done = 0;
    if (!mpi.loaded) return;
    mpi.finalized(&done);
    if (!done) mpi.finalize();
}

void dk_mpi_abort(int code) {
    if (mpi.loaded) mpi.abort_(mpi.world, code);
    _exit(code);
}

static handle datatype(int dtype) { return dtype == 1 ? mpi.float64 : dtype == 2 ? mpi.byte : mpi.float32; }

int dk_mpi_iallreduce(void *buffer, int count, int dtype, int op, intptr_t *request) {
    *request = 0;
    return mpi.iallreduce(mpi.in_place, buffer, count, datatype(dtype), op == 1 ? mpi.max : mpi.sum, mpi.world, request);
}

int dk_mpi_ibcast(void *buffer, int bytes, int root, intptr_t *request) {
    *request = 0;
    return mpi.ibcast(buffer, bytes, mpi.byte, root, mpi.world, request);
}

int dk_mpi_iallgather(const void *send, void *receive, int bytes, intptr_t *request) {
    *request = 0;
    return mpi.iallgather(send, bytes, mpi.byte, receive, bytes, mpi.byte, mpi.world, request);
}

int dk_mpi_ibarrier(intptr_t *request) {
    *request = 0;
    return mpi.ibarrier(mpi.world, request);
}

int dk_mpi_test(intptr_t *request, int *done) {
    char status[64];  // larger than MPI_Status of either implementation
    *done = 0;
    return mpi.test(request, done, status);
}

int dk_mpi_wait(intptr_t *request, double timeout) {
    struct timespec start, now, pause = {0, 20000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long polls = 0;; polls++) {
        int done = 0;
        int rc = dk_mpi_test(request, &done);
        if (rc != 0) return rc;
        if (done) return 0;
        // Spin for the first polls (a small all-reduce completes in microseconds), then sleep
        // between them so that a rank waiting for a slow one leaves the core to it.
        if (polls > 2000) nanosleep(&pause, NULL);
        if ((polls & 63) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            double elapsed = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
            if (timeout > 0 && elapsed > timeout) return -1;
        }
    }
}
