import CDescentKernels
import Foundation

// The convolution algorithms behind Ops/Convolution.swift, and the choice between them: float32
// on AVX-512 by the direct kernels (Kernels/ConvDirect.swift: stride-1 convolution, with
// Winograd's algorithm for 3×3 kernels; strided convolution by its input's phases, in float32 or,
// inside autocast on AVX512-BF16, in bfloat16; transposed convolution by stride phases); on AVX2
// Winograd for 3×3 stride-1 convolutions, the AVX2 direct tiles for other stride-1 convolutions,
// and transposed and strided convolutions by stride phases on those tiles; everything else by
// im2col + GEMM; images spread over the thread pool (ConvPlan).

/// How `Kernels.convolution2d` computes a convolution (and its backward follows).
enum ConvolutionAlgorithm {
    /// The direct kernels (AVX-512; `convolutionDirectApplies`), on bfloat16 values inside
    /// autocast where `convolutionDirectBFloat16`.
    case direct
    /// Fewer images than threads: the threads share each image's rows of tiles (Winograd); the
    /// backward then goes by columns.
    case sharedWinograd
    /// Without AVX-512: Winograd or the direct tiles on AVX2 for the stride-1 geometries they take.
    case avx2Kernels
    /// Strided, without AVX-512: the input gradient of the transposed convolution with the same
    /// weight, by its stride phases (conv_transpose_direct.c on the AVX2 direct tiles).
    case phases
    /// im2col + GEMM (on the bf16 GEMM inside autocast, forward and backward).
    case columns

    init(_ x: Tensor, _ g: ConvGeometry, groups: Int, outChannels o: Int) {
        if Kernels.convolutionDirectApplies(x, g, groups: groups, outChannels: o) { self = .direct }
        else if Kernels.convolutionWinogradSharesImages(x, g, groups: groups, outChannels: o) { self = .sharedWinograd }
        else if Kernels.convolutionAVX2KernelsApply(x, g, groups: groups, outChannels: o) { self = .avx2Kernels }
        else if Kernels.convolutionStridedByPhasesApplies(x, g, groups: groups) { self = .phases }
        else { self = .columns }
    }
}

extension Kernels {
    /// What a convolution's forward pass keeps for its backward.
    struct ConvolutionSaved {
        /// The input and weight as contiguous data (no graph).
        let x: Tensor, w: Tensor
        let g: ConvGeometry, groups: Int, outChannels: Int
        /// Whether the forward ran the direct kernel (the backward then does too).
        let direct: Bool
        /// Whether the forward ran on the AVX2 stride-1 kernels, Winograd or the direct tiles
        /// (`convolutionAVX2KernelsApply`; the input gradient then does too, when its geometry
        /// allows; the weight gradient runs by a kernel, Winograd's or the direct tiles).
        let avx2Kernels: Bool
        /// Whether the forward ran by stride phases, as the input gradient of a transposed
        /// convolution (`convolutionStridedByPhasesApplies`; the backward then does too).
        let phased: Bool
        /// im2col columns per (image, group), kept for the weight gradient when not too large.
        let columns: ConvPlan.Slots
    }

