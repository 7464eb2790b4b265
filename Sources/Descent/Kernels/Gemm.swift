import CDescentKernels
import Foundation

/// The BLAS Descent found at run time (OpenBLAS on Linux, Accelerate on macOS), if any.
public enum BLAS {
    nonisolated(unsafe) private static var noticeShown = false
    /// Whether an optimized BLAS was loaded.
    public static var isAvailable: Bool {
        let ok = dk_blas_load() != 0
        if ok { configureOnce }
        return ok
    }
    /// The loaded library ("built-in" when none).
    public static var name: String { String(cString: dk_blas_name()) }
    /// The OpenBLAS core type in force ("" when none was set).
    public static var coreType: String { String(cString: dk_blas_coretype()) }

    /// The BLAS runs on one thread per call: products are split over Descent's own pool
    /// (`Kernels.gemm`), so that one set of threads shares the cores.
    private static let configureOnce: Void = { dk_blas_set_threads(1) }()

    /// Prints once, to standard error, what to install for speed when no BLAS was found.
    static func noticeIfMissing() {
        guard !noticeShown else { return }
        noticeShown = true
        if !isAvailable {
            FileHandleStderr.write("Descent: no optimized BLAS found; matrix products use the built-in kernel. For speed install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread).\n")
        }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        #if os(Linux)
        _ = s.withCString { fputs($0, stderr) }
        #endif
    }
}

/// Which kernel multiplies float32 matrices.
///
/// `portable` uses neither AVX-512 nor BLAS, for either float type. `automatic` (the default) picks Descent's AVX-512 kernel on CPUs that have AVX-512 (measured
/// faster than OpenBLAS 0.3.21 on the benchmark shapes, see `descent bench gemm`), else the
/// BLAS found at run time, else the portable built-in kernel. Float64 products use the BLAS
/// when one is loaded, else the portable kernel. `DESCENT_MATMUL=avx512|blas|portable` sets
/// the initial choice.
public enum MatmulBackend: String, Sendable, CaseIterable {
    case automatic, avx512, blas, portable

    /// The backend in use for float32 products.
    public static var current: MatmulBackend {
        get { currentCell.value }
        set { currentCell.value = newValue; resolvedCell.value = resolve(newValue) }
    }
    private static let currentCell = GlobalCell<MatmulBackend>({
        if let v = ProcessInfo.processInfo.environment["DESCENT_MATMUL"], let b = MatmulBackend(rawValue: v) { return b }
        return .automatic
    }())
    private static let resolvedCell = GlobalCell<MatmulBackend>(resolve(currentCell.value))

    /// What `current` resolves to on this machine.
    public static var resolved: MatmulBackend { resolvedCell.value }

    private static func resolve(_ current: MatmulBackend) -> MatmulBackend {
        switch current {
        case .automatic:
            if dk_sgemm_avx512_available() != 0 { return .avx512 }
            return BLAS.isAvailable ? .blas : .portable
        case .avx512: return dk_sgemm_avx512_available() != 0 ? .avx512 : .portable
        case .blas: return BLAS.isAvailable ? .blas : .portable
        case .portable: return .portable
        }
    }
}

extension Kernels {
    /// How a matrix view is passed to GEMM: transposed or not, and its leading dimension.
    private struct MatrixLayout {
        let trans: Bool
        let ld: Int
        /// nil when the strides cannot be passed to GEMM (a copy is needed).
        init?(rows: Int, cols: Int, rowStride: Int, colStride: Int) {
            if colStride == 1 && (rowStride >= Swift.max(1, cols) || rows <= 1) {
                trans = false; ld = Swift.max(rowStride, cols, 1)
            } else if rowStride == 1 && (colStride >= Swift.max(1, rows) || cols <= 1) {
                trans = true; ld = Swift.max(colStride, rows, 1)
            } else {
                return nil
            }
        }
    }

