#ifndef DESCENT_KERNELS_H
#define DESCENT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the system's zlib could be loaded at run time (zlib.c).
int dk_zlib_available(void);
/// Inflates one gzip stream (`gzip` 1) or zlib stream (0, as in PNG) from in[0..<inSize] into
/// out[0..<outCapacity]. Returns 1 when the stream ended (*produced bytes written, *consumed read),
/// 2 when out is full first (call again with more room from the start), 0 when the input ends
/// before the stream does, -1 for corrupt data, -2 when zlib refuses to start, -3 when no zlib.
int64_t dk_inflate(const unsigned char *in, int64_t inSize, unsigned char *out, int64_t outCapacity, int gzip,
                   int64_t *consumed, int64_t *produced);
/// Loads an optimized BLAS at run time (once). Returns 1 when one was found.
/// Before loading OpenBLAS it sets OPENBLAS_CORETYPE from the CPU's features when the
/// user has not set it, so that an OpenBLAS that does not recognise the CPU still runs its
/// fast kernel. `DESCENT_BLAS=none` disables BLAS; `DESCENT_BLAS=/path/lib.so` picks one.
int dk_blas_load(void);
/// The path or name of the loaded BLAS, or "built-in".
const char *dk_blas_name(void);
/// The OPENBLAS_CORETYPE in force when the BLAS was loaded ("" when none).
const char *dk_blas_coretype(void);
/// 1 when a BLAS has already been loaded (does not try to load one).
int dk_blas_loaded(void);
/// Sets the BLAS thread count (no-op without BLAS).
void dk_blas_set_threads(int n);

/// MPI, loaded at run time (mpi.c): Open MPI's libmpi.so.40 or MPICH's libmpi.so.12, or `path`
/// when not NULL. Returns 1 when loaded; dk_mpi_error says why not.
int dk_mpi_load(const char *path);
const char *dk_mpi_error(void);
const char *dk_mpi_library(void);
/// MPI_Get_library_version into out (capacity ≥ 8192); its length, or 0.
int dk_mpi_version(char *out, int capacity);
/// MPI_Init_thread (serialized) unless initialized; the world's rank and size. 0 on success.
int dk_mpi_init(int *rank, int *size);
void dk_mpi_finalize(void);
/// MPI_Abort on the world (every rank of the job stops), then _exit(code).
void dk_mpi_abort(int code);
/// Nonblocking collectives on the world. dtype: 0 float32, 1 float64, 2 byte; op: 0 sum, 1 max.
/// Each stores a request for dk_mpi_wait and returns MPI's error code (0: success).
int dk_mpi_iallreduce(void *buffer, int count, int dtype, int op, intptr_t *request);
int dk_mpi_ibcast(void *buffer, int bytes, int root, intptr_t *request);
int dk_mpi_iallgather(const void *send, void *receive, int bytes, intptr_t *request);
int dk_mpi_ibarrier(intptr_t *request);
/// MPI_Test: *done = 1 when the request completed.
int dk_mpi_test(intptr_t *request, int *done);
/// Polls a request until it completes (0), `timeout` seconds pass (-1; no limit when ≤ 0), or
/// MPI reports an error (its code).
int dk_mpi_wait(intptr_t *request, double timeout);

/// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T (trans != 0).
/// Uses the loaded BLAS when `useBlas` and one is loaded, else the built-in kernel.
void dk_sgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void dk_dgemm(int useBlas, int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha,
              const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc);
/// dk_sgemm's product for M = 1 (one row of A: a vector–matrix product), without BLAS or
/// packing; dk_sgemm runs it for every single-row product.
void dk_sgemm_one_row(int transA, int transB, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float beta, float *C);

/// 1 when the CPU has AVX-512F, AVX-512BW/DQ/VL.
int dk_cpu_has_avx512(void);
/// 1 when the CPU has AVX2 and FMA.
int dk_cpu_has_avx2(void);
/// Number of CPUs in this process's affinity mask, limited by a cgroup CPU quota (0 if unknown).
int dk_available_cpus(void);

/// A task of a parallel loop: `fn(ctx, index)`.
typedef void (*dk_task_fn)(void *ctx, int64_t index);
/// Runs fn(ctx, i) for i in 0..<n on up to `threads` threads (the caller included), on the
/// library's one pool of persistent workers. Calls from inside a task run serially.
void dk_parallel_for(int64_t n, int threads, dk_task_fn fn, void *ctx);

