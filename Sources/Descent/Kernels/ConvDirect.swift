import CDescentKernels

// The direct float32 kernels (conv_direct.c, conv_transpose_direct.c; AVX-512, and their AVX2
// tiles in conv_direct_avx2.c): convolutions with stride 1, strided ones by their input's phases
// (AVX-512), and transposed convolutions by stride phases (kernel 4, stride 2: by Winograd's
// F(2×2, 2×2), conv_winograd22.c), one image per call on the calling
// thread, reading the images in place instead of building column matrices; and their bfloat16
// forms (conv_direct_bf16.c).
extension Kernels {
    /// Whether `convolutionDirect` applies: float32 on AVX-512, stride 1 (or strided:
    /// `stridedDirectTakes`), no dilation, one group, and at least one image per
    /// thread (each image then runs on one thread), or fewer images but little work
    /// (`oneThreadWork`). (Without AVX-512, `convolutionAVX2KernelsApply`.)
    static func convolutionDirectApplies(_ x: Tensor, _ g: ConvGeometry, groups: Int, outChannels: Int) -> Bool {
        (directKernelsTake(x, g, groups: groups) || stridedDirectTakes(x, g, groups: groups)) && MatmulBackend.resolved == .avx512
            && (g.n >= Parallel.threads || g.n * outChannels * g.c * g.kh * g.kw * g.oh * g.ow <= oneThreadWork)
    }

    /// Multiply-adds of a convolution with fewer images than threads below which the direct
    /// kernels (one image on one thread) still beat im2col + GEMM split over the threads: a
    /// batch-1 inference's layers (measured on the CNN's two convolutions, 0.1 and 0.9 M).
    static let oneThreadWork = 1 << 20

    /// float32, stride 1, no dilation, one group: what the direct kernels compute.
    private static func directKernelsTake(_ x: Tensor, _ g: ConvGeometry, groups: Int) -> Bool {
        x.dtype == .float32 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && groups == 1
    }

    /// A strided convolution (float32, no dilation, one group) on the direct kernels, by its
    /// input's phases (conv_common.h): its forward pass and weight gradient are the stride-1
    /// tiles on the phases, its input gradient those tiles phase by phase of dx.
    /// - Inside autocast on a CPU with AVX512-BF16: the bfloat16 tiles (conv_direct_bf16.c), but
    ///   not on the AMX path (where im2col and the GEMM's tiles run it). On the bf16 GEMM by
    ///   columns the ResNet's strided 3×3 layers took 73–114 GFLOP/s on one Zen 4 core, the
    ///   stride-1 kernels 165–178; by phases their forward pass and input gradient's tiles run at
    ///   about 185.
    /// - Else the float32 tiles (conv_direct.c), with at least 8 input channels (fewer leave
    ///   the weight gradient's tiles of 8 channels mostly empty; such first layers keep im2col).
    ///   The float32 `resnet` step on one Zen 4 core, medians of 5 alternating runs: 36.2 ms this
    ///   way, 37.9 as the input gradient of a transposed convolution (`.phases`, the AVX2 CPUs'
    ///   way), 39.5 by im2col.
    /// A 1×1 kernel stays on columns: it reads one phase, and its input gradient by phases,
    /// three of four phases zero, measured slower.
    static func stridedDirectTakes(_ x: Tensor, _ g: ConvGeometry, groups: Int) -> Bool {
        guard x.dtype == .float32 && (g.sh > 1 || g.sw > 1) && g.kh * g.kw > 1 && g.dh == 1 && g.dw == 1 && groups == 1 else {
            return false
        }
        return bfloat16KernelsRun ? dk_amx_path() == 0 : g.c >= 8
    }

    /// Whether the AVX2 forms of the convolution kernels run: an AVX2 CPU without AVX-512, with
    /// the BLAS or the built-in GEMM chosen automatically (an explicit `.portable` backend
    /// keeps every convolution on im2col + GEMM).
    static var avx2KernelsRun: Bool {
        MatmulBackend.resolved != .avx512 && MatmulBackend.current != .portable && dk_cpu_has_avx2() != 0
    }