    /// Whether, inside autocast, `a.matmul(b)` leaves the rounding of its input `a`, its result
    /// and their gradients to the bf16 GEMM (`Autocast.KernelRounding.inputAndResult`): where the
    /// CPU has it (`bfloat16DotProducts`), as it rounds float32 operands as it packs them and,
    /// asked to, writes its sums rounded (`roundsResult`) as `bfloat16Rounded` does — but its
    /// conversion takes subnormal inputs as zero, as the bf16 convolutions'
    /// (`convolutionRoundsOperands`) — and where the engine sums no gradient of `a` over
    /// broadcast batch dims (which must be rounded after the sum).
    static func matmulRoundsOperands(_ a: Tensor, _ b: Tensor) -> Bool {
        guard roundingInKernels && bfloat16DotProducts && a.dtype == .float32 && b.dtype == .float32 && a.rank >= 1 && b.rank >= 1 else {
            return false
        }
        let batchA = a.shape.dropLast(2), batchB = b.shape.dropLast(2)
        return batchA.count >= batchB.count && Swift.zip(batchA.suffix(batchB.count), batchB).allSatisfy { $0 == $1 || $1 == 1 }
    }

    /// `out[b] = a[b] · b[b]` for batch dims broadcast; `a` is (..., m, k), `b` is (..., k, n),
    /// both of the same rank ≥ 2, `batch` their broadcast batch shape. Two bfloat16 tensors
    /// (with `bfloat16DotProducts` on) multiply on the bf16 dot-product kernel. With
    /// `roundsResult`, float32 products on the bf16 kernels (`bfloat16KernelsRun`) round their
    /// sums to bfloat16 values as they write them and mark the result (`holdsBFloat16Values`).
    static func matmul(_ a0: Tensor, _ b0: Tensor, batch: [Int], roundsResult: Bool = false) -> Tensor {
        let rounds = roundsResult && a0.dtype == .float32 && bfloat16KernelsRun
        let r = a0.rank
        let m = a0.shape[r - 2], k = a0.shape[r - 1], n = b0.shape[r - 1]
        let (a, la) = gemmOperand(a0), (b, lb) = gemmOperand(b0)
        let out = Tensor(uninitialized: batch + [m, n], dtype: a.dtype)
        out.holdsBFloat16Values = rounds
        if out.count == 0 { return out }
        if batch.isEmpty {
            gemm(a, b, out, la.trans, lb.trans, M: m, N: n, K: k, lda: la.ld, ldb: lb.ld, aOff: 0, bOff: 0, cOff: 0, rounds: rounds)
            return out
        }
        let aBatch = Shape.broadcastStrides(Array(a.shape.prefix(r - 2)), Array(a.strides.prefix(r - 2)), to: batch)
        let bBatch = Shape.broadcastStrides(Array(b.shape.prefix(r - 2)), Array(b.strides.prefix(r - 2)), to: batch)
        let loop = StridedLoop(shape: batch, strides: [aBatch, bBatch, Shape.contiguousStrides(batch).map { $0 * m * n }])
        // One GEMM for the whole batch when b is shared and a's batches stack as rows.
        if loop.sizes.count == 1 && loop.innerStride(1) == 0 && !la.trans && loop.innerStride(0) == m * la.ld {
            gemm(a, b, out, la.trans, lb.trans, M: loop.innerCount * m, N: n, K: k, lda: la.ld, ldb: lb.ld,
                 aOff: 0, bOff: 0, cOff: 0, rounds: rounds)
            return out
        }
        loop.forEachRun(0..<loop.outerCount) { o, count in
            for i in 0..<count {
                gemm(a, b, out, la.trans, lb.trans, M: m, N: n, K: k, lda: la.ld, ldb: lb.ld,
                     aOff: o[0] + i * loop.innerStride(0), bOff: o[1] + i * loop.innerStride(1),
                     cOff: o[2] + i * loop.innerStride(2), rounds: rounds)
            }
        }
        return out
    }

    /// `t` (its last two dims the matrix) as GEMM reads it, with its layout: `t` itself, or a
    /// contiguous copy where its strides are not a layout GEMM takes.
    private static func gemmOperand(_ t: Tensor) -> (Tensor, MatrixLayout) {
        let r = t.rank
        func layout(_ x: Tensor) -> MatrixLayout? {
            MatrixLayout(rows: x.shape[r - 2], cols: x.shape[r - 1], rowStride: x.strides[r - 2], colStride: x.strides[r - 1])
        }
        if let l = layout(t) { return (t, l) }
        let c = copyToContiguous(t)
        return (c, layout(c)!)
    }