    /// out[n, o] = bias[o] + Σ_c Σ_ij w[o, c, i, j] · x[n, g·C/groups + c, …] for the geometry
    /// `g`; x (N, C, H, W) and w (O, C/groups, kh, kw) contiguous, checked by the op.
    /// `weightGradient`: the backward will need dW (im2col columns are then kept when small).
    static func convolution2d(_ x: Tensor, _ w: Tensor, bias: Tensor?, _ g: ConvGeometry, groups: Int,
                              weightGradient: Bool) -> (Tensor, ConvolutionSaved) {
        let (n, o) = (g.n, w.shape[0])
        let xd = x.contiguousData(), wm = w.contiguousData()
        let og = o / groups, cg = g.c / groups, pixels = g.oh * g.ow, k = cg * g.kh * g.kw
        let out = Tensor(uninitialized: [n, o, g.oh, g.ow], dtype: x.dtype)
        // Per image: col = im2col(x[b]) (k × pixels); out[b, group] = W[group] (og × k) · col.
        // The columns are kept for the weight gradient when they are not too large.
        // The direct kernel builds no columns; the weight gradient then forms them again.
        let algorithm = ConvolutionAlgorithm(x, g, groups: groups, outChannels: o)
        let direct = algorithm == .direct, shared = algorithm == .sharedWinograd, avx2Kernels = algorithm == .avx2Kernels
        if algorithm == .phases { return convolutionByPhases(xd, wm, bias: bias, g) }
        let keepColumns = algorithm == .columns && weightGradient && n * groups * k * pixels * x.dtype.byteSize <= 128 << 20
        let saved = ConvPlan.Slots(count: keepColumns ? n * groups : 0)
        // Inside autocast, on AVX512-BF16: the direct kernel on bfloat16 values.
        let bf16 = direct && convolutionDirectBFloat16(g, outChannels: o)
        let packed = direct || shared || avx2Kernels ? convolutionDirectWeights(wm, g, outChannels: o, bfloat16: bf16) : nil
        let biasData = bias?.contiguousData()
        if let packed, shared {
            let parts = Parallel.threads
            Parallel.forRange(n * parts, cost: o * k * pixels / parts, chunksPerThread: n) { r in
                for t in r {
                    convolutionWinogradPart(xd, g, image: t / parts, part: t % parts, parts: parts, packed: packed,
                                            bias: biasData, outChannels: o, out: out)
                }
            }
        } else {
            // By columns on the bf16 GEMM without a bias: the GEMM writes the result rounded.
            let roundsInGemm = biasData == nil && bfloat16KernelsRun
            ConvPlan.forEachImage(n, cost: o * k * pixels) { b in
                if let packed {
                    convolutionDirect(xd, g, image: b, packed: packed, bias: biasData, outChannels: o, out: out, bfloat16: bf16)
                    return
                }
                for grp in 0..<groups {
                    let col = im2col(xd, g, image: b, c0: grp * cg, cg: cg)
                    gemm(false, false, m: og, n: pixels, k: k, a: wm, aOffset: grp * og * k, lda: k,
                         b: col, bOffset: 0, ldb: pixels, c: out, cOffset: (b * o + grp * og) * pixels, ldc: pixels,
                         roundsResult: roundsInGemm)
                    if keepColumns { saved[b * groups + grp] = col }
                }
            }
        }
        if let biasData, algorithm == .columns { addInPlace(out, biasData.reshape([1, o, 1, 1])) }
        // The bf16 direct kernel stores autocast's rounded result: its rounding makes no pass.
        out.holdsBFloat16Values = bf16
        // By columns on the bf16 GEMM: the result rounded by it, or (bias added) here, in place.
        if algorithm == .columns && bfloat16KernelsRun {
            if biasData == nil { out.holdsBFloat16Values = true } else { roundToBFloat16InPlace(out) }
        }
        return (out, ConvolutionSaved(x: xd, w: wm, g: g, groups: groups, outChannels: o, direct: direct, avx2Kernels: avx2Kernels,
                                      phased: false, columns: saved))
    }

    /// `convolution2d` as the adjoint of a transposed convolution T with the same weight (O, C, kh,
    /// kw) read as T's (Cin, Cout, kh, kw): T maps (O, oh, ow) to (C, h, w), and the convolution
    /// of x is T's input gradient for the output gradient x. Its input gradient is then T itself
    /// applied to gout, and its weight gradient T's weight gradient with gout as T's input and x
    /// as T's output gradient. conv_transpose_direct.c computes all three by stride phases.
    private static func convolutionByPhases(_ xd: Tensor, _ wm: Tensor, bias: Tensor?, _ g: ConvGeometry) -> (Tensor, ConvolutionSaved) {
        let (n, o, c) = (g.n, wm.shape[0], g.c)
        let out = Tensor(uninitialized: [n, o, g.oh, g.ow], dtype: xd.dtype), cg = g.transposedCGeometry
        let packed = convolutionTransposeDirectWeights(wm, cg, inputGradient: true)
        ConvPlan.forEachImage(n, cost: o * c * g.kh * g.kw * g.oh * g.ow) { b in
            convolutionTransposeDirectBackward(nil, xd, cg, image: b, cin: o, cout: c, packed: packed, dx: out, dwT: nil)
        }
        if let bias { addInPlace(out, bias.contiguousData().reshape([1, o, 1, 1])) }
        return (out, ConvolutionSaved(x: xd, w: wm, g: g, groups: 1, outChannels: o, direct: false, avx2Kernels: false, phased: true,
                                      columns: ConvPlan.Slots(count: 0)))
    }