/// 1 when the AVX-512 float32 GEMM kernel can run on this CPU.
int dk_sgemm_avx512_available(void);
/// C = op(A) op(B) (or C += … when `accumulate`), row-major, on the AVX-512 kernel with
/// `threads` threads.
void dk_sgemm_avx512(int transA, int transB, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate, int threads);

/// 1 when the CPU has AVX512-BF16 (and AVX-512F/BW/DQ/VL): dk_bgemm_avx512bf16 can run.
int dk_bgemm_avx512bf16_available(void);
/// C = op(A) op(B) (or C += … when `accumulate`), row-major, on bfloat16 values with float32
/// sums (vdpbf16ps), with `threads` threads. A (B) is stored as raw bfloat16 when aBF16 (bBF16),
/// else as float32, rounded to the nearest bfloat16 (ties to even) as it is read. cForm: C is
/// float32 (0); raw bfloat16 rounded once from the sums (1); or float32 holding the sums rounded
/// to bfloat16 values (2, as dk_round_bf16_f32 rounds them). Forms 1 and 2 are not `accumulate`.
void dk_bgemm_avx512bf16(int transA, int transB, int64_t M, int64_t N, int64_t K, const void *A, int aBF16, int64_t lda,
                         const void *B, int bBF16, int64_t ldb, void *C, int cForm, int64_t ldc, int accumulate, int threads);

/// 1 when the CPU has AMX (AMX-TILE and AMX-BF16) with AVX512-BF16 and Linux granted this
/// process the tile state: dk_bgemm_avx512bf16 and dk_bgemm_prepacked can run their blocks, and
/// dk_conv_direct_bf16 and its weight gradient their products, on the matrix units.
int dk_bgemm_amx_available(void);
/// 1 when those kernels run on AMX now: available, and not turned off by DESCENT_AMX=0 or
/// dk_bgemm_set_amx(0).
int dk_bgemm_amx_active(void);
/// Turns AMX on or off for those kernels (off, they run on AVX512-BF16 alone); returns the new
/// dk_bgemm_amx_active(). Set it while no product runs.
int dk_bgemm_set_amx(int on);

/// Tests: with `on`, those kernels run their AMX paths (with AVX512-BF16, any CPU) on an
/// emulation of the tile registers (loads and stores of the same memory, a scalar model of
/// tdpbf16ps); returns whether the emulation is on.
int dk_bgemm_amx_model(int on);
/// 1 when those kernels take their AMX paths now: AMX active, or the emulation on.
int dk_amx_path(void);

/// Words that dk_bgemm_pack_b writes for a K×N operand B (callers check
/// dk_bgemm_avx512bf16_available()).
int64_t dk_bgemm_packed_b_words(int64_t K, int64_t N);
/// Packs all of op(B) (K×N, float32, rounded to bfloat16 as it is packed) once, for products
/// that reuse it (dk_bgemm_prepacked); dst 64-byte aligned.
void dk_bgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, uint32_t *dst);
/// C[:, j0:j1] (= or += with `accumulate`) A·B[:, j0:j1] on bfloat16 values with float32 sums:
/// A (M×K float32 by rows) rounded as it is packed, B packed by dk_bgemm_pack_b; with
/// `roundResult` each sum is rounded to bfloat16 before it is stored or added (an autocast
/// product's rounded result). j0 a multiple of 32; C points at column 0; the calling thread
/// (full 32×32 blocks on AMX tiles where dk_bgemm_amx_active()).
void dk_bgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const uint32_t *packedB, int64_t j0,
                        int64_t j1, float *C, int64_t ldc, int accumulate, int roundResult);

/// 1 when dk_sgemm_prepacked can run on this CPU (AVX-512, or AVX2 with FMA).
int dk_sgemm_prepacked_available(void);
/// Floats that dk_sgemm_pack_b writes for a K×N operand B.
int64_t dk_sgemm_packed_b_floats(int64_t K, int64_t N);
/// Packs all of op(B) (K×N) once, for products that reuse it (dk_sgemm_prepacked); dst
/// must be 64-byte aligned.
void dk_sgemm_pack_b(int transB, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);
/// C[:, j0:j1] (= or +=) A·B[:, j0:j1] with B packed by dk_sgemm_pack_b; j0 a multiple of 32;
/// C points at column 0. Runs on the calling thread, with AVX-512 or AVX2.
void dk_sgemm_prepacked(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packedB,
                        int64_t j0, int64_t j1, float *C, int64_t ldc, int accumulate);

