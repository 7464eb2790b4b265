// The direct convolution (conv_direct.c): one image, stride 1, AVX-512 (its tiles also in AVX2,
// conv_direct_avx2.c, behind the same functions). conv.c runs it where Winograd's algorithm does
// not apply; the transposed convolution (conv_transpose_direct.c) runs its tiles phase by phase.
#ifndef DESCENT_CONV_DIRECT_H
#define DESCENT_CONV_DIRECT_H
#include "descent_kernels.h"
#include "conv_common.h"

/// The weights of dk_conv_direct_tiles (the layout dk_conv2d_pack_weights documents, for any
/// kernel: conv.c gives 3×3 kernels with enough channels to Winograd instead) and their size.
int64_t dk_conv_direct_tile_weights_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_direct_pack_tile_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp);
/// out (cout, oh, ow) = (out if accumulate) + bias + wp ⋆ x, x's planes cs apart.
void dk_conv_direct_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                          const float *wp, const float *bias, int accumulate, float *out);
/// dWᵀ (cin·kh·kw, cout) += col(x) · gᵀ from the panels of g, x's planes cs apart.
void dk_conv_direct_grad_tiles(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                               const float *panels, float *dwT);
#ifdef DK_X86
#include "simd.h"
/// The bfloat16 weight gradients' copy of x (conv_direct_bf16.c): xp[c·planeStride + r·Wp + col]
/// = x[c][r − ph][col − pw] rounded to bfloat16, 0 outside the image, for cin channels, rows
/// r < oh + kh − 1 and columns col < Wp (Wp ≥ ow + kw − 1). Callers check AVX512-BF16.
void dk_conv_padded_bf16(const dk_conv_geometry *g, int64_t cin, const float *x, int64_t Wp, int64_t planeStride, uint16_t *xp);
/// Pixels q0 + l (l < 16) of row r of phase (a, b) of an (h, w) plane (conv_common.h), read from
/// the plane itself (0 outside the image and the phase's row), q0 ≥ 0: for stride 1 a load, for 2
/// two loads and a permute, else a gather.
DK_TARGET_AVX512 static inline __m512 dk_phase_row16(const dk_conv_geometry *g, const float *plane, int64_t a, int64_t b,
                                                     int64_t r, int64_t q0) {
    int64_t y = r * g->sh + a, col = q0 * g->sw + b, n = g->w - col;  // n: pixels of the image's row from col on
    if (y >= g->h || n <= 0) return _mm512_setzero_ps();
    const float *s = plane + y * g->w + col;
    if (g->sw == 1) return _mm512_maskz_loadu_ps(dk_first_lanes(n), s);
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    if (g->sw == 2) {  // lane l: element 2l of the 32 from s (the lanes past the row load as 0)
        __m512 lo = _mm512_maskz_loadu_ps(dk_first_lanes(n), s), hi = _mm512_maskz_loadu_ps(dk_first_lanes(n - 16), s + 16);
        return _mm512_permutex2var_ps(lo, _mm512_add_epi32(lanes, lanes), hi);
    }
    __mmask16 m = dk_first_lanes((n + g->sw - 1) / g->sw);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_mullo_epi32(lanes, _mm512_set1_epi32((int)g->sw)), s, 4);
}
/// The same for any q0 (the lanes before pixel 0 are 0: the row from pixel 0, moved up).
DK_TARGET_AVX512 static inline __m512 dk_phase_row16_from(const dk_conv_geometry *g, const float *plane, int64_t a, int64_t b,
                                                          int64_t r, int64_t q0) {
    if (q0 >= 0) return dk_phase_row16(g, plane, a, b, r, q0);
    if (q0 <= -16) return _mm512_setzero_ps();
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), shift = _mm512_set1_epi32((int)-q0);
    return _mm512_maskz_permutexvar_ps(_mm512_cmpge_epi32_mask(lanes, shift), _mm512_sub_epi32(lanes, shift),
                                       dk_phase_row16(g, plane, a, b, r, 0));
}

/// A tap of the direct tiles (float32 and bfloat16): its weights (elements or words into a
/// tile's packed weights), its planes (into the planes the tile reads: its phase's, for a
/// strided convolution by phases), and its (i, j) on the geometry the tile reads.
typedef struct {
    int64_t w, planes, i, j;
} dk_tap;