    /// The backward of `convolutionByPhases`.
    private static func convolutionByPhasesBackward(_ gc: Tensor, _ s: ConvolutionSaved, inputGradient needX: Bool,
                                                    weightGradient needW: Bool) -> (Tensor?, Tensor?) {
        let (g, o, c, cg) = (s.g, s.outChannels, s.g.c, s.g.transposedCGeometry)
        let dx = needX ? Tensor(uninitialized: s.x.shape, dtype: s.x.dtype) : nil
        let packed = needX ? convolutionTransposeDirectWeights(s.w, cg, inputGradient: false) : nil
        let partials = ConvPlan.WeightGradPartials(shape: [o * g.kh * g.kw, c], dtype: s.w.dtype)
        ConvPlan.forEachImageChunk(g.n, cost: 2 * o * c * g.kh * g.kw * g.oh * g.ow) { images in
            let dwT = needW ? partials.accumulator(images.lowerBound) : nil
            for b in images {
                if let dx, let packed { convolutionTransposeDirect(gc, cg, image: b, cin: o, cout: c, packed: packed, bias: nil, out: dx) }
                if let dwT { convolutionTransposeDirectBackward(gc, s.x, cg, image: b, cin: o, cout: c, packed: nil, dx: nil, dwT: dwT) }
            }
        }
        return (dx, needW ? convolutionTransposeWeightLayout(partials.sum(), cg, weightShape: s.w.shape) : nil)
    }