/// Fused LSTM cell over `rows` rows: gates (rows, 4h) i,f,g,o and c (rows, h) → out (rows, 2h) = [h' | c'].
void dk_lstm_cell_f32(int64_t rows, int64_t h, const float *gates, const float *c, float *out);
/// Its backward: grad (rows, 2h) = [dh' | dc'] → dgates (rows, 4h), dc (rows, h).
void dk_lstm_cell_backward_f32(int64_t rows, int64_t h, const float *grad, const float *gates, const float *c,
                               float *dgates, float *dc);
/// Fused GRU cell: gi, gh (rows, 3h) r,z,n and h (rows, h) → h' (rows, h).
void dk_gru_cell_f32(int64_t rows, int64_t h, const float *gi, const float *gh, const float *hp, float *out);
/// Its backward: grad (rows, h) → dgi, dgh (rows, 3h), dh (rows, h).
void dk_gru_cell_backward_f32(int64_t rows, int64_t h, const float *grad, const float *gi, const float *gh,
                              const float *hp, float *dgi, float *dgh, float *dh);
/// One layer-direction of an LSTM or GRU for the fused sequence kernels (AVX-512 GEMM only).
typedef struct {
    int64_t steps, batch, hidden;
    int reverse;        // process steps T-1 … 0
    int threads;
    const float *whh;   // (4H, H) LSTM gates i, f, g, o; (3H, H) GRU gates r, z, n
    const float *masks; // (T, B): 1 while a sequence runs at position t, or NULL
    // 1: autocast's products on the bf16 kernel (dk_bgemm_prepacked): h·W_hhᵀ and dG·W_hh take
    // bfloat16 operands (rounded as they are packed) and their sums are rounded to bfloat16.
    int32_t bfloat16;
} dk_recurrent_shape;
/// gates (T, B, 4H): x·W_ihᵀ in (with the biases, or with bias (4H) = b_ih + b_hh added here,
/// step by step; NULL: none), activated gates out (kept for backward). Writes the states entering
/// each step hPrev, cPrev (T, B, H), tanh(c') (T, B, H) and out (T + 2, B, H): the outputs (0
/// past a sequence's end), then the final h and c.
void dk_lstm_sequence_forward_f32(const dk_recurrent_shape *s, float *gates, const float *bias, const float *h0,
                                  const float *c0, float *hPrev, float *cPrev, float *tanhC, float *out);
/// grad (T + 2, B, H) laid out like out → dGates (T, B, 4H), dh0 and dc0 (B, H), and (unless
/// NULL) dbias (4H) = Σ over steps and rows of dGates, summed in double step by step.
void dk_lstm_sequence_backward_f32(const dk_recurrent_shape *s, const float *grad, const float *gates, const float *cPrev,
                                   const float *tanhC, float *dGates, float *dbias, float *dh0, float *dc0);

/// gates (T, B, 3H): x·W_ihᵀ in (with b_ih, or with bih (3H) added here, step by step; NULL:
/// none), r, z, n out (kept for backward); bhh (3H). Writes the states entering each step hPrev
/// (T, B, H), gh_n + b_n (T, B, H) and out (T + 1, B, H): the outputs (0 past a sequence's end),
/// then the final h.
void dk_gru_sequence_forward_f32(const dk_recurrent_shape *s, float *gates, const float *bih, const float *bhh,
                                 const float *h0, float *hPrev, float *ghn, float *out);
/// grad (T + 1, B, H) laid out like out → dGi, dGh (T, B, 3H) (of gi and of gh), dh0 (B, H), and
/// (unless NULL) dbih = Σ dGi and dbhh = Σ dGh (3H), summed in double step by step.
void dk_gru_sequence_backward_f32(const dk_recurrent_shape *s, const float *grad, const float *gates, const float *ghn,
                                  const float *hPrev, float *dGi, float *dGh, float *dbih, float *dbhh, float *dh0);