    /// Whether `convolutionDirect` runs Winograd's F(2×2, 3×3) for this geometry (conv_winograd.c):
    /// on AVX-512 only, as every direct kernel.
    static func convolutionWinogradApplies(_ g: ConvGeometry, outChannels: Int) -> Bool {
        MatmulBackend.resolved == .avx512
            && withUnsafePointer(to: g.cGeometry) { dk_conv_winograd_applies($0, Int64(g.c), Int64(outChannels)) != 0 }
    }

    /// The weights of a direct convolution packed for conv_direct.c, once per call: `w` is the
    /// convolution's (O, C, kh, kw) kernel, or with `flipped` the (C, O, kh, kw) kernel of the
    /// convolution whose input gradient this one computes (used flipped and transposed). With
    /// `bfloat16` (see `convolutionDirectBFloat16`), packed for conv_direct_bf16.c: pairs of
    /// bfloat16 values, one 32-bit word per float32 element of the tensor.
    /// With `transposed`, `g` is a strided convolution's and `outChannels` its input's channels:
    /// the (O, C, kh, kw) kernel packed unflipped with C as its output channels, for
    /// `convolutionDirectInputGradient`.
    static func convolutionDirectWeights(_ w: Tensor, _ g: ConvGeometry, outChannels: Int, flipped: Bool = false,
                                         transposed: Bool = false, bfloat16: Bool = false) -> Tensor {
        withUnsafePointer(to: g.cGeometry) { gp in
            let (cin, cout) = transposed ? (Int64(w.shape[0]), Int64(outChannels)) : (Int64(g.c), Int64(outChannels))
            let count = bfloat16 ? dk_conv_direct_bf16_weight_words(gp, cin, cout) : dk_conv2d_packed_floats(gp, cin, cout)
            let packed = Tensor(uninitialized: [Int(count)], dtype: .float32)
            let (kh, kw, taps) = (Int64(g.kh), Int64(g.kw), Int64(g.kh * g.kw))
            // (O, C, kh, kw), w[c][o][kh−1−i][kw−1−j] of a (C, O, kh, kw) kernel, or its w[c][o][i][j].
            let (base, so, sc, si, sj) = flipped ? ((kh - 1) * kw + kw - 1, taps, cout * taps, -kw, Int64(-1))
                                       : transposed ? (Int64(0), taps, cout * taps, kw, Int64(1))
                                       : (Int64(0), cin * taps, taps, kw, Int64(1))
            let wp = w.storage.typed(Float.self) + w.offset, dst = packed.storage.typed(Float.self)
            if bfloat16 {
                dk_conv_direct_bf16_pack_weights(gp, cin, cout, wp, base, so, sc, si, sj, words(dst))
            } else {
                dk_conv2d_pack_weights(gp, cin, cout, wp, base, so, sc, si, sj, dst)
            }
            return packed
        }
    }

    /// Whether a direct convolution (where `convolutionDirectApplies`) runs on bfloat16 values
    /// (conv_direct_bf16.c, AVX512-BF16 dot products, or conv_direct_amx.c on AMX tiles) instead
    /// of float32 (on autocast's rounded values): inside autocast's products or their backward
    /// (`ThreadState.bfloat16Operands`) on a CPU with the instructions.
    /// - Where the tiles take it (`dk_conv_amx_takes`): always.
    /// - Else on the AMX path: never. The CPUs with AMX run one `vdpbf16ps` a cycle but two
    ///   float32 FMAs, and the float32 kernels took 0.35 to 0.8 of the dot products' time on every
    ///   geometry measured on one (BENCHMARKS.md).
    /// - Else, for a geometry that Winograd takes, only where rows fill at least 2/3 of their
    ///   runs of 16 (rows of 8 fill half of each, and Winograd's float32 products then do as well).
    /// - Strided (`stridedDirectTakes`): always (there is no float32 strided direct kernel).
    /// Where `dk_conv_wino4_takes` (3×3, stride 1, 32 channels or more), the C entry points run
    /// Winograd's F(4×4, 3×3) in float32 on the operands rounded as read, instead of the tiles.
    static func convolutionDirectBFloat16(_ g: ConvGeometry, outChannels: Int) -> Bool {
        guard bfloat16KernelsRun else { return false }
        if g.sh > 1 || g.sw > 1 { return true }
        if tilesTake(g, outChannels: outChannels, weightGradient: false) { return true }
        if dk_amx_path() != 0 { return false }
        return 3 * g.ow >= 2 * 16 * ((g.ow + 15) / 16) || !convolutionWinogradApplies(g, outChannels: outChannels)
    }