/// taps[i·kw + j] for a convolution on its input's phases (conv_common.h; with stride 1 the
/// kernel's own taps): weights at (i·kw + j)·channels·8 (elements or words), the tap's phase's
/// planes at phase·phasePlanes, and its tap on dk_phase_geometry.
static inline void dk_phase_taps(const dk_conv_geometry *g, int64_t channels, int64_t phasePlanes, dk_tap *taps) {
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            dk_phase_tap t = dk_tap_phase(g, i, j);
            taps[i * g->kw + j] = (dk_tap){(i * g->kw + j) * channels * 8, t.phase * phasePlanes, t.i, t.j};
        }
}

/// A strided convolution's input gradient by phases: phase (a, b) of dx (h2 × w2) is the stride-1
/// convolution of g (oh × ow, the geometry dk_input_grad_geometry gives) with the taps of that
/// phase, tap (i, j) reading g at (y − di, x − dj) (dk_tap_phase: di = t.i − ph2). The taps of
/// phase f (weights at (i·kw + j)·channels·8): how many.
static inline dk_conv_geometry dk_input_grad_geometry(const dk_conv_geometry *g) {
    dk_conv_geometry p = dk_phase_geometry(g), q = p;
    q.h = g->oh, q.w = g->ow, q.oh = p.h, q.ow = p.w, q.ph = q.pw = 0;
    return q;
}
static inline int64_t dk_input_grad_taps(const dk_conv_geometry *g, int64_t f, int64_t channels, dk_tap *taps) {
    dk_conv_geometry p = dk_phase_geometry(g);
    int64_t n = 0;
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            dk_phase_tap t = dk_tap_phase(g, i, j);
            if (t.phase == f) taps[n++] = (dk_tap){(i * g->kw + j) * channels * 8, 0, p.ph - t.i, p.pw - t.j};
        }
    return n;
}

/// A run of 16 output columns of the AVX-512 tiles: row y, columns xs..<xs+16 (y < 0: none).
typedef struct {
    int64_t y, xs;
} dk_run;

/// The run's lanes l whose input column xs + l + j − pw lies in 0..<W and that are output columns.
static inline __mmask16 dk_run_lanes(const dk_conv_geometry *g, dk_run r, int64_t j) {
    int64_t lo = g->pw - j - r.xs, hi = g->w + g->pw - j - r.xs;
    if (lo < 0) lo = 0;
    if (hi > g->ow - r.xs) hi = g->ow - r.xs;
    if (hi > 16) hi = 16;
    return r.y < 0 || hi <= lo ? 0 : (__mmask16)(((1u << (hi - lo)) - 1) << lo);
}

/// The tiles' runs in row-major order, two to a tile: how many, and run t (y = −1 past the last).
static inline int64_t dk_run_count(const dk_conv_geometry *g) { return g->oh * ((g->ow + 15) / 16); }
static inline dk_run dk_run_at(const dk_conv_geometry *g, int64_t t) {
    int64_t perRow = (g->ow + 15) / 16;
    return t < g->oh * perRow ? (dk_run){t / perRow, t % perRow * 16} : (dk_run){-1, 0};
}

/// Tap (i, j) of a tile's runs r: the lanes m[r] it reads inside the image (0: none) and the
/// element offset at[r] of the first of them in an (h, w) plane (0 when none).
static inline void dk_tap_of_runs(const dk_conv_geometry *g, const dk_run r[2], int64_t i, int64_t j, __mmask16 m[2],
                                  int64_t at[2]) {
    for (int k = 0; k < 2; k++) {
        int64_t iy = r[k].y - g->ph + i;
        m[k] = r[k].y >= 0 && iy >= 0 && iy < g->h ? dk_run_lanes(g, r[k], j) : 0;
        at[k] = m[k] ? iy * g->w + r[k].xs + j - g->pw : 0;
    }
}

/// Rows of output a run covers: 1 (the runs of 16 columns above), or, where the input's
/// rows are as long as the output's (w = ow: "same" padding) and 16 is a multiple of them (8×8
/// images and smaller), 16 / ow whole rows, so that every lane of a load counts: lane l is then
/// pixel (y + l / ow, l % ow), and under tap (i, j) it reads element (y + i − ph)·w + j − pw + l
/// of the plane.
static inline int64_t dk_rows_per_run(const dk_conv_geometry *g) {
    return g->w == g->ow && g->ow < 16 && 16 % g->ow == 0 ? 16 / g->ow : 1;
}