/// y = σ(x) and y = tanh(x) over n contiguous floats (vectorized).
void dk_sigmoid_f32(int64_t n, const float *x, float *y);
void dk_tanh_f32(int64_t n, const float *x, float *y);
/// y = max(x, 0) (NaN and −0 kept) and dx = 0 where y ≤ 0, else g, over n contiguous floats (elementwise.c).
void dk_relu_f32(int64_t n, const float *x, float *y);
void dk_relu_grad_f32(int64_t n, const float *g, const float *y, float *dx);
/// g = the same, written over g.
void dk_relu_grad_inplace_f32(int64_t n, float *g, const float *y);
/// y += alpha·x over n contiguous floats, the product rounded before the sum (elementwise.c).
void dk_add_scaled_f32(int64_t n, float alpha, const float *x, float *y);
/// The arithmetic of dk_binary_f32.
enum { DK_ADD = 0, DK_SUB = 1, DK_MUL = 2, DK_DIV = 3 };
/// z[i] = x[i·sx] op y[i·sy] for i < n, op one of DK_ADD, DK_SUB, DK_MUL, DK_DIV; the strides are
/// 1, or 0 for one value broadcast; z may be x or y (updates in place), never overlap them otherwise.
void dk_binary_f32(int op, int64_t n, const float *x, int64_t sx, const float *y, int64_t sy, float *z);
/// out[j] = the sum over i < rows of x[i·ld + j], for j < cols, each summed in double in row order.
void dk_sum_rows_f32(int64_t rows, int64_t cols, int64_t ld, const float *x, float *out);
/// y = x rounded to the nearest bfloat16 (ties to even; NaN stays NaN), kept as float32.
void dk_round_bf16_f32(int64_t n, const float *x, float *y);
/// x = x rounded as dk_round_bf16_f32 rounds, in place.
void dk_round_bf16_f32_inplace(int64_t n, float *x);
/// y = x rounded to bfloat16 (its bits), as dk_round_bf16_f32 rounds.
void dk_f32_to_bf16(int64_t n, const float *x, uint16_t *y);

/// One image's convolution geometry (see Kernels/Im2col.swift).
typedef struct {
    int64_t h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
} dk_conv_geometry;
/// Rows row0..<row1 of im2col for one image whose channels start at `x` (contiguous planes).
void dk_im2col_f32(const dk_conv_geometry *g, const float *x, int64_t row0, int64_t row1, float *col);
/// Convolution with no dilation, one group (conv.c chooses Winograd's algorithm or the direct
/// kernel; a strided one runs on the direct kernel by its input's phases; AVX-512 only).
/// Floats of the packed weights of a (cout, cin, kh, kw) kernel.
int64_t dk_conv2d_packed_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Packs a kernel for dk_conv2d_f32: wp[t][(i·kw + j)·cin + c][r] = w[base + o·so + c·sc +
/// i·si + j·sj] with o = 8t + r (0 past cout). A (cout, cin, kh, kw) kernel has so = cin·kh·kw,
/// sc = kh·kw, si = kw, sj = 1; negative strides read it flipped. 3×3 kernels with enough
/// channels are packed instead as Winograd's transform (conv_winograd.c), which
/// dk_conv2d_f32 then runs (these three functions make the same choice).
void dk_conv2d_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                            int64_t so, int64_t sc, int64_t si, int64_t sj, float *wp);
/// Floats of scratch (64-byte aligned) that dk_conv2d_f32 needs (0: none, scratch may be NULL).
int64_t dk_conv2d_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// One image: out (cout, oh, ow) = bias + w ⋆ x (cin, h, w) with the geometry's padding, from
/// packed weights (bias may be NULL).
void dk_conv2d_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                   const float *bias, float *out, float *scratch);
/// The input gradient of a strided dk_conv2d_f32 (the direct kernel on its input's phases) for
/// one image, phase by phase of dx: dx (cin, h, w) from g (cout, oh, ow), with the weights packed
/// by dk_conv2d_pack_weights for (cout, cin) (a (cout, cin, kh, kw) kernel read with so = kh·kw,
/// sc = cin·kh·kw, si = kw, sj = 1), and scratch floats (AVX-512 only).
int64_t dk_conv_direct_input_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin);
void dk_conv_direct_input_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout,
                                   const float *wp, float *dx, float *scratch);
