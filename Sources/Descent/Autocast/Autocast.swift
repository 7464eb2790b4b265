// bfloat16 autocast: inside `withAutocast(.bfloat16) { … }` the products (matmul, linear,
// convolutions and transposed convolutions, the recurrent layers' input and hidden products)
// take bfloat16 operands and accumulate in float32, while everything else — parameters,
// gradients, optimizer state, reductions, norms, losses — stays float32, as under PyTorch's
// `torch.autocast("cpu", dtype=torch.bfloat16)`.
//
// How a product runs: its float32 operands are rounded to bfloat16 values (`bfloat16Rounded`),
// multiplied and summed in float32 — a product of two bfloat16 numbers is exact in float32, so
// this is what bf16 dot-product hardware computes — and the result is rounded to bfloat16, as
// PyTorch's bf16 output is. The gradients flowing back through those roundings are rounded the
// same way (PyTorch's gradients of bf16 tensors are bf16). On this CPU path the rounded values
// are kept in float32 storage. Where the CPU has bf16 dot-product instructions (AVX512-BF16)
// the matrix products, the direct convolutions (stride 1, and strided ones of kernels larger
// than 1×1 by their input's phases, off the AMX path), the other strided and the transposed
// convolutions (by columns and the GEMM) and the fused LSTM and GRU loops' per-step products,
// forward and backward, run on them (`Kernels.bfloat16Gemm`, `Kernels.convolutionDirectBFloat16`,
// `Kernels.bfloat16KernelsRun`, `Kernels.fusedSequenceRunsBFloat16`), except 3×3 stride-1
// convolutions of at least 32 channels on rows of 25–32 outputs or whole vectors of 16 tiles,
// which those kernels run by Winograd's F(4×4, 3×3) in float32 on the rounded operands (a
// quarter of the multiplications at half the rate; conv_winograd4.c), forward and backward;
// elsewhere, and in Winograd's float32 kernel for 3×3 convolutions with short rows, float32
// arithmetic on the rounded values does the work (the float32 emulation), and the recurrent
// layers run step by step, each step's h·W_hhᵀ an autocast product. The roundings are one pass
// each over the operands and the result, except where the kernels round as they read and write:
// - the direct convolutions on bf16 kernels and the convolutions by columns on the bf16 GEMM
//   (`Kernels.convolutionRoundsOperands`): the activations, the result and the result's gradient
//   take no pass of their own;
// - matmul and linear on the bf16 GEMM (`Kernels.matmulRoundsOperands`): the input and its
//   gradient take none, nor (matmul) the result and its gradient, nor the gradient of an operand
//   that is not a weight rounded once per region (the recurrent layers' W_ihᵀ).
//
// As PyTorch does, the rounded copy of a weight (a leaf tensor that requires a gradient) is made
// once per autocast region and reused by every product in it — a recurrent layer's W_hh at every
// time step — so the weight's gradient is the sum of every use's, rounded once. The copies are
// dropped when the outermost `withAutocast` block ends: a weight changed inside the region (an
// optimizer step) is not seen by later products in it, so step the optimizer after the block.

/// Runs `body` with autocast on: inside, products take bfloat16 operands with float32
/// accumulation (see the module documentation above); the setting is the calling thread's, as
/// in PyTorch. The backward pass runs without autocast; call `backward()` after the block, as
/// PyTorch recommends.
///
/// ```swift
/// let loss = withAutocast(.bfloat16) { crossEntropy(model(x), y) }
/// loss.backward()
/// ```
/// - Parameters:
///   - dtype: The lower precision: `.bfloat16` (the only one on the CPU, as in PyTorch).
///   - enabled: false runs `body` with autocast off (e.g. to turn it off inside a block).
///   - body: The code to run in the scope; its result is returned.
@discardableResult
public func withAutocast<R>(_ dtype: DType = .bfloat16, enabled: Bool = true, _ body: () throws -> R) rethrows -> R {
    check(dtype == .bfloat16, "[withAutocast] the CPU autocast dtype is bfloat16, got \(dtype)")
    let state = ThreadState.current
    let previous = state.autocast
    state.autocast = enabled
    state.autocastDepth += 1
    defer {
        state.autocast = previous
        // As PyTorch: the cache lives until the outermost autocast block, enabled or not, ends.
        state.autocastDepth -= 1
        if state.autocastDepth == 0 { state.autocastCache.removeAll() }
    }
    return try body()
}

