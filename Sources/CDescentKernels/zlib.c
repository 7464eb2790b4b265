// gzip decompression through the system's zlib, found at run time (libz.so.1; libz.dylib on
// macOS), so that nothing is needed to build Descent and only reading a .gz file needs zlib.
// Only inflateInit2_, inflate and inflateEnd are used, with zlib's own z_stream layout.
#include "descent_kernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// zlib's z_stream (zlib.h), whose layout is fixed by its ABI.
typedef struct {
    const unsigned char *next_in;
    unsigned avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc, *zfree, *opaque;
    int data_type;
    unsigned long adler, reserved;
} dk_z_stream;

typedef int (*inflate_init2_fn)(dk_z_stream *, int, const char *, int);
typedef int (*inflate_fn)(dk_z_stream *, int);
typedef int (*inflate_end_fn)(dk_z_stream *);
typedef const char *(*zlib_version_fn)(void);

static pthread_once_t zlib_once = PTHREAD_ONCE_INIT;
static inflate_init2_fn p_init2;
static inflate_fn p_inflate;
static inflate_end_fn p_end;
static zlib_version_fn p_version;

static void load_zlib(void) {
    const char *names[] = {"libz.so.1", "libz.so", "libz.1.dylib", "libz.dylib", NULL};
    for (int i = 0; names[i]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        p_init2 = (inflate_init2_fn)dlsym(h, "inflateInit2_");
        p_inflate = (inflate_fn)dlsym(h, "inflate");
        p_end = (inflate_end_fn)dlsym(h, "inflateEnd");
        p_version = (zlib_version_fn)dlsym(h, "zlibVersion");
        if (p_init2 && p_inflate && p_end && p_version) return;
        p_init2 = NULL;
        dlclose(h);
    }
}

int dk_zlib_available(void) {
    pthread_once(&zlib_once, load_zlib);
    return p_init2 != NULL;
}

int64_t dk_inflate(const unsigned char *in, int64_t inSize, unsigned char *out, int64_t outCapacity, int gzip,
                   int64_t *consumed, int64_t *produced) {
    *consumed = 0, *produced = 0;
    if (!dk_zlib_available()) return -3;
    dk_z_stream s;
    memset(&s, 0, sizeof s);
    // 15: the largest window; + 16: a gzip header and trailer instead of zlib's.
    if (p_init2(&s, gzip ? 16 + 15 : 15, p_version(), (int)sizeof s) != 0) return -2;
    int64_t status = 0;
    while (1) {
        unsigned chunkIn = inSize - *consumed > 1 << 30 ? 1u << 30 : (unsigned)(inSize - *consumed);
        unsigned chunkOut = outCapacity - *produced > 1 << 30 ? 1u << 30 : (unsigned)(outCapacity - *produced);
        s.next_in = in + *consumed, s.avail_in = chunkIn;
        s.next_out = out + *produced, s.avail_out = chunkOut;
        int r = p_inflate(&s, 0);
        *consumed += chunkIn - s.avail_in;
        *produced += chunkOut - s.avail_out;
        if (r == 1) { status = 1; break; }                 // Z_STREAM_END
        if (r == -5 && s.avail_out == 0) { status = 2; break; }  // Z_BUF_ERROR: out of room
        if (r == -5 || (r == 0 && chunkIn == 0)) { status = 0; break; }  // input ended early
        if (r < 0) { status = -1; break; }                // Z_DATA_ERROR and the like
        if (s.avail_out == 0 && *produced == outCapacity) { status = 2; break; }
    }
    p_end(&s);
    return status;
}