/// The convolution of dk_conv2d_f32 on bfloat16 values with AVX512-BF16 dot products
/// (conv_direct_bf16.c; callers check dk_bgemm_avx512bf16_available()), for any stride (a strided
/// one by its input's phases, conv_common.h; not on the AMX tiles): x and w rounded to the
/// nearest bfloat16, products exact, sums in float32. Words of the packed weights, words of
/// scratch (64-byte aligned), the packing (strides as for dk_conv2d_pack_weights: the input
/// channels taken two to a word), and out (cout, oh, ow) = bias + w ⋆ x for one image, each
/// value rounded to bfloat16 (autocast's product result).
int64_t dk_conv_direct_bf16_weight_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Whether dk_conv_direct_bf16 folds a first layer's one channel into the taps for this
/// geometry (stride 1, not on the AMX tiles, 1 channel, a kernel larger than 1×1: 3×3 makes 5
/// pairs of im2col's rows instead of 9 taps of a half-empty pair): its packing and scratch are
/// then a 1×1 convolution's of kh·kw channels over the output's pixels.
int dk_conv_direct_bf16_folds(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Whether dk_conv_direct_bf16 runs this stride-1 3×3 convolution by Winograd's F(4×4, 3×3) in
/// float32 on the bfloat16-rounded operands (conv_winograd4.c) instead of the dot-product tiles:
/// where that applies, off the AMX path, unless the environment sets DESCENT_BF16_WINOGRAD=0.
int dk_conv_wino4_takes(const dk_conv_geometry *g, int64_t cin, int64_t cout);
int64_t dk_conv_direct_bf16_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_direct_bf16_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int64_t base,
                                      int64_t so, int64_t sc, int64_t si, int64_t sj, uint32_t *wp);
void dk_conv_direct_bf16(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const uint32_t *wp,
                         const float *bias, float *out, uint32_t *scratch);
/// Its weight gradient for one image (pixels taken two at a time): dWᵀ (cin·kh·kw, cout) +=
/// col(x)·gᵀ, x (cin, h, w) and g (cout, oh, ow) rounded to bfloat16; scratch words (64-byte aligned).
int64_t dk_conv_direct_bf16_weight_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_direct_bf16_weight_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *gout,
                                     float *dwT, uint32_t *scratch);
/// The input gradient of a strided dk_conv_direct_bf16 for one image, phase by phase (each phase
/// of dx a stride-1 convolution of g with the taps that reach it): dx (cin, h, w) from g (cout,
/// oh, ow), each value rounded to bfloat16, with the weights packed by
/// dk_conv_direct_bf16_pack_weights for (cout, cin) (pairs of output channels: a (cout, cin, kh,
/// kw) kernel read with so = kh·kw, sc = cin·kh·kw, si = kw, sj = 1), and scratch words.
int64_t dk_conv_direct_bf16_input_grad_scratch_words(const dk_conv_geometry *g, int64_t cin, int64_t cout);
void dk_conv_direct_bf16_input_grad(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *gout, const uint32_t *wp,
                                    float *dx, uint32_t *scratch);
/// 1 when dk_conv_direct_bf16 (weightGradient 0) or its weight gradient (1) runs this
/// convolution on AMX tiles (conv_direct_amx.c): on the AMX path, where at least a fifth of the
/// tiles' products count (few input or output channels leave most of a tile's products zero).
int dk_conv_amx_takes(const dk_conv_geometry *g, int64_t cin, int64_t cout, int weightGradient);
/// Whether dk_conv2d_f32 runs Winograd's F(2×2, 3×3) (conv_winograd.c): a 3×3 kernel,
/// stride 1, no dilation, padding 0...2, at least 16 channels in and out, and rows of tiles
/// that fill most of a vector.
int dk_conv_winograd_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Whether the AVX2 direct tiles (conv_direct_avx2.c, where Winograd does not apply and the CPU
/// lacks AVX-512) fill most of their columns with output: rows of 6–8 pixels (two rows to a
/// tile), or rows that fill at least 3/4 of their runs of 16 pixels.
int dk_conv_direct_tiles_fill_avx2(const dk_conv_geometry *g);
/// Where it applies, part `part` of `parts` of dk_conv2d_f32 (a share of the image's rows of
/// output tiles; the parts may run on different threads, each with its own scratch).
void dk_conv_winograd_part_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                               const float *bias, float *out, float *scratch, int64_t part, int64_t parts);
/// Whether dk_conv2d_weight_grad_f32 runs Winograd's F(3×3, 2×2) (conv_winograd_grad.c; on
/// AVX-512 or AVX2, where the direct kernel needs AVX-512): where dk_conv_winograd_applies, with
/// at most 128·128 channel pairs and rows of more than 8 tiles.
int dk_conv_winograd_weight_grad_applies(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Floats of scratch (64-byte aligned) that dk_conv2d_weight_grad_f32 needs.
int64_t dk_conv2d_weight_grad_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// dWᵀ (cin·kh·kw, cout) += col(x) · gᵀ for one image (same conditions): g (cout, oh·ow).
void dk_conv2d_weight_grad_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                               const float *gout, float *dwT, float *scratch);
/// Transposed convolution without dilation, one group, by stride phases (conv_transpose_direct.c;
/// AVX-512 only). The geometry's h, w are the input's size, oh, ow the output's; w is (cin, cout,
/// kh, kw). Floats of the weights packed for the forward pass or for the input gradient.
int64_t dk_conv_transpose2d_packed_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout, int inputGradient);
void dk_conv_transpose2d_pack_weights(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *w, int inputGradient,
                                      float *wp);
