// 2-D convolution and transposed convolution primitives, with their backward rules: float32 on
// AVX-512 by the direct kernels (Kernels/ConvDirect.swift; stride-1 convolution, transposed
// convolution without dilation or groups), everything else by im2col + GEMM. 1-D forms and the
// layers are built on these (NN/Conv.swift).

/// Padding of a 2-D convolution: rows before/after, columns before/after.
struct Padding4 {
    let top: Int, left: Int, bottom: Int, right: Int
}

extension Tensor {
    /// out[n, o] = bias[o] + Σ_c Σ_ij w[o, c, i, j] · x[n, g·C/groups + c, oy·sh − pt + i·dh, ox·sw − pl + j·dw].
    static func convolution2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: Padding4,
                              dilation: (Int, Int), groups: Int, op: String = "conv2d") -> Tensor {
        precondition(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        precondition(w.rank == 4, "[\(op)] expected weight of shape (O, C/groups, kH, kW), got \(Shape.describe(w.shape))")
        precondition(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(groups >= 1 && c % groups == 0 && o % groups == 0,
                     "[\(op)] channels in \(c) and out \(o) must be divisible by groups \(groups)")
        precondition(cg == c / groups, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cg * groups) input channels (groups \(groups)), got input \(Shape.describe(x.shape))")
        precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1, "[\(op)] stride and dilation must be positive")
        let oh = (h + padding.top + padding.bottom - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + padding.left + padding.right - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        precondition(oh >= 1 && ow >= 1 && h + padding.top + padding.bottom >= dilation.0 * (kh - 1) + 1 && wd + padding.left + padding.right >= dilation.1 * (kw - 1) + 1,
                     "[\(op)] input \(Shape.describe(x.shape)) padded is smaller than the dilated kernel (\(kh), \(kw))")
        if let bias {
            precondition(bias.shape == [o], "[\(op)] bias must have shape (\(o),), got \(Shape.describe(bias.shape))")
            precondition(bias.dtype == x.dtype, "[\(op)] bias \(bias.dtype) must have the input's type \(x.dtype)")
        }
        let g = ConvGeometry(n: n, c: c, h: h, w: wd, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.top, padW: padding.left, dh: dilation.0, dw: dilation.1, oh: oh, ow: ow)
        let xd = x.detach().contiguousData(), wm = w.detach().contiguousData()
        let og = o / groups, pixels = oh * ow, k = cg * kh * kw
        let out = Tensor(uninitialized: [n, o, oh, ow], dtype: x.dtype)
        // Per image: col = im2col(x[b]) (k × pixels); out[b, group] = W[group] (og × k) · col.
        // The columns are kept for the weight gradient when they are not too large.
        // The direct kernel builds no columns; the weight gradient then forms them again.
        let direct = Kernels.convolutionDirectApplies(x, g, groups: groups)
        // Fewer images than threads: the threads share each image's rows of tiles (Winograd); the
        // backward then takes the im2col path.
        let shared = !direct && Kernels.convolutionWinogradSharesImages(x, g, groups: groups, outChannels: o)
        let keepColumns = !direct && !shared && Tensor.needsGrad(w) && n * groups * k * pixels * x.dtype.byteSize <= 128 << 20
        let saved = ConvPlan.Slots(count: keepColumns ? n * groups : 0)
        let packed = direct || shared ? Kernels.convolutionDirectWeights(wm, g, outChannels: o) : nil
        let biasData = bias?.detach().contiguousData()
        if let packed, shared {
            let parts = Parallel.threads
            Parallel.forRange(n * parts, cost: o * k * pixels / parts, chunksPerThread: n) { r in
                for t in r {
                    Kernels.convolutionWinogradPart(xd, g, image: t / parts, part: t % parts, parts: parts, packed: packed,
                                                    bias: biasData, outChannels: o, out: out)
                }
            }
        } else {
            ConvPlan.forEachImage(n, dtype: x.dtype, cost: o * k * pixels) { b in
                if let packed {
                    Kernels.convolutionDirect(xd, g, image: b, packed: packed, bias: biasData, outChannels: o, out: out)
                    return
                }
                for grp in 0..<groups {
                    let col = Kernels.im2col(xd, g, image: b, c0: grp * cg, cg: cg)
                    Kernels.gemm(false, false, m: og, n: pixels, k: k, a: wm, aOffset: grp * og * k, lda: k,
                                 b: col, bOffset: 0, ldb: pixels, c: out, cOffset: (b * o + grp * og) * pixels, ldc: pixels)
                    if keepColumns { saved[b * groups + grp] = col }
                }
            }
        }
        if let biasData, !direct && !shared { Kernels.addInPlace(out, biasData.reshape([1, o, 1, 1])) }
        if Tensor.needsGrad([x, w] + (bias.map { [$0] } ?? [])) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record(op == "conv2d" ? "ConvolutionBackward" : "ConvolutionBackward(\(op))", [x, w] + (bias.map { [$0] } ?? [])) { gout in
                let gc = gout.contiguousData()
                // With stride 1, dx is the convolution of g with the flipped, transposed weight
                // (padded by k − 1 − p on the leading side, which may be negative).
                let dx = needX ? (direct ? Tensor(uninitialized: x.shape, dtype: x.dtype) : Tensor.zeros(x.shape, dtype: x.dtype)) : nil
                let gT = ConvGeometry(n: n, c: o, h: oh, w: ow, kh: kh, kw: kw, sh: 1, sw: 1, padH: kh - 1 - padding.top,
                                      padW: kw - 1 - padding.left, dh: 1, dw: 1, oh: h, ow: wd)
                let wFlipped = needX && direct ? Kernels.convolutionDirectWeights(wm, gT, outChannels: c, flipped: true) : nil
                let partials = ConvPlan.WeightGradPartials(shape: [groups, k, og], dtype: w.dtype)
                ConvPlan.forEachImage(n, dtype: x.dtype, cost: 2 * o * k * pixels) { b in
                    if let dx, let wFlipped { Kernels.convolutionDirect(gc, gT, image: b, packed: wFlipped, outChannels: c, out: dx) }
                    if direct && needW { Kernels.convolutionDirectWeightGrad(xd, g, image: b, gout: gc, outChannels: o, into: partials.current) }
                    for grp in 0..<groups {
                        let gOff = (b * o + grp * og) * pixels
                        if needW && !direct {
                            // dW[group]ᵀ (k × og) += col (k × pixels) · g[b, group]ᵀ: the large operand
                            // is read as rows, which is faster than transposing it for dW = g·colᵀ.
                            let col = saved[b * groups + grp] ?? Kernels.im2col(xd, g, image: b, c0: grp * cg, cg: cg)
                            Kernels.gemm(false, true, m: k, n: og, k: pixels, a: col, aOffset: 0, lda: pixels,
                                         b: gc, bOffset: gOff, ldb: pixels, c: partials.current, cOffset: grp * k * og, ldc: og, accumulate: true)
                        }
                        if let dx, wFlipped == nil {
                            // dcol = W[group]ᵀ (k × og) · g[b, group]; dx[b] += col2im(dcol)
                            let dcol = Tensor(uninitialized: [k, pixels], dtype: x.dtype)
                            Kernels.gemm(true, false, m: k, n: pixels, k: og, a: wm, aOffset: grp * og * k, lda: k,
                                         b: gc, bOffset: gOff, ldb: pixels, c: dcol, cOffset: 0, ldc: pixels)
                            Kernels.col2im(dcol, g, image: b, c0: grp * cg, cg: cg, into: dx)
                        }
                    }
                }
                let dw = needW ? partials.sumTransposed(to: w.shape) : nil
                let db = bias != nil ? gout.sum(dims: [0, 2, 3]) : nil
                return [dx, dw] + (bias != nil ? [db] : [])
            }
        }
        return out
    }

    /// The transpose (adjoint) of `convolution2d` with respect to its input: weight is
    /// (Cin, Cout/groups, kH, kW); the output size is (H−1)·s − pt − pb + d·(k−1) + 1 + outputPadding.
    static func convolutionTranspose2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                                       outputPadding: (Int, Int), dilation: (Int, Int), groups: Int) -> Tensor {
        let op = "convTranspose2d"
        precondition(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        precondition(w.rank == 4, "[\(op)] expected weight of shape (Cin, Cout/groups, kH, kW), got \(Shape.describe(w.shape))")
        precondition(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cinW, coutg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(groups >= 1 && cin % groups == 0, "[\(op)] input channels \(cin) must be divisible by groups \(groups)")
        precondition(cinW == cin, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cinW) input channels, got input \(Shape.describe(x.shape))")
        precondition(outputPadding.0 < Swift.max(stride.0, dilation.0) && outputPadding.1 < Swift.max(stride.1, dilation.1) && outputPadding.0 >= 0 && outputPadding.1 >= 0,
                     "[\(op)] outputPadding \(outputPadding) must be smaller than either stride \(stride) or dilation \(dilation)")
        let cout = coutg * groups, cing = cin / groups
        let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + 1 + outputPadding.0
        let ow = (wd - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + 1 + outputPadding.1
        precondition(oh >= 1 && ow >= 1, "[\(op)] output size (\(oh), \(ow)) is too small for input \(Shape.describe(x.shape))")
        if let bias {
            precondition(bias.shape == [cout], "[\(op)] bias must have shape (\(cout),), got \(Shape.describe(bias.shape))")
            precondition(bias.dtype == x.dtype, "[\(op)] bias \(bias.dtype) must have the input's type \(x.dtype)")
        }
        // The large image is this op's output; its small grid is this op's input.
        let g = ConvGeometry(n: n, c: cout, h: oh, w: ow, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.0, padW: padding.1, dh: dilation.0, dw: dilation.1, oh: h, ow: wd)
        let pixels = h * wd, k = coutg * kh * kw
        let xd = x.detach().contiguousData(), wm = w.detach().contiguousData(), biasData = bias?.detach().contiguousData()
        // The direct kernel works by stride phases on the images in place (conv_transpose_direct.c).
        let direct = Kernels.convolutionTransposeDirectApplies(x, dilation: dilation, groups: groups)
        let cg = dk_conv_geometry(h: Int64(h), w: Int64(wd), kh: Int64(kh), kw: Int64(kw), sh: Int64(stride.0), sw: Int64(stride.1),
                                  ph: Int64(padding.0), pw: Int64(padding.1), dh: 1, dw: 1, oh: Int64(oh), ow: Int64(ow))
        let out = direct ? Tensor(uninitialized: [n, cout, oh, ow], dtype: x.dtype) : Tensor.zeros([n, cout, oh, ow], dtype: x.dtype)
        let packed = direct ? Kernels.convolutionTransposeDirectWeights(wm, cg, inputGradient: false) : nil
        // Otherwise per image: col = W[group]ᵀ (k × cing) · x[b, group] (cing × pixels); out[b] += col2im(col).
        ConvPlan.forEachImage(n, dtype: x.dtype, cost: cin * k * pixels) { b in
            if let packed {
                Kernels.convolutionTransposeDirect(xd, cg, image: b, cin: cin, cout: cout, packed: packed, bias: biasData, out: out)
                return
            }
            for grp in 0..<groups {
                let col = Tensor(uninitialized: [k, pixels], dtype: x.dtype)
                Kernels.gemm(true, false, m: k, n: pixels, k: cing, a: wm, aOffset: grp * cing * k, lda: k,
                             b: xd, bOffset: (b * cin + grp * cing) * pixels, ldb: pixels, c: col, cOffset: 0, ldc: pixels)
                Kernels.col2im(col, g, image: b, c0: grp * coutg, cg: coutg, into: out)
            }
        }
        if let biasData, !direct { Kernels.addInPlace(out, biasData.reshape([1, cout, 1, 1])) }
        if Tensor.needsGrad([x, w] + (bias.map { [$0] } ?? [])) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record("ConvolutionBackward(transposed)", [x, w] + (bias.map { [$0] } ?? [])) { gout in
                let gc = gout.contiguousData()
                let dx = needX ? Tensor(uninitialized: x.shape, dtype: x.dtype) : nil
                let db = bias != nil ? gout.sum(dims: [0, 2, 3]) : nil
                if direct {
                    let packedDx = needX ? Kernels.convolutionTransposeDirectWeights(wm, cg, inputGradient: true) : nil
                    let partials = ConvPlan.WeightGradPartials(shape: [cin * kh * kw, cout], dtype: w.dtype)
                    ConvPlan.forEachImage(n, dtype: x.dtype, cost: 2 * cin * k * pixels) { b in
                        Kernels.convolutionTransposeDirectBackward(xd, gc, cg, image: b, cin: cin, cout: cout, packed: packedDx, dx: dx,
                                                                   dwT: needW ? partials.current : nil)
                    }
                    let dw = needW ? Kernels.convolutionTransposeWeightLayout(partials.sum(), cg, weightShape: w.shape) : nil
                    return [dx, dw] + (bias != nil ? [db] : [])
                }
                let partials = ConvPlan.WeightGradPartials(shape: [groups, k, cing], dtype: w.dtype)
                ConvPlan.forEachImage(n, dtype: x.dtype, cost: 2 * cin * k * pixels) { b in
                    for grp in 0..<groups {
                        let col = Kernels.im2col(gc, g, image: b, c0: grp * coutg, cg: coutg)  // (k, pixels)
                        if let dx {
                            Kernels.gemm(false, false, m: cing, n: pixels, k: k, a: wm, aOffset: grp * cing * k, lda: k,
                                         b: col, bOffset: 0, ldb: pixels, c: dx, cOffset: (b * cin + grp * cing) * pixels, ldc: pixels)
                        }
                        if needW {
                            // dW[group]ᵀ (k × cing) += col (k × pixels) · x[b, group]ᵀ
                            Kernels.gemm(false, true, m: k, n: cing, k: pixels, a: col, aOffset: 0, lda: pixels,
                                         b: xd, bOffset: (b * cin + grp * cing) * pixels, ldb: pixels, c: partials.current,
                                         cOffset: grp * k * cing, ldc: cing, accumulate: true)
                        }
                    }
                }
                let dw = needW ? partials.sumTransposed(to: w.shape) : nil
                return [dx, dw] + (bias != nil ? [db] : [])
            }
        }
        return out
    }
}

/// How convolutions spread their per-image work: across the thread pool (each image's GEMMs
/// then run on their thread), or image by image when the GEMM backend (a BLAS) has threads of
/// its own — never both.
enum ConvPlan {
    static func imagesInParallel(_ dtype: DType) -> Bool {
        dtype == .float32 ? MatmulBackend.resolved != .blas : !(MatmulBackend.current != .portable && BLAS.isAvailable)
    }

    static func forEachImage(_ n: Int, dtype: DType, cost: Int, _ body: (Int) -> Void) {
        if imagesInParallel(dtype) {
            // Images handed out one at a time (an image is far more than a hand-off), so that a
            // thread slowed by other work on its core takes fewer.
            Parallel.forRange(n, cost: cost, chunksPerThread: n) { r in for b in r { body(b) } }
        } else {
            for b in 0..<n { body(b) }
        }
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

    /// One weight-gradient accumulator per thread, summed at the end.
    final class WeightGradPartials {
        private var buffers: [Int: Tensor] = [:]
        private let shape: [Int], dtype: DType, lock = NSLock()
        init(shape: [Int], dtype: DType) { self.shape = shape; self.dtype = dtype }

        /// The calling thread's accumulator.
        var current: Tensor {
            let id = Parallel.currentThreadID
            lock.lock(); defer { lock.unlock() }
            if let t = buffers[id] { return t }
            let t = Tensor.zeros(shape, dtype: dtype)
            buffers[id] = t
            return t
        }

        func sum() -> Tensor {
            let parts = Array(buffers.values)
            guard var total = parts.first else { return Tensor.zeros(shape, dtype: dtype) }
            for p in parts.dropFirst() { total = total + p }
            return total
        }

        /// The sum of (groups, k, m) accumulators of Wᵀ, as the weight (groups·m, …) whose
        /// trailing dims hold k.
        func sumTransposed(to weightShape: [Int]) -> Tensor {
            sum().transpose(1, 2).contiguous().reshape(weightShape)
        }
    }
}

import CDescentKernels
import Foundation