/// Tap (i, j) of two runs of `rows` whole rows each (dk_rows_per_run > 1): the lanes m[k] whose
/// input pixel lies inside the image and whose output pixel exists, and the element offset at[k]
/// of lane 0 in a plane (0 when no lane reads).
static inline void dk_tap_of_row_runs(const dk_conv_geometry *g, int64_t rows, const dk_run r[2], int64_t i, int64_t j,
                                   __mmask16 m[2], int64_t at[2]) {
    __mmask16 row = (__mmask16)((1u << g->ow) - 1), cols = 0;
    for (int64_t x = 0; x < g->ow; x++)
        if (x + j - g->pw >= 0 && x + j - g->pw < g->w) cols |= (__mmask16)(1u << x);
    for (int k = 0; k < 2; k++) {
        m[k] = 0;
        for (int64_t q = 0; q < rows && r[k].y >= 0; q++) {
            int64_t y = r[k].y + q, iy = y - g->ph + i;
            if (y < g->oh && iy >= 0 && iy < g->h) m[k] |= (__mmask16)((cols & row) << (q * g->ow));
        }
        at[k] = m[k] ? (r[k].y - g->ph + i) * g->w + j - g->pw : 0;
    }
}

/// Tap t of a tile's two runs of `rows` rows each: dk_tap_of_runs or dk_tap_of_row_runs at t's (i, j).
static inline void dk_tap_of_tile(const dk_conv_geometry *g, int64_t rows, const dk_run r[2], const dk_tap *t, __mmask16 m[2],
                                  int64_t at[2]) {
    if (rows > 1) dk_tap_of_row_runs(g, rows, r, t->i, t->j, m, at);
    else dk_tap_of_runs(g, r, t->i, t->j, m, at);
}

/// The runs of `rows` rows each (dk_rows_per_run): how many, run t (y = −1 past the last), and
/// the lanes of run r that are output pixels.
static inline int64_t dk_runs_of(const dk_conv_geometry *g, int64_t rows) {
    return rows > 1 ? (g->oh + rows - 1) / rows : dk_run_count(g);
}
static inline dk_run dk_run_of(const dk_conv_geometry *g, int64_t rows, int64_t t) {
    if (rows == 1) return dk_run_at(g, t);
    return t < dk_runs_of(g, rows) ? (dk_run){t * rows, 0} : (dk_run){-1, 0};
}
static inline __mmask16 dk_run_outputs(const dk_conv_geometry *g, int64_t rows, dk_run r) {
    return r.y < 0 ? 0 : dk_first_lanes(rows > 1 ? (g->oh - r.y) * g->ow : g->ow - r.xs);
}

/// The AVX2 forms of the four above (conv_direct_avx2.c), which they call on CPUs without AVX-512
/// (a weight layout of their own: per tap, one row of input channels per output channel).
int64_t dk_conv_direct_tile_weights_floats_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_direct_pack_tile_weights_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                           int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp);
void dk_conv_direct_tiles_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                               const float *wp, const float *bias, int accumulate, float *out);
void dk_conv_direct_grad_tiles_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cs, int64_t cout, const float *x,
                                    const float *panels, float *dwT);
/// dWᵀ (cin·kh·kw, cout) += col(x) · gᵀ for fewer than 8 input channels, from x zero-padded to
/// (oh + kh − 1) × (ow + kw − 1) per channel (xp, conv_direct.c's padded copy).
void dk_conv_direct_grad_tiles_few_channels_avx2(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *xp,
                                                 const float *panels, float *dwT);
#endif
/// Floats of scratch dk_conv_direct_f32 needs (a copy of the planes, or 0; a strided
/// convolution's: its input's phases, conv_common.h).
int64_t dk_conv_direct_scratch_floats(const dk_conv_geometry *g, int64_t cin);
/// out (cout, oh, ow) = bias + w ⋆ x (cin, h, w) for one image (bias may be NULL), wp packed by
/// dk_conv_direct_pack_tile_weights.
void dk_conv_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                        const float *bias, float *out, float *scratch);
/// Floats of scratch dk_conv_direct_weight_grad_f32 needs.
int64_t dk_conv_direct_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dWᵀ (cin·kh·kw, cout) += the weight gradient of one image: x (cin, h, w), g (cout, oh, ow).
void dk_conv_direct_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                    const float *gout, float *dwT, float *panels);
#endif