/// Whether the forward pass, the input gradient and the weight gradient run by Winograd's
/// F(2×2, 2×2) in float32 (conv_winograd22.c) instead of the direct tiles: every phase a 2×2
/// convolution (kernel 4, stride 2) with padding 0 or 1, at least 16 input and output channels,
/// rows of tiles that fill most of their vectors, on AVX-512.
int dk_conv_transpose2d_winograd(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// Floats of scratch (64-byte aligned) that one image's forward or backward needs.
int64_t dk_conv_transpose2d_scratch_floats(const dk_conv_geometry *g, int64_t cin, int64_t cout);
/// One image: out (cout, oh, ow) = bias + convTranspose(x (cin, h, w)) (bias may be NULL).
void dk_conv_transpose2d_direct_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x, const float *wp,
                                    const float *bias, float *out, float *scratch);
/// One image's backward from g (cout, oh, ow): dx (cin, h, w) = the input gradient (from the weights
/// packed for it; skipped when dx is NULL), and dwT += the weight gradient by phases (skipped when
/// NULL; cin·kh·kw·cout floats, put in w's layout by dk_conv_transpose2d_weight_grad_layout). x is
/// read only for dwT (NULL otherwise is fine).
void dk_conv_transpose2d_direct_backward_f32(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *x,
                                             const float *gout, const float *wp, float *dx, float *dwT, float *scratch);
/// dw (cin, cout, kh, kw) = the phase-ordered weight gradient dwT.
void dk_conv_transpose2d_weight_grad_layout(const dk_conv_geometry *g, int64_t cin, int64_t cout, const float *dwT,
                                            float *dw);
/// Adds channels c0..<c1 of col2im into one image's planes starting at `dx`.
void dk_col2im_f32(const dk_conv_geometry *g, const float *col, int64_t c0, int64_t c1, float *dx);

/// Σ x[i], Σ (x[i] − mean)² and Σ g[i]·(x[i] − mean) over n contiguous floats (vector
/// accumulators, blocks added in double).
double dk_sum_f32(int64_t n, const float *x);
double dk_sum_squared_deviation_f32(int64_t n, const float *x, float mean);
double dk_sum_product_deviation_f32(int64_t n, const float *g, const float *x, float mean);
/// sums[0] = dk_sum_f32(n, g), sums[1] = dk_sum_product_deviation_f32(n, g, x, mean), the same
/// values, in one pass over g and x.
void dk_sum_and_product_deviation_f32(int64_t n, const float *g, const float *x, float mean, double *sums);

/// A pooling window geometry whose windows lie inside the image (no padding or dilation).
typedef struct {
    int64_t h, w, kh, kw, sh, sw, oh, ow;
} dk_pool_geometry;
/// Max pooling of `planes` contiguous (h, w) planes: values and the flat index (y·w + x) of
/// each maximum in its plane (NaN wins, the last one, as in PyTorch). `indices` may be NULL
/// (values only) where dk_maxpool2d_values_only(g).
void dk_maxpool2d_f32(int64_t planes, const dk_pool_geometry *g, const float *x, float *values, int64_t *indices);
/// Whether dk_maxpool2d_f32 takes NULL indices for geometry g (its vector 2-wide kernels).
int dk_maxpool2d_values_only(const dk_pool_geometry *g);
/// Max pooling's input gradient for planes [c0, c1) of hw inputs and `per` outputs each: dx zeroed,
/// then g added at the indices (< 0: none).
void dk_maxpool2d_backward_f32(int64_t c0, int64_t c1, int64_t hw, int64_t per, const float *g, const int64_t *indices,
                               float *dx);

#ifdef __cplusplus
}
#endif
#endif