/// Whether the calling thread is inside a `withAutocast` block (PyTorch's
/// `torch.is_autocast_enabled("cpu")`).
public var isAutocastEnabled: Bool { ThreadState.current.autocast }

enum Autocast {
    /// What an op's kernels round as they read and write, to the values the rounding passes
    /// give, so that autocast leaves it to them (`lowerPrecision`).
    struct KernelRounding: OptionSet {
        let rawValue: Int
        /// The input (the first operand) as the kernels read it, and its gradient as they write it.
        static let input = KernelRounding(rawValue: 1)
        /// The result as the kernels write it, and its gradient as they read it.
        static let result = KernelRounding(rawValue: 2)
        static let inputAndResult: KernelRounding = [.input, .result]
    }

    /// If autocast is on and every operand is float32: `body` run with autocast off on the
    /// operands rounded to bfloat16, its result rounded to bfloat16. Otherwise nil, and the
    /// caller runs its float32 (or float64) path.
    ///
    /// `roundedByKernels` (`Kernels.convolutionRoundsOperands`, `Kernels.matmulRoundsOperands`):
    /// - `.input`: the input reaches `body` as it is (unless it is a weight, which keeps its one
    ///   rounded copy per region), so that neither it nor its gradient takes a pass; the kernels
    ///   must round the input's gradient they write.
    /// - `.result`: the result keeps no rounding of its own (its kernel marks it rounded,
    ///   `holdsBFloat16Values`), so that its gradient takes no pass either; `body` must then
    ///   still round what its kernels do not read: the gradient a bias's gradient sums.
    /// The other operands are rounded as always: their gradients (a weight's, a bias's) are
    /// rounded by that rounding's backward.
    static func lowerPrecision(_ operands: [Tensor?], roundedByKernels: KernelRounding = [], _ body: ([Tensor?]) -> Tensor) -> Tensor? {
        let state = ThreadState.current
        guard state.autocast, operands.allSatisfy({ $0 == nil || $0!.dtype == .float32 }) else { return nil }
        let roundedOperands = operands.enumerated().map { i, t in
            t.map { i == 0 && roundedByKernels.contains(.input) && !cached($0, state) ? $0 : rounded($0, state) }
        }
        state.autocast = false
        defer { state.autocast = true }
        let y = Kernels.withBFloat16Operands { body(roundedOperands) }
        guard roundedByKernels.contains(.result) else { return y.bfloat16Rounded() }
        check(y.holdsBFloat16Values, "[autocast] the kernels of a product that rounds its operands left its result unrounded")
        // Users see this tensor: the mark is only for a rounding that follows at once.
        y.holdsBFloat16Values = false
        return y
    }

    /// Whether `t` is a weight, rounded once per region (`rounded`).
    private static func cached(_ t: Tensor, _ state: ThreadState) -> Bool { t.isLeaf && t.requiresGrad && state.gradEnabled }

    /// Whether `t` is a weight that autocast rounds once per region, whose gradient is the sum
    /// of its uses' gradients rounded once.
    static func isCachedWeight(_ t: Tensor) -> Bool { cached(t, ThreadState.current) }

    /// `t` rounded to bfloat16 values; for a weight (a leaf that requires a gradient, with grad
    /// mode on) the copy made at its first use in this autocast region.
    static func rounded(_ t: Tensor, _ state: ThreadState) -> Tensor {
        guard cached(t, state) else { return t.bfloat16Rounded() }
        let key = ObjectIdentifier(t)
        if let hit = state.autocastCache[key] { return hit.rounded }
        let copy = t.bfloat16Rounded()
        // The source is kept too, so that its identifier is not reused while the entry lives.
        state.autocastCache[key] = (t, copy)
        return copy
    }

    /// Runs `body` with autocast off (the backward pass).
    static func disabled<R>(_ body: () -> R) -> R {
        let state = ThreadState.current
        let previous = state.autocast
        state.autocast = false
        defer { state.autocast = previous }
        return body()
    }
}
