// The kernels of bfloat16 values: rounding float32 tensors to bfloat16 (Tensor.bfloat16Rounded,
// Ops/BFloat16Rounding.swift), and products of bfloat16 values on the CPU's bf16 dot-product
// instructions (AVX512-BF16) where it has them.
import CDescentKernels
import Foundation

extension Kernels {
    /// `x` (float32) with every value rounded to bfloat16 precision, in a new contiguous tensor.
    /// A strided x (a broadcast gradient, say) is copied first: copy and vector pass beat a
    /// scalar strided loop. With `keepingStrides`, a view that spans no more storage than it
    /// has elements (a broadcast, such as the gradient of a sum) is instead the same view of
    /// the storage it spans, rounded.
    static func roundToBFloat16(_ x: Tensor, keepingStrides: Bool = false) -> Tensor {
        if x.isContiguous { return vectorizedFloat(x, cost: 1, dk_round_bf16_f32)! }
        let dense = keepingStrides && x.count > 0 && !x.strides.contains { $0 < 0 }
        let span = dense ? 1 + Swift.zip(x.shape, x.strides).map { ($0 - 1) * $1 }.reduce(0, +) : Int.max
        guard span <= x.count else { return vectorizedFloat(copyToContiguous(x), cost: 1, dk_round_bf16_f32)! }
        let source = Tensor(storage: x.storage, shape: [span], strides: [1], offset: x.offset)
        return Tensor(storage: vectorizedFloat(source, cost: 1, dk_round_bf16_f32)!.storage, shape: x.shape, strides: x.strides)
    }

    /// Rounds a contiguous float32 tensor's values to bfloat16 in place and marks it
    /// (`holdsBFloat16Values`): a kernel's fresh output, which autocast would round next.
    static func roundToBFloat16InPlace(_ x: Tensor) {
        let p = x.storage.typed(Float.self) + x.offset
        Parallel.forRange(x.count, cost: 1) { r in dk_round_bf16_f32_inplace(Int64(r.count), p + r.lowerBound) }
        x.holdsBFloat16Values = true
    }

    /// `x` (float32) rounded to a bfloat16 tensor (a contiguous copy; a strided x copied first).
    static func toBFloat16(_ x0: Tensor) -> Tensor {
        let x = x0.isContiguous ? x0 : copyToContiguous(x0)
        let out = Tensor(uninitialized: x.shape, dtype: .bfloat16)
        let xp = x.storage.typed(Float.self) + x.offset, op = out.storage.typed(UInt16.self)
        Parallel.forRange(x.count, cost: 1) { r in dk_f32_to_bf16(Int64(r.count), xp + r.lowerBound, op + r.lowerBound) }
        return out
    }

    /// Whether products of bfloat16 values run on the CPU's bf16 dot-product instructions
    /// (AVX512-BF16: each pair of products exact, sums in float32). Off, or on a CPU without
    /// them, they run as float32 products of the same values, which differ only in the order of
    /// the float32 sums. Starts on where the CPU has them, unless `DESCENT_BF16_DOT=0`.
    static var bfloat16DotProducts: Bool {
        get { bfloat16DotCell.value }
        set { bfloat16DotCell.value = newValue && dk_bgemm_avx512bf16_available() != 0 }
    }
    private static let bfloat16DotCell = GlobalCell<Bool>(
        dk_bgemm_avx512bf16_available() != 0 && ProcessInfo.processInfo.environment["DESCENT_BF16_DOT"] != "0")

    /// Whether the bf16 GEMM (and the recurrent loops' per-step products) run their full 32×32
    /// blocks, and the direct bf16 convolutions their products, on the CPU's matrix units (AMX
    /// tiles, `tdpbf16ps`; bgemm_amx.c, conv_direct_amx.c) rather than on AVX512-BF16 alone: on
    /// by default where the CPU
    /// has AMX-TILE and AMX-BF16 and Linux grants the process the tile state, unless
    /// `DESCENT_AMX=0`; it cannot be turned on elsewhere. The sums are the same exact products'
    /// in float32, in another order. Set it while no product runs.
    static var bfloat16MatrixUnits: Bool {
        get { dk_bgemm_amx_active() != 0 }
        set { _ = dk_bgemm_set_amx(newValue ? 1 : 0) }
    }

    /// Whether autocast leaves the rounding of a convolution's operands, result and result's
    /// gradient to kernels that round as they read and write (`convolutionRoundsOperands`); on
    /// by default. Off, each takes its rounding pass (tests compare the two).
    static var roundingInKernels: Bool {
        get { roundingInKernelsCell.value }
        set { roundingInKernelsCell.value = newValue }
    }
    private static let roundingInKernelsCell = GlobalCell<Bool>(true)

    /// Whether the calling thread's float32 products run on the bf16 dot-product kernels now:
    /// inside autocast's products or their backward (`ThreadState.bfloat16Operands`), with
    /// `bfloat16DotProducts` on.
    static var bfloat16KernelsRun: Bool { bfloat16DotProducts && ThreadState.current.bfloat16Operands }