    /// The input and weight gradients of `convolution2d` for the output gradient `gout`
    /// (each nil when not asked for).
    static func convolution2dBackward(_ gout: Tensor, _ s: ConvolutionSaved, inputGradient needX: Bool,
                                      weightGradient needW: Bool) -> (Tensor?, Tensor?) {
        let (g, groups, o, direct, xd, wm) = (s.g, s.groups, s.outChannels, s.direct, s.x, s.w)
        let (n, c, kh, kw) = (g.n, g.c, g.kh, g.kw)
        let og = o / groups, cg = c / groups, pixels = g.oh * g.ow, k = cg * kh * kw
        let gc = gout.contiguousData()
        if s.phased { return convolutionByPhasesBackward(gc, s, inputGradient: needX, weightGradient: needW) }
        // With stride 1, dx is the convolution of g with the flipped, transposed weight; a strided
        // direct convolution's dx is that of each of its phases.
        let strided = direct && (g.sh > 1 || g.sw > 1)
        let gT = g.inputGradient(outChannels: o)
        let flippedKernel = (direct && !strided) || (s.avx2Kernels && convolutionAVX2KernelsApply(gc, gT, groups: 1, outChannels: c))
        // (col2im adds into dx: each image's task zeroes its part first, in parallel.)
        let dx = needX ? Tensor(uninitialized: xd.shape, dtype: xd.dtype) : nil
        let bf16 = direct && convolutionDirectBFloat16(strided ? g : gT, outChannels: strided ? o : c)
        let wFlipped = needX && flippedKernel ? convolutionDirectWeights(wm, gT, outChannels: c, flipped: true, bfloat16: bf16) : nil
        let wPhases = needX && strided ? convolutionDirectWeights(wm, g, outChannels: c, transposed: true, bfloat16: bf16) : nil
        let directDx = wFlipped != nil || wPhases != nil
        // The weight gradient by the direct kernels (AVX-512), or where the forward pass ran on the
        // AVX2 kernels by Winograd's F(3×3, 2×2) in AVX2 where the geometry suits it, else by the
        // AVX2 direct tiles (conv.c chooses); else im2col + GEMM.
        let kernelWeightGrad = direct || s.avx2Kernels
        // Inside autocast, on AVX512-BF16: the direct kernels' weight gradient on bfloat16 values.
        let bf16W = direct && convolutionDirectWeightGradBFloat16(g, outChannels: o)
        let partials = ConvPlan.WeightGradPartials(shape: [groups, k, og], dtype: wm.dtype)
        ConvPlan.forEachImageChunk(n, cost: 2 * o * k * pixels) { images in
            let dw = needW ? partials.accumulator(images.lowerBound) : nil
            for b in images {
                if let dx, let wFlipped { convolutionDirect(gc, gT, image: b, packed: wFlipped, outChannels: c, out: dx, bfloat16: bf16) }
                if let dx, let wPhases { convolutionDirectInputGradient(gc, g, image: b, packed: wPhases, outChannels: o, dx: dx, bfloat16: bf16) }
                if let dx, !directDx { ConvPlan.zeroImage(dx, b) }
                if kernelWeightGrad, let dw { convolutionDirectWeightGrad(xd, g, image: b, gout: gc, outChannels: o, into: dw, bfloat16: bf16W) }
                for grp in 0..<groups {
                    let gOff = (b * o + grp * og) * pixels
                    if needW && !kernelWeightGrad {
                        // dW[group]ᵀ (k × og) += col (k × pixels) · g[b, group]ᵀ: the large operand
                        // is read as rows, which is faster than transposing it for dW = g·colᵀ.
                        let col = s.columns[b * groups + grp] ?? im2col(xd, g, image: b, c0: grp * cg, cg: cg)
                        gemm(false, true, m: k, n: og, k: pixels, a: col, aOffset: 0, lda: pixels,
                             b: gc, bOffset: gOff, ldb: pixels, c: dw!, cOffset: grp * k * og, ldc: og, accumulate: true)
                    }
                    if let dx, !directDx {
                        // dcol = W[group]ᵀ (k × og) · g[b, group]; dx[b] += col2im(dcol)
                        let dcol = Tensor(uninitialized: [k, pixels], dtype: xd.dtype)
                        gemm(true, false, m: k, n: pixels, k: og, a: wm, aOffset: grp * og * k, lda: k,
                             b: gc, bOffset: gOff, ldb: pixels, c: dcol, cOffset: 0, ldc: pixels)
                        col2im(dcol, g, image: b, c0: grp * cg, cg: cg, into: dx)
                    }
                }
            }
        }
        // The bf16 direct kernel stores dx rounded, as autocast's rounding of the input's
        // gradient would; by columns on the bf16 GEMM, dx is rounded here, in place.
        if let dx, directDx && bf16 { dx.holdsBFloat16Values = true }
        if let dx, !directDx && bfloat16KernelsRun { roundToBFloat16InPlace(dx) }
        return (dx, needW ? partials.sumTransposed(to: wm.shape) : nil)
    }

    /// What a transposed convolution's forward pass keeps for its backward.
    struct ConvolutionTransposeSaved {
        let x: Tensor, w: Tensor
        /// The geometry with the large image (this op's output) as the convolution's input.
        let g: ConvGeometry, groups: Int
        let direct: Bool
    }