    /// Whether, inside autocast, this convolution's kernels round its input, and its output's
    /// gradient, to bfloat16 as they read them, so that autocast need not round them first:
    /// - the direct kernels on bfloat16 values for the forward pass and for each gradient asked
    ///   for (the input gradient, a convolution too, stores its result rounded). Their conversion
    ///   rounds to nearest even as `bfloat16Rounded` does, but takes subnormals as zero: the
    ///   values differ from those of a rounding pass followed by the kernels only for an input
    ///   within 2⁻¹³⁴ below the smallest normal float, which the pass would round up to it;
    /// - by columns on the bf16 GEMM, which rounds its operands as it packs them (as
    ///   `bfloat16Rounded` does); the result and the input's gradient are rounded in place.
    static func convolutionRoundsOperands(_ x: Tensor, _ g: ConvGeometry, groups: Int, outChannels: Int, inputGradient: Bool,
                                          weightGradient: Bool) -> Bool {
        roundingInKernels && withBFloat16Operands {
            guard bfloat16KernelsRun else { return false }
            switch ConvolutionAlgorithm(x, g, groups: groups, outChannels: outChannels) {
            case .columns: return true
            case .direct:
                return convolutionDirectBFloat16(g, outChannels: outChannels)
                    && (!inputGradient || g.sh > 1 || g.sw > 1
                        || convolutionDirectBFloat16(g.inputGradient(outChannels: outChannels), outChannels: g.c))
                    && (!weightGradient || convolutionDirectWeightGradBFloat16(g, outChannels: outChannels))
            case .sharedWinograd, .avx2Kernels, .phases: return false
            }
        }
    }

    /// Whether the direct kernels' weight gradient runs on bfloat16 values: inside autocast on a
    /// CPU with the instructions, but on the AMX path only where the weight gradient's tiles take
    /// it (for the reason given at `convolutionDirectBFloat16`).
    static func convolutionDirectWeightGradBFloat16(_ g: ConvGeometry, outChannels: Int) -> Bool {
        guard bfloat16KernelsRun else { return false }
        return dk_amx_path() == 0 || tilesTake(g, outChannels: outChannels, weightGradient: true)
    }

    /// Whether conv_direct_amx.c runs this convolution's forward (or weight gradient) on the tiles.
    private static func tilesTake(_ g: ConvGeometry, outChannels: Int, weightGradient: Bool) -> Bool {
        withUnsafePointer(to: g.cGeometry) { dk_conv_amx_takes($0, Int64(g.c), Int64(outChannels), weightGradient ? 1 : 0) } != 0
    }