    /// Runs `body` with the calling thread's float32 products taken as products of bfloat16
    /// values when `on` (see `ThreadState.bfloat16Operands`).
    static func withBFloat16Operands<R>(_ on: Bool = true, _ body: () -> R) -> R {
        let state = ThreadState.current
        let previous = state.bfloat16Operands
        state.bfloat16Operands = on
        defer { state.bfloat16Operands = previous }
        return body()
    }

    /// C = op(A)·op(B), or C += … when `accumulate`, for A and B holding bfloat16 values (raw
    /// bfloat16 storage when `aBF16`/`bBF16`, else float32, rounded to the nearest bfloat16), on
    /// the bf16 dot-product kernel. C is float32, or with `cBF16` bfloat16 rounded once from the
    /// float32 sums; with `roundsC` float32 holding the sums rounded to bfloat16 values, as
    /// `roundToBFloat16` rounds them (neither then `accumulate`). Without the kernel (callers
    /// check `bfloat16DotProducts` first) it multiplies float32 copies of the values.
    static func bfloat16Gemm(transA ta: Bool, transB tb: Bool, m: Int, n: Int, k: Int, a: UnsafeRawPointer, aBF16: Bool,
                             lda: Int, b: UnsafeRawPointer, bBF16: Bool, ldb: Int, c: UnsafeMutableRawPointer, cBF16: Bool = false,
                             roundsC: Bool = false, ldc: Int, accumulate: Bool = false) {
        guard dk_bgemm_avx512bf16_available() != 0 else {
            let aCols = ta ? m : k, bCols = tb ? k : n
            let av = bfloat16Values(a, bf16: aBF16, rows: ta ? k : m, cols: aCols, ld: lda)
            let bv = bfloat16Values(b, bf16: bBF16, rows: tb ? n : k, cols: bCols, ld: ldb)
            var sums = [Float](repeating: 0, count: cBF16 ? m * n : 0)
            av.withUnsafeBufferPointer { ap in
                bv.withUnsafeBufferPointer { bp in
                    sums.withUnsafeMutableBufferPointer { sp in
                        gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ap.baseAddress!, lda: max(aCols, 1), b: bp.baseAddress!,
                             ldb: max(bCols, 1), c: cBF16 ? sp.baseAddress! : c.assumingMemoryBound(to: Float.self),
                             ldc: cBF16 ? max(n, 1) : ldc, accumulate: accumulate)
                    }
                }
            }
            if cBF16 {
                let cp = c.assumingMemoryBound(to: UInt16.self)
                for i in 0..<m { for j in 0..<n { cp[i * ldc + j] = BFloat16(sums[i * n + j]).bitPattern } }
            }
            if roundsC {
                let cp = c.assumingMemoryBound(to: Float.self)
                for i in 0..<m { dk_round_bf16_f32_inplace(Int64(n), cp + i * ldc) }
            }
            return
        }
        dk_bgemm_avx512bf16(ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), a, aBF16 ? 1 : 0, Int64(lda), b, bBF16 ? 1 : 0,
                            Int64(ldb), c, cBF16 ? 1 : roundsC ? 2 : 0, Int64(ldc), accumulate ? 1 : 0, Int32(Parallel.threads))
    }

    /// The rows × cols matrix at `p` (leading dimension `ld`) as float32 bfloat16 values.
    private static func bfloat16Values(_ p: UnsafeRawPointer, bf16: Bool, rows: Int, cols: Int, ld: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for j in 0..<cols {
                let at = r * ld + j
                out[r * cols + j] = bf16 ? BFloat16(bitPattern: p.load(fromByteOffset: 2 * at, as: UInt16.self)).float
                    : BFloat16.round(p.load(fromByteOffset: 4 * at, as: Float.self))
            }
        }
        return out
    }
}

/// Which instructions autocast's bfloat16 products (and `matmul` of bfloat16 tensors) run on:
/// `amx` — AMX tiles for the full 32×32 blocks of the GEMM and of the recurrent loops'
/// per-step products, and for the stride-1 convolutions with channels enough to fill a fifth of
/// the tiles (the others on float32 kernels); AVX512-BF16 for the GEMM's edges; `avx512BF16` —
/// AVX512-BF16 dot products
/// (`vdpbf16ps`); `emulated` — float32 arithmetic on bfloat16-rounded values, which gives the
/// same products. `DESCENT_BF16_DOT=0` turns the instructions off, `DESCENT_AMX=0` AMX alone.
public enum BFloat16Backend: String, Sendable {
    case amx, avx512BF16 = "avx512-bf16", emulated

    /// The one in use now, on this CPU and with these settings.
    public static var resolved: BFloat16Backend {
        guard Kernels.bfloat16DotProducts else { return .emulated }
        return Kernels.bfloat16MatrixUnits ? .amx : .avx512BF16
    }
}