    /// The transpose (adjoint) of `convolution2d` with respect to its input: x (N, Cin, H, W),
    /// w (Cin, Cout/groups, kh, kw); `g` describes the large image (N, Cout, oh, ow) as a
    /// convolution's input and the op's input grid as its output.
    static func convolutionTranspose2d(_ x: Tensor, _ w: Tensor, bias: Tensor?, _ g: ConvGeometry,
                                       groups: Int) -> (Tensor, ConvolutionTransposeSaved) {
        let (n, cin, cout) = (g.n, x.shape[1], g.c)
        let cing = cin / groups, coutg = cout / groups
        let pixels = g.oh * g.ow, k = coutg * g.kh * g.kw
        let xd = x.contiguousData(), wm = w.contiguousData(), biasData = bias?.contiguousData()
        // The direct kernel works by stride phases on the images in place (conv_transpose_direct.c),
        // in float32. Inside autocast on AVX512-BF16 the GEMM path runs instead, its products on
        // the bf16 kernel (forward and backward): 4×4 stride-2 64→32 channels on 16 16×16 images
        // took 0.75 of the direct kernel's time on one thread, 0.78 on two (AMD EPYC, Zen 4).
        let direct = convolutionTransposeDirectApplies(x, dilation: (g.dh, g.dw), groups: groups) && !bfloat16KernelsRun
        let cg = g.transposedCGeometry
        let out = Tensor(uninitialized: [n, cout, g.h, g.w], dtype: x.dtype)
        let packed = direct ? convolutionTransposeDirectWeights(wm, cg, inputGradient: false) : nil
        // Otherwise per image: out[b] = 0, col = W[group]ᵀ (k × cing) · x[b, group] (cing × pixels),
        // out[b] += col2im(col).
        ConvPlan.forEachImage(n, cost: cin * k * pixels) { b in
            if let packed {
                convolutionTransposeDirect(xd, cg, image: b, cin: cin, cout: cout, packed: packed, bias: biasData, out: out)
                return
            }
            ConvPlan.zeroImage(out, b)
            for grp in 0..<groups {
                let col = Tensor(uninitialized: [k, pixels], dtype: x.dtype)
                gemm(true, false, m: k, n: pixels, k: cing, a: wm, aOffset: grp * cing * k, lda: k,
                     b: xd, bOffset: (b * cin + grp * cing) * pixels, ldb: pixels, c: col, cOffset: 0, ldc: pixels)
                col2im(col, g, image: b, c0: grp * coutg, cg: coutg, into: out)
            }
        }
        if let biasData, !direct { addInPlace(out, biasData.reshape([1, cout, 1, 1])) }
        return (out, ConvolutionTransposeSaved(x: xd, w: wm, g: g, groups: groups, direct: direct))
    }

    /// The input and weight gradients of `convolutionTranspose2d` for `gout` (each nil when not
    /// asked for).
    static func convolutionTranspose2dBackward(_ gout: Tensor, _ s: ConvolutionTransposeSaved, inputGradient needX: Bool,
                                               weightGradient needW: Bool) -> (Tensor?, Tensor?) {
        let (g, groups, xd, wm) = (s.g, s.groups, s.x, s.w)
        let (n, cin, cout, kh, kw) = (g.n, xd.shape[1], g.c, g.kh, g.kw)
        let cing = cin / groups, coutg = cout / groups
        let pixels = g.oh * g.ow, k = coutg * kh * kw
        let gc = gout.contiguousData()
        let dx = needX ? Tensor(uninitialized: xd.shape, dtype: xd.dtype) : nil
        if s.direct {
            let cg = g.transposedCGeometry
            let packedDx = needX ? convolutionTransposeDirectWeights(wm, cg, inputGradient: true) : nil
            let partials = ConvPlan.WeightGradPartials(shape: [cin * kh * kw, cout], dtype: wm.dtype)
            ConvPlan.forEachImageChunk(n, cost: 2 * cin * k * pixels) { images in
                let dwT = needW ? partials.accumulator(images.lowerBound) : nil
                for b in images {
                    convolutionTransposeDirectBackward(xd, gc, cg, image: b, cin: cin, cout: cout, packed: packedDx, dx: dx, dwT: dwT)
                }
            }
            return (dx, needW ? convolutionTransposeWeightLayout(partials.sum(), cg, weightShape: wm.shape) : nil)
        }
        let partials = ConvPlan.WeightGradPartials(shape: [groups, k, cing], dtype: wm.dtype)
        ConvPlan.forEachImageChunk(n, cost: 2 * cin * k * pixels) { images in
            let dw = needW ? partials.accumulator(images.lowerBound) : nil
            for b in images {
                for grp in 0..<groups {
                    let col = im2col(gc, g, image: b, c0: grp * coutg, cg: coutg)  // (k, pixels)
                    if let dx {
                        gemm(false, false, m: cing, n: pixels, k: k, a: wm, aOffset: grp * cing * k, lda: k,
                             b: col, bOffset: 0, ldb: pixels, c: dx, cOffset: (b * cin + grp * cing) * pixels, ldc: pixels)
                    }
                    if needW {
                        // dW[group]ᵀ (k × cing) += col (k × pixels) · x[b, group]ᵀ
                        gemm(false, true, m: k, n: cing, k: pixels, a: col, aOffset: 0, lda: pixels,
                             b: xd, bOffset: (b * cin + grp * cing) * pixels, ldb: pixels, c: dw!,
                             cOffset: grp * k * cing, ldc: cing, accumulate: true)
                    }
                }
            }
        }
        return (dx, needW ? partials.sumTransposed(to: wm.shape) : nil)
    }
}