    /// out (m × n) = bias + a·b, bias (n) added to every row: each row of `out` starts as the
    /// bias and the GEMM adds the product to it (PyTorch's `addmm` with β = 1, as its `linear`
    /// runs), so that no second pass over the result adds it. a (m × k) and b (k × n) float32 or
    /// float64 matrices of the bias's dtype, in any layout GEMM takes (else copied).
    static func matmulAddingBias(_ a0: Tensor, _ b0: Tensor, bias: Tensor) -> Tensor {
        let m = a0.shape[0], k = a0.shape[1], n = b0.shape[1]
        let (a, la) = gemmOperand(a0), (b, lb) = gemmOperand(b0)
        let out = Tensor(uninitialized: [m, n], dtype: a.dtype), c = bias.contiguousData()
        func fill<T: FloatScalar>(_: T.Type) {
            let bp = c.storage.typed(T.self) + c.offset, op = out.storage.typed(T.self)
            for i in 0..<m { (op + i * n).update(from: bp, count: n) }
        }
        switch a.dtype {
        case .float32: fill(Float.self)
        case .float64: fill(Double.self)
        case .bfloat16, .int64: checkFailure("[linear] expected float32 or float64 tensors, got \(a.dtype)")
        }
        if m > 0 && n > 0 && k > 0 {
            gemm(la.trans, lb.trans, m: m, n: n, k: k, a: a, aOffset: 0, lda: la.ld, b: b, bOffset: 0, ldb: lb.ld, c: out, cOffset: 0,
                 ldc: n, accumulate: true)
        }
        return out
    }