    /// 32-bit words kept in a float32 tensor's storage (the bfloat16 kernels' packed pairs).
    private static func words(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt32.self)
    }

    /// out[image] (O, oh, ow) = bias + w ⋆ x[image] by the direct kernel (conv_direct.c, or
    /// conv_direct_bf16.c with `bfloat16`) from weights packed by `convolutionDirectWeights`, on
    /// the calling thread: no column matrix.
    static func convolutionDirect(_ x: Tensor, _ g: ConvGeometry, image: Int, packed: Tensor, bias: Tensor? = nil,
                                  outChannels: Int, out: Tensor, bfloat16: Bool = false) {
        withUnsafePointer(to: g.cGeometry) { gp in
            let (cin, cout) = (Int64(g.c), Int64(outChannels))
            let xp = x.storage.typed(Float.self) + x.offset + image * g.c * g.h * g.w
            let bp = bias.map { UnsafePointer($0.storage.typed(Float.self) + $0.offset) }
            let op = out.storage.typed(Float.self) + out.offset + image * outChannels * g.oh * g.ow
            let count = Int(bfloat16 ? dk_conv_direct_bf16_scratch_words(gp, cin, cout) : dk_conv2d_scratch_floats(gp, cin, cout))
            let scratch = count > 0 ? Tensor(uninitialized: [count], dtype: .float32) : nil  // 0: none needed
            if bfloat16 {
                dk_conv_direct_bf16(gp, cin, cout, xp, words(packed.storage.typed(Float.self)), bp, op, words(scratch!.storage.typed(Float.self)))
            } else {
                dk_conv2d_f32(gp, cin, cout, xp, packed.storage.typed(Float.self), bp, op, scratch?.storage.typed(Float.self))
            }
        }
    }

    /// dx[image] (C, h, w) of a strided convolution (`stridedDirectTakes`) from g[image] (O, oh,
    /// ow) by the direct kernels, phase by phase of dx (conv_direct.c, or conv_direct_bf16.c with
    /// `bfloat16`: each value rounded to bfloat16), from the weights packed `transposed`. On the
    /// calling thread.
    static func convolutionDirectInputGradient(_ gout: Tensor, _ g: ConvGeometry, image: Int, packed: Tensor, outChannels: Int,
                                               dx: Tensor, bfloat16: Bool) {
        withUnsafePointer(to: g.cGeometry) { gp in
            let (cin, cout) = (Int64(g.c), Int64(outChannels))
            let count = bfloat16 ? dk_conv_direct_bf16_input_grad_scratch_words(gp, cin, cout) : dk_conv_direct_input_grad_scratch_floats(gp, cin)
            let scratch = Tensor(uninitialized: [Int(count)], dtype: .float32)
            let gop = gout.storage.typed(Float.self) + gout.offset + image * outChannels * g.oh * g.ow
            let dxp = dx.storage.typed(Float.self) + dx.offset + image * g.c * g.h * g.w
            if bfloat16 {
                dk_conv_direct_bf16_input_grad(gp, cin, cout, gop, words(packed.storage.typed(Float.self)), dxp,
                                               words(scratch.storage.typed(Float.self)))
            } else {
                dk_conv_direct_input_grad_f32(gp, cin, cout, gop, packed.storage.typed(Float.self), dxp, scratch.storage.typed(Float.self))
            }
        }
    }

    /// Whether a convolution runs on the AVX2 stride-1 kernels (on AVX-512 the direct kernels run
    /// instead): float32, one group, stride 1, no dilation, with the BLAS or the built-in GEMM chosen
    /// automatically (an explicit `.portable` backend turns them off). conv.c then runs Winograd's
    /// F(2×2, 3×3) (conv_winograd.c's AVX2 forms) for the 3×3 geometries it takes, else the AVX2
    /// direct tiles (conv_direct_avx2.c: 6 output channels × 16 columns of a row, or 8 of each of
    /// two rows), which are taken only where their columns are mostly output
    /// (`dk_conv_direct_tiles_fill_avx2`: 28 of 32 columns, 12 of 16, two rows of 6–8; not rows of
    /// 9, 5 or 33 pixels), and with fewer images than threads only for small work (an image runs on
    /// one thread). The weight gradient then runs by a kernel too: F(3×3, 2×2) where
    /// `dk_conv_winograd_weight_grad_applies` (at most 128·128 channel pairs, rows of more than 8
    /// tiles), else the AVX2 direct tiles.
    static func convolutionAVX2KernelsApply(_ x: Tensor, _ g: ConvGeometry, groups: Int, outChannels: Int) -> Bool {
        guard directKernelsTake(x, g, groups: groups) && avx2KernelsRun else { return false }
        if withUnsafePointer(to: g.cGeometry, { dk_conv_winograd_applies($0, Int64(g.c), Int64(outChannels)) != 0 }) { return true }
        let tilesFill = withUnsafePointer(to: g.cGeometry) { dk_conv_direct_tiles_fill_avx2($0) != 0 }
        return tilesFill && (g.n >= Parallel.threads || g.n * outChannels * g.c * g.kh * g.kw * g.oh * g.ow <= oneThreadWork)
    }

    /// Whether a convolution with fewer images than threads runs by Winograd with the threads
    /// sharing each image (`convolutionWinogradPart`): the conditions of `convolutionDirectApplies`
    /// but for the image count, a geometry Winograd takes, and at least 512 output pixels in all
    /// (the weights' transform, once per call, then pays: 256→256 channels on one 14×14 image
    /// measured slower than im2col + GEMM, 128→128 on 28×28 1.8× faster).
    static func convolutionWinogradSharesImages(_ x: Tensor, _ g: ConvGeometry, groups: Int, outChannels: Int) -> Bool {
        directKernelsTake(x, g, groups: groups) && g.n < Parallel.threads && Parallel.threads > 1 && g.n * g.oh * g.ow >= 512
            && convolutionWinogradApplies(g, outChannels: outChannels)
    }

    /// Part `part` of `parts` of `convolutionDirect` for one image by Winograd (a share of its rows
    /// of output tiles), on the calling thread.
    static func convolutionWinogradPart(_ x: Tensor, _ g: ConvGeometry, image: Int, part: Int, parts: Int, packed: Tensor,
                                        bias: Tensor?, outChannels: Int, out: Tensor) {
        withUnsafePointer(to: g.cGeometry) { gp in
            let scratch = Tensor(uninitialized: [Int(dk_conv2d_scratch_floats(gp, Int64(g.c), Int64(outChannels)))], dtype: .float32)
            dk_conv_winograd_part_f32(gp, Int64(g.c), Int64(outChannels), x.storage.typed(Float.self) + x.offset + image * g.c * g.h * g.w,
                                      packed.storage.typed(Float.self), bias.map { UnsafePointer($0.storage.typed(Float.self) + $0.offset) },
                                      out.storage.typed(Float.self) + out.offset + image * outChannels * g.oh * g.ow,
                                      scratch.storage.typed(Float.self), Int64(part), Int64(parts))
        }
    }

    /// dWᵀ (C·kh·kw, O) += col(x[image]) · g[image]ᵀ by the direct kernel, on the calling thread.
    /// With `bfloat16`, on bfloat16 values (conv_direct_bf16.c: pixels two at a time).
    static func convolutionDirectWeightGrad(_ x: Tensor, _ g: ConvGeometry, image: Int, gout: Tensor, outChannels: Int,
                                            into dwT: Tensor, bfloat16: Bool = false) {
        withUnsafePointer(to: g.cGeometry) { gp in
            let (cin, cout) = (Int64(g.c), Int64(outChannels))
            let count = bfloat16 ? dk_conv_direct_bf16_weight_grad_scratch_words(gp, cin, cout) : dk_conv2d_weight_grad_scratch_floats(gp, cin, cout)
            let scratch = Tensor(uninitialized: [Int(count)], dtype: .float32)
            let xp = x.storage.typed(Float.self) + x.offset + image * g.c * g.h * g.w
            let gop = gout.storage.typed(Float.self) + gout.offset + image * outChannels * g.oh * g.ow
            let dst = dwT.storage.typed(Float.self) + dwT.offset
            if bfloat16 {
                dk_conv_direct_bf16_weight_grad(gp, cin, cout, xp, gop, dst, words(scratch.storage.typed(Float.self)))
            } else {
                dk_conv2d_weight_grad_f32(gp, cin, cout, xp, gop, dst, scratch.storage.typed(Float.self))
            }
        }
    }

    /// Whether `convolutionTransposeDirect` applies: float32, no dilation, one group, at least one
    /// image per thread, on AVX-512, or on AVX2 (conv_direct_avx2.c's tiles) with the BLAS or the
    /// built-in GEMM chosen automatically (an explicit `.portable` backend turns it off).
    static func convolutionTransposeDirectApplies(_ x: Tensor, dilation: (Int, Int), groups: Int) -> Bool {
        let simd = MatmulBackend.resolved == .avx512 || avx2KernelsRun
        return x.dtype == .float32 && simd && dilation == (1, 1) && groups == 1 && x.shape[0] >= Parallel.threads
    }

    /// Whether a strided convolution runs by stride phases (`Kernels.convolution2d`, as the input
    /// gradient of a transposed convolution): where `convolutionTransposeDirectApplies` would
    /// without AVX-512, a stride above 1. (On AVX-512 the direct tiles on the input's phases,
    /// `stridedDirectTakes`, or im2col + the AVX-512 GEMM run instead.)
    static func convolutionStridedByPhasesApplies(_ x: Tensor, _ g: ConvGeometry, groups: Int) -> Bool {
        avx2KernelsRun && (g.sh > 1 || g.sw > 1) && convolutionTransposeDirectApplies(x, dilation: (g.dh, g.dw), groups: groups)
    }

    /// The (Cin, Cout, kh, kw) weight of a transposed convolution packed by phases, once per call,
    /// for the forward pass or for the input gradient. `g`: h, w are the input's size, oh, ow the output's.
    static func convolutionTransposeDirectWeights(_ w: Tensor, _ g: dk_conv_geometry, inputGradient: Bool) -> Tensor {
        let (cin, cout) = (Int64(w.shape[0]), Int64(w.shape[1]))
        return withUnsafePointer(to: g) { gp in
            let packed = Tensor(uninitialized: [Int(dk_conv_transpose2d_packed_floats(gp, cin, cout, inputGradient ? 1 : 0))], dtype: .float32)
            dk_conv_transpose2d_pack_weights(gp, cin, cout, w.storage.typed(Float.self) + w.offset, inputGradient ? 1 : 0,
                                             packed.storage.typed(Float.self))
            return packed
        }
    }

    /// out[image] (Cout, oh, ow) = bias + convTranspose(x[image]) from the packed weights.
    static func convolutionTransposeDirect(_ x: Tensor, _ g: dk_conv_geometry, image: Int, cin: Int, cout: Int, packed: Tensor,
                                           bias: Tensor?, out: Tensor) {
        withUnsafePointer(to: g) { gp in
            let scratch = Tensor(uninitialized: [Int(dk_conv_transpose2d_scratch_floats(gp, Int64(cin), Int64(cout)))], dtype: .float32)
            dk_conv_transpose2d_direct_f32(gp, Int64(cin), Int64(cout), x.storage.typed(Float.self) + x.offset + image * cin * Int(g.h * g.w),
                                           packed.storage.typed(Float.self), bias.map { UnsafePointer($0.storage.typed(Float.self) + $0.offset) },
                                           out.storage.typed(Float.self) + out.offset + image * cout * Int(g.oh * g.ow),
                                           scratch.storage.typed(Float.self))
        }
    }

    /// One image's backward of a transposed convolution: dx[image] from the weights packed for
    /// the input gradient (when `dx` is given), and the phase-ordered weight gradient added into
    /// `dwT` (when given; `convolutionTransposeWeightLayout` puts it in the weight's layout). The
    /// input `x` is read only for the weight gradient.
    static func convolutionTransposeDirectBackward(_ x: Tensor?, _ gout: Tensor, _ g: dk_conv_geometry, image: Int, cin: Int, cout: Int,
                                                   packed: Tensor?, dx: Tensor?, dwT: Tensor?) {
        check(x != nil || dwT == nil, "[convTranspose2d] the weight gradient needs the input")
        withUnsafePointer(to: g) { gp in
            let scratch = Tensor(uninitialized: [Int(dk_conv_transpose2d_scratch_floats(gp, Int64(cin), Int64(cout)))], dtype: .float32)
            let (inPlane, outPlane) = (cin * Int(g.h * g.w), cout * Int(g.oh * g.ow))
            dk_conv_transpose2d_direct_backward_f32(gp, Int64(cin), Int64(cout), x.map { UnsafePointer($0.storage.typed(Float.self) + $0.offset + image * inPlane) },
                                                    gout.storage.typed(Float.self) + gout.offset + image * outPlane,
                                                    packed.map { UnsafePointer($0.storage.typed(Float.self)) },
                                                    dx.map { $0.storage.typed(Float.self) + $0.offset + image * inPlane },
                                                    dwT.map { $0.storage.typed(Float.self) + $0.offset }, scratch.storage.typed(Float.self))
        }
    }

    /// The phase-ordered weight gradient as a (Cin, Cout, kh, kw) tensor.
    static func convolutionTransposeWeightLayout(_ dwT: Tensor, _ g: dk_conv_geometry, weightShape: [Int]) -> Tensor {
        let dw = Tensor(uninitialized: weightShape, dtype: .float32), d = dwT.contiguousData()
        withUnsafePointer(to: g) { gp in
            dk_conv_transpose2d_weight_grad_layout(gp, Int64(weightShape[0]), Int64(weightShape[1]), d.storage.typed(Float.self) + d.offset,
                                                   dw.storage.typed(Float.self))
        }
        return dw
    }
}