extension ConvGeometry {
    /// The geometry of a transposed convolution as conv_transpose_direct.c takes it: h, w the
    /// op's input grid (here oh, ow), oh, ow its output (here h, w); no dilation.
    var transposedCGeometry: dk_conv_geometry {
        dk_conv_geometry(h: Int64(oh), w: Int64(ow), kh: Int64(kh), kw: Int64(kw), sh: Int64(sh), sw: Int64(sw),
                         ph: Int64(padH), pw: Int64(padW), dh: 1, dw: 1, oh: Int64(h), ow: Int64(w))
    }
}

/// How convolutions spread their per-image work: across the thread pool, each image's GEMMs
/// then running on its thread (a product inside a pool task is not split again). The tasks
/// multiply bfloat16 values when their caller does (`ThreadState.bfloat16Operands`, autocast).
enum ConvPlan {
    static func forEachImage(_ n: Int, cost: Int, _ body: (Int) -> Void) {
        // Images handed out one at a time (an image is far more than a hand-off), so that a
        // thread slowed by other work on its core takes fewer.
        let bf16 = ThreadState.current.bfloat16Operands
        Parallel.forRange(n, cost: cost, chunksPerThread: n) { r in Kernels.withBFloat16Operands(bf16) { for b in r { body(b) } } }
    }

    /// Runs `body` over the images in contiguous chunks across the pool (a few chunks per
    /// thread, fixed by the batch size and thread count).
    static func forEachImageChunk(_ n: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let bf16 = ThreadState.current.bfloat16Operands
        Parallel.forRange(n, cost: cost, chunksPerThread: 4) { r in Kernels.withBFloat16Operands(bf16) { body(r) } }
    }

    /// Zeroes image `b` of the contiguous (N, …) tensor `t` (from the task that then adds into it).
    static func zeroImage(_ t: Tensor, _ b: Int) {
        let bytes = t.count / t.shape[0] * t.dtype.byteSize
        (t.storage.pointer + (t.offset + b * t.count / t.shape[0]) * t.dtype.byteSize).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    /// Tensors written by index from parallel tasks (each index by one task only).
    final class Slots {
        private let slots: UnsafeMutablePointer<Tensor?>
        private let count: Int
        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: max(count, 1))
            slots.initialize(repeating: nil, count: max(count, 1))
        }
        deinit { slots.deinitialize(count: max(count, 1)); slots.deallocate() }
        subscript(i: Int) -> Tensor? {
            get { i < count ? slots[i] : nil }
            set { if i < count { slots[i] = newValue } }
        }
    }

    /// One weight-gradient accumulator per chunk of images, summed at the end in the chunks'
    /// order: the chunks depend only on the batch and the thread count (not on which thread
    /// ran which), so the gradient's bits do too.
    final class WeightGradPartials {
        private var buffers: [Int: Tensor] = [:]
        private let shape: [Int], dtype: DType, lock = NSLock()
        init(shape: [Int], dtype: DType) { self.shape = shape; self.dtype = dtype }

        /// The accumulator of the chunk whose first image is `key` (one task per chunk).
        func accumulator(_ key: Int) -> Tensor {
            lock.lock(); defer { lock.unlock() }
            if let t = buffers[key] { return t }
            let t = Tensor.zeros(shape, dtype: dtype)
            buffers[key] = t
            return t
        }

        func sum() -> Tensor {
            let parts = buffers.sorted { $0.key < $1.key }.map(\.value)
            guard let total = parts.first else { return Tensor.zeros(shape, dtype: dtype) }
            for p in parts.dropFirst() { Kernels.addInPlace(total, p) }
            return total
        }

        /// The sum of (groups, k, m) accumulators of Wᵀ, as the weight (groups·m, …) whose
        /// trailing dims hold k.
        func sumTransposed(to weightShape: [Int]) -> Tensor {
            sum().transpose(1, 2).contiguous().reshape(weightShape)
        }
    }
}


import Foundation