    /// One GEMM on tensors' storage: C (M×N, ldc = N) = op(A) op(B).
    private static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ ta: Bool, _ tb: Bool,
                             M: Int, N: Int, K: Int, lda: Int, ldb: Int, aOff: Int, bOff: Int, cOff: Int, rounds: Bool) {
        switch a.dtype {
        case .float32:
            gemm(transA: ta, transB: tb, m: M, n: N, k: K, a: a.storage.typed(Float.self) + a.offset + aOff, lda: lda,
                 b: b.storage.typed(Float.self) + b.offset + bOff, ldb: ldb, c: c.storage.typed(Float.self) + c.offset + cOff, ldc: N,
                 roundsResult: rounds)
        case .float64:
            gemm(transA: ta, transB: tb, m: M, n: N, k: K, a: a.storage.typed(Double.self) + a.offset + aOff, lda: lda,
                 b: b.storage.typed(Double.self) + b.offset + bOff, ldb: ldb, c: c.storage.typed(Double.self) + c.offset + cOff, ldc: N)
        case .bfloat16:
            // Only with the bf16 dot-product kernel (Tensor.matmul).
            bfloat16Gemm(transA: ta, transB: tb, m: M, n: N, k: K, a: a.storage.typed(UInt16.self) + a.offset + aOff, aBF16: true,
                         lda: lda, b: b.storage.typed(UInt16.self) + b.offset + bOff, bBF16: true, ldb: ldb,
                         c: c.storage.typed(UInt16.self) + c.offset + cOff, cBF16: true, ldc: N)
        case .int64:
            let ap = a.storage.typed(Int64.self) + a.offset + aOff
            let bp = b.storage.typed(Int64.self) + b.offset + bOff
            let cp = c.storage.typed(Int64.self) + c.offset + cOff
            for i in 0..<M {
                for j in 0..<N {
                    var acc: Int64 = 0
                    for p in 0..<K {
                        let x = ta ? ap[p * lda + i] : ap[i * lda + p]
                        let y = tb ? bp[j * ldb + p] : bp[p * ldb + j]
                        acc &+= x &* y
                    }
                    cp[i * N + j] = acc
                }
            }
        }
    }

    /// C = op(A)·op(B) (or C += … when `accumulate`) on the storage of contiguous tensors at the
    /// given element offsets: A is m×k (k×m stored when `ta`), B is k×n (n×k stored when `tb`).
    static func gemm(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, a: Tensor, aOffset: Int, lda: Int,
                     b: Tensor, bOffset: Int, ldb: Int, c: Tensor, cOffset: Int, ldc: Int, accumulate: Bool = false,
                     roundsResult: Bool = false) {
        switch c.dtype {
        case .float32:
            gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a.storage.typed(Float.self) + a.offset + aOffset, lda: lda,
                 b: b.storage.typed(Float.self) + b.offset + bOffset, ldb: ldb,
                 c: c.storage.typed(Float.self) + c.offset + cOffset, ldc: ldc, accumulate: accumulate, roundsResult: roundsResult)
        case .float64:
            gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a.storage.typed(Double.self) + a.offset + aOffset, lda: lda,
                 b: b.storage.typed(Double.self) + b.offset + bOffset, ldb: ldb,
                 c: c.storage.typed(Double.self) + c.offset + cOffset, ldc: ldc, accumulate: accumulate)
        case .bfloat16: bfloat16Unsupported("gemm")
        case .int64: checkFailure("[gemm] expected floating-point tensors")
        }
    }

    /// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`, on raw float32 memory, with
    /// the backend of `MatmulBackend`. Inside a parallel task it runs on the calling thread.
    /// `roundsResult`: on the bf16 kernels (`bfloat16KernelsRun`), C holds the sums rounded to
    /// bfloat16 values (not with `accumulate`); elsewhere it is not asked for.
    static func gemm(transA ta: Bool, transB tb: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                     roundsResult: Bool = false) {
        if bfloat16KernelsRun {
            bfloat16Gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, aBF16: false, lda: lda, b: b, bBF16: false, ldb: ldb,
                         c: c, roundsC: roundsResult, ldc: ldc, accumulate: accumulate)
            return
        }
        let backend = MatmulBackend.resolved
        if backend == .avx512 {
            dk_sgemm_avx512(ta ? 1 : 0, tb ? 1 : 0, Int64(m), Int64(n), Int64(k), a, Int64(lda), b, Int64(ldb), c, Int64(ldc),
                            accumulate ? 1 : 0, Int32(Parallel.threads))
            return
        }
        if backend != .blas { BLAS.noticeIfMissing() }
        let useBLAS: Int32 = backend == .blas ? 1 : 0
        splitGemm(m: m, n: n, k: k, blas: useBLAS != 0) { rows, cols in
            dk_sgemm(useBLAS, ta ? 1 : 0, tb ? 1 : 0, Int64(rows.count), Int64(cols.count), Int64(k), 1,
                     a + rows.lowerBound * (ta ? 1 : lda), Int64(lda), b + cols.lowerBound * (tb ? ldb : 1), Int64(ldb),
                     accumulate ? 1 : 0, c + rows.lowerBound * ldc + cols.lowerBound, Int64(ldc))
        }
    }

    /// The float64 form (BLAS when loaded and allowed, else the portable kernel).
    static func gemm(transA ta: Bool, transB tb: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool = false) {
        let useBLAS: Int32 = MatmulBackend.current != .portable && BLAS.isAvailable ? 1 : 0
        if useBLAS == 0 { BLAS.noticeIfMissing() }
        splitGemm(m: m, n: n, k: k, blas: useBLAS != 0) { rows, cols in
            dk_dgemm(useBLAS, ta ? 1 : 0, tb ? 1 : 0, Int64(rows.count), Int64(cols.count), Int64(k), 1,
                     a + rows.lowerBound * (ta ? 1 : lda), Int64(lda), b + cols.lowerBound * (tb ? ldb : 1), Int64(ldb),
                     accumulate ? 1 : 0, c + rows.lowerBound * ldc + cols.lowerBound, Int64(ldc))
        }
    }

    /// Runs a product C (m×n) = op(A)·op(B) as blocks over the thread pool, each one call of
    /// `block(rows, columns)`: split by rows of C, or by columns when C is wide (a convolution's
    /// m = channels by n = pixels), so that every block still has a full-width kernel to run.
    /// The BLAS runs single-threaded (Descent's pool is the one set of threads: a second pool
    /// spinning beside it halves a 2-core machine), in one block per thread, as each block packs
    /// its own copy of the other operand; the portable kernel takes four per thread.
    private static func splitGemm(m: Int, n: Int, k: Int, blas: Bool, _ block: (Range<Int>, Range<Int>) -> Void) {
        let perThread = blas ? 1 : 4
        if m >= n || m >= 64 * Parallel.threads {
            Parallel.forRange(m, cost: n * k, chunksPerThread: perThread) { rows in block(rows, 0..<n) }
        } else {
            Parallel.forRange(n, cost: m * k, chunksPerThread: perThread) { cols in block(0..<m, cols) }
        }
    }
}

#if os(Linux)
import Glibc
#endif
