import CDescentKernels
import XCTest
@testable import Descent

final class ConvolutionKernelTests: XCTestCase {
    /// Runs `op` on float32 copies of the float64 `inputs` and on the inputs themselves, and
    /// compares the outputs and the gradient of every input.
    private func assertFloat32MatchesFloat64(_ name: String, _ inputs: [Tensor], _ op: ([Tensor]) -> Tensor,
                                             file: StaticString = #filePath, line: UInt = #line) {
        let x64 = inputs.map { $0.requiringGrad() }
        let x32 = inputs.map { $0.detach().to(.float32).requiringGrad() }
        let y32 = op(x32), y64 = op(x64)
        assertClose(y32.to(.float64), y64, rtol: 1e-4, atol: 1e-4, "\(name) output", file: file, line: line)
        let g = Tensor.randn(y64.shape, dtype: .float64)
        (y32 * g.to(.float32)).sum().backward()
        (y64 * g).sum().backward()
        for (i, (a, b)) in zip(x32, x64).enumerated() {
            assertClose(a.grad!.to(.float64), b.grad!, rtol: 1e-4, atol: 1e-3, "\(name) gradient of input \(i)", file: file, line: line)
        }
    }

    /// The direct float32 convolution (conv_direct.c: stride 1; without AVX-512 the AVX2 direct
    /// tiles of conv_direct_avx2.c) against the float64 im2col path: outputs and all gradients, for
    /// kernels 1x1, 3x3, 5x5 and 3x2, symmetric, asymmetric ("same" with an even kernel) and no
    /// padding, output channels that leave a partial tile, rows that leave a partial vector, span
    /// several, or are short enough that one tile holds two rows (14, 16, 8, 7, 6 columns; 8×8,
    /// 7×8 and 5×7 images: two rows to an AVX2 tile, an odd last row alone), planes of a multiple of 128
    /// floats (8×16, copied by the kernel), and padding wider than the kernel (the input
    /// gradient's convolution then has negative padding). With 5, 3 and 1 input channels (a first
    /// layer), the weight gradient takes its tile rows from (channel, tap) pairs of a zero-padded
    /// copy. On AVX2 the tiles take only rows whose tiles are mostly output (`tiles`: rows of 33
    /// and 5 stay on im2col), and with fewer images than threads only small work (on AVX-512 the
    /// direct kernels too).
    func testDirectKernelMatchesTheIm2colPath() {
        Descent.manualSeed(41)
        let geometry = ConvGeometry(n: 4, c: 1, h: 1, w: 32, kh: 1, kw: 1, sh: 1, sw: 1, padH: 0, padW: 0, dh: 1, dw: 1, oh: 1, ow: 32)
        let float32 = Tensor.zeros([1])
        XCTAssertEqual(Kernels.convolutionDirectApplies(float32, geometry, groups: 1, outChannels: 11), MatmulBackend.resolved == .avx512)
        let avx2 = MatmulBackend.resolved != .avx512 && MatmulBackend.current != .portable && dk_cpu_has_avx2() != 0
        // (kernel, padding, height, width, input channels, whether the AVX2 tiles take it)
        let cases: [(Size2, ConvPadding, Int, Int, Int, Bool)] = [
            (3, 1, 7, 30, 5, true), (1, 0, 7, 40, 5, true), (5, 2, 7, 70, 5, true), ([3, 2], "same", 7, 33, 5, false),
            ([4, 4], "same", 7, 26, 5, true), (3, 0, 7, 29, 5, true), (3, 1, 7, 14, 5, true), (3, 1, 8, 16, 5, true),
            (2, 0, 9, 7, 5, true), (5, 2, 8, 16, 5, true), (3, 3, 6, 20, 5, true), (3, 1, 9, 28, 1, true),
            (3, 1, 6, 32, 3, true), (5, 0, 7, 20, 1, true), (3, 1, 8, 8, 20, true), (3, 1, 7, 8, 6, true),
            (3, 1, 5, 7, 4, true), (3, 0, 9, 7, 5, false), (2, 0, 8, 6, 3, false),
        ]
        for (kernel, padding, height, width, cin, tiles) in cases {
            let inputs = [Tensor.randn([4, cin, height, width], dtype: .float64), Tensor.randn([11, cin, kernel.h, kernel.w], dtype: .float64),
                          Tensor.randn([11], dtype: .float64)]
            let name = "kernel \(kernel) padding \(padding) size \(height)x\(width) channels \(cin)"
            let y = conv2d(inputs[0].float(), inputs[1].float(), padding: padding)
            let forward = ConvGeometry(n: 4, c: cin, h: height, w: width, kh: kernel.h, kw: kernel.w, sh: 1, sw: 1,
                                       padH: (y.shape[2] - height + kernel.h - 1) / 2, padW: (y.shape[3] - width + kernel.w - 1) / 2,
                                       dh: 1, dw: 1, oh: y.shape[2], ow: y.shape[3])
            XCTAssertEqual(Kernels.convolutionAVX2KernelsApply(float32, forward, groups: 1, outChannels: 11), avx2 && tiles, name)
            assertFloat32MatchesFloat64(name, inputs) { conv2d($0[0], $0[1], bias: $0[2], padding: padding) }
        }
        // Fewer images than threads: small work on the tiles (one image on one thread), large on im2col.
        let saved = Descent.threads
        defer { Descent.threads = saved }
        Descent.threads = 2
        let small = ConvGeometry(n: 1, c: 1, h: 28, w: 28, kh: 3, kw: 3, sh: 1, sw: 1, padH: 1, padW: 1, dh: 1, dw: 1, oh: 28, ow: 28)
        let large = ConvGeometry(n: 1, c: 64, h: 32, w: 32, kh: 5, kw: 5, sh: 1, sw: 1, padH: 2, padW: 2, dh: 1, dw: 1, oh: 32, ow: 32)
        XCTAssertEqual(Kernels.convolutionAVX2KernelsApply(float32, small, groups: 1, outChannels: 16), avx2)
        XCTAssertFalse(Kernels.convolutionAVX2KernelsApply(float32, large, groups: 1, outChannels: 64))
        // The same rule for the AVX-512 direct kernels.
        XCTAssertEqual(Kernels.convolutionDirectApplies(float32, small, groups: 1, outChannels: 16), MatmulBackend.resolved == .avx512)
        XCTAssertFalse(Kernels.convolutionDirectApplies(float32, large, groups: 1, outChannels: 64))
        let one = [Tensor.randn([1, 1, 28, 28], dtype: .float64), Tensor.randn([16, 1, 3, 3], dtype: .float64), Tensor.randn([16], dtype: .float64)]
        assertFloat32MatchesFloat64("one image on two threads", one) { conv2d($0[0], $0[1], bias: $0[2], padding: 1) }
    }

    /// The 3×3 convolution by Winograd's F(2×2, 3×3) (conv_winograd.c), which the direct path
    /// takes with at least 16 channels, against the float64 im2col path: outputs and all
    /// gradients (the input gradient is a convolution by the same kernel with padding 2 − p, the
    /// weight gradient F(3×3, 2×2) in conv_winograd_grad.c), with
    /// padding 0, 1 and 2, an odd number of rows and columns (partial tiles), rows of tiles that
    /// leave a partial vector or fill two, rows of 7 or 8 tiles (two rows to a vector, with an odd
    /// number of rows: half a vector past the output; the weight gradient is then direct), and
    /// output channels that leave a partial GEMM tile. Without AVX-512 the same cases run the
    /// AVX2 forms (8 tiles to a vector, so rows of 7 or 8 tiles are one vector each, and odd rows
    /// of tiles a vector past the output; the weight gradient on rows of more than 8 tiles, with
    /// input channels that leave a partial 6-row tile and output channels a partial vector; on
    /// shorter rows the AVX2 direct tiles).
    func testWinogradKernelMatchesTheIm2colPath() {
        Descent.manualSeed(53)
        // (padding, height, width, input channels, output channels)
        let cases: [(Int, Int, Int, Int, Int)] = [(1, 7, 30, 16, 19), (0, 6, 29, 17, 16), (2, 5, 28, 16, 24), (1, 4, 64, 20, 16), (1, 9, 31, 16, 16),
                                                  (1, 14, 14, 16, 32), (1, 16, 16, 16, 16), (0, 9, 16, 16, 16), (1, 7, 13, 16, 17)]
        for (padding, height, width, cin, cout) in cases {
            let inputs = [Tensor.randn([4, cin, height, width], dtype: .float64), Tensor.randn([cout, cin, 3, 3], dtype: .float64),
                          Tensor.randn([cout], dtype: .float64)]
            let forward = geometry3x3(n: 4, c: cin, h: height, w: width, padding: padding)
            // Its input gradient: the convolution of g (oh × ow) padded by 2 − p, back to height × width.
            let inputGradient = geometry3x3(n: 4, c: cout, h: forward.oh, w: forward.ow, padding: 2 - padding)
            let avx512 = MatmulBackend.resolved == .avx512
            XCTAssertEqual(Kernels.convolutionWinogradApplies(forward, outChannels: cout), avx512, "padding \(padding) size \(height)x\(width)")
            XCTAssertEqual(Kernels.convolutionWinogradApplies(inputGradient, outChannels: cin), avx512, "padding \(padding) size \(height)x\(width)")
            let avx2 = !avx512 && MatmulBackend.current != .portable && dk_cpu_has_avx2() != 0
            XCTAssertEqual(Kernels.convolutionAVX2KernelsApply(inputs[0].float(), forward, groups: 1, outChannels: cout), avx2)
            XCTAssertEqual(Kernels.convolutionAVX2KernelsApply(inputs[0].float(), inputGradient, groups: 1, outChannels: cin), avx2)
            if avx2 {
                // The weight gradient by F(3×3, 2×2) in AVX2 for rows of more than 8 tiles, else
                // by the AVX2 direct tiles.
                let winogradWeightGrad = withUnsafePointer(to: forward.cGeometry) { dk_conv_winograd_weight_grad_applies($0, Int64(cin), Int64(cout)) }
                XCTAssertEqual(winogradWeightGrad != 0, (forward.ow + 1) / 2 > 8,
                               "padding \(padding) size \(height)x\(width)")
            }
            assertFloat32MatchesFloat64("padding \(padding) size \(height)x\(width) channels \(cin)→\(cout)", inputs) {
                conv2d($0[0], $0[1], bias: $0[2], padding: .explicit(Size2(padding)))
            }
        }
    }

    /// With fewer images than threads, the threads share each image's rows of Winograd tiles
    /// (forward pass; the backward takes im2col): batches of 1 on 2 and 3 threads, with rows of 16
    /// tiles and of two rows to a vector, more parts than vectors of rows (empty parts), and bias.
    /// (A batch of one small image, 9×31, stays on im2col.)
    func testWinogradSharesAnImageAmongThreads() {
        Descent.manualSeed(59)
        let saved = Descent.threads
        defer { Descent.threads = saved }
        let float32 = Tensor.zeros([1], dtype: .float32)
        Descent.threads = 2
        XCTAssertFalse(Kernels.convolutionWinogradSharesImages(float32, geometry3x3(n: 1, c: 16, h: 9, w: 31, padding: 1), groups: 1,
                                                               outChannels: 17))
        // (padding, height, width)
        for (padding, height, width) in [(1, 17, 31), (1, 32, 16), (0, 4, 258)] as [(Int, Int, Int)] {
            for threads in [2, 3] {
                Descent.threads = threads
                XCTAssertEqual(Kernels.convolutionWinogradSharesImages(float32, geometry3x3(n: 1, c: 16, h: height, w: width, padding: padding),
                                                                       groups: 1, outChannels: 17),
                               MatmulBackend.resolved == .avx512, "padding \(padding) size \(height)x\(width)")
                let inputs = [Tensor.randn([1, 16, height, width], dtype: .float64), Tensor.randn([17, 16, 3, 3], dtype: .float64),
                              Tensor.randn([17], dtype: .float64)]
                assertFloat32MatchesFloat64("padding \(padding) size \(height)x\(width) on \(threads) threads", inputs) {
                    conv2d($0[0], $0[1], bias: $0[2], padding: .explicit(Size2(padding)))
                }
            }
        }
    }

    /// One image's geometry of a 3×3 stride-1 convolution with padding p on each side.
    private func geometry3x3(n: Int, c: Int, h: Int, w: Int, padding: Int) -> ConvGeometry {
        ConvGeometry(n: n, c: c, h: h, w: w, kh: 3, kw: 3, sh: 1, sw: 1, padH: padding, padW: padding, dh: 1, dw: 1,
                     oh: h + 2 * padding - 2, ow: w + 2 * padding - 2)
    }

    /// A seeded sweep over random geometries, half of them 3×3 stride 1 with 16–40 channels (the
    /// Winograd and shared-image paths), the rest any kernel, stride, dilation, padding and groups,
    /// for convolutions and transposed convolutions on 1–3 threads: float32 against float64,
    /// outputs and all gradients.
    func testRandomGeometriesMatchFloat64() {
        Descent.manualSeed(61)
        let saved = Descent.threads
        defer { Descent.threads = saved }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func pick(_ lo: Int, _ hi: Int) -> Int {  // a fixed stream of choices (SplitMix64)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return lo + Int((z ^ (z >> 31)) % UInt64(hi - lo + 1))
        }
        var checked = 0
        while checked < 40 {
            Descent.threads = pick(1, 3)
            let transposed = pick(0, 2) == 0, wide = pick(0, 1) == 0
            let groups = wide || pick(0, 3) > 0 ? 1 : 2
            let n = pick(1, 4), h = pick(1, 40), w = pick(1, 40)
            let cin = wide ? pick(16, 40) : pick(1, 12) * groups, cout = wide ? pick(16, 40) : pick(1, 12) * groups
            let kernel = wide ? Size2(3) : Size2(pick(1, 5), pick(1, 5))
            let stride = wide ? Size2(1) : Size2(pick(1, 3), pick(1, 3))
            let dilation = wide || pick(0, 3) > 0 ? Size2(1) : Size2(2)
            let padding = wide ? Size2(pick(0, 2), pick(0, 2)) : Size2(pick(0, kernel.h), pick(0, kernel.w))
            let span = (dilation.h * (kernel.h - 1) + 1, dilation.w * (kernel.w - 1) + 1)
            if transposed {
                let oh = (h - 1) * stride.h - 2 * padding.h + span.0, ow = (w - 1) * stride.w - 2 * padding.w + span.1
                if oh < 1 || ow < 1 { continue }
            } else if h + 2 * padding.h < span.0 || w + 2 * padding.w < span.1 {
                continue
            }
            checked += 1
            let weightShape = transposed ? [cin, cout / groups, kernel.h, kernel.w] : [cout, cin / groups, kernel.h, kernel.w]
            let inputs = [Tensor.randn([n, cin, h, w], dtype: .float64), Tensor.randn(weightShape, dtype: .float64),
                          Tensor.randn([cout], dtype: .float64)]
            let name = "\(transposed ? "convT" : "conv") n\(n) \(cin)→\(cout) g\(groups) \(h)x\(w) k\(kernel) s\(stride) d\(dilation) p\(padding) on \(Descent.threads)"
            assertFloat32MatchesFloat64(name, inputs) {
                transposed ? convTranspose2d($0[0], $0[1], bias: $0[2], stride: stride, padding: padding, groups: groups, dilation: dilation)
                           : conv2d($0[0], $0[1], bias: $0[2], stride: stride, padding: .explicit(padding), dilation: dilation, groups: groups)
            }
        }
    }

    /// Strided convolutions by stride phases against the float64 im2col path: outputs and all
    /// gradients. On CPUs with AVX2 but not AVX-512, as the input gradient of a transposed
    /// convolution (7 input channels and more); on AVX-512, the direct tiles on the input's
    /// phases (8 input channels and more; 7 and 1×1 kernels stay on im2col). For strides 2, 3
    /// and (2, 3), kernels 3×3, 1×1 (only one phase has taps: the shortcut of a residual block),
    /// 4×4, 5×3 and 2×2 (kernel no larger than the stride), padding 0 to 2, inputs whose last
    /// rows or columns no window reaches, 11 output and 7 or 9 input channels (partial tiles), 8×8
    /// images whose 4×4 output a run takes four rows at a time, and the ResNet stages' 16 → 32
    /// channels on 32×32 and 32 → 64 on 16×16.
    func testStridedConvolutionByPhasesMatchesTheIm2colPath() {
        Descent.manualSeed(59)
        let geometry = ConvGeometry(n: 4, c: 1, h: 8, w: 8, kh: 3, kw: 3, sh: 2, sw: 2, padH: 1, padW: 1, dh: 1, dw: 1, oh: 4, ow: 4)
        let expected = MatmulBackend.resolved != .avx512 && MatmulBackend.current != .portable && dk_cpu_has_avx2() != 0
        XCTAssertEqual(Kernels.convolutionStridedByPhasesApplies(Tensor.zeros([4, 1, 8, 8]), geometry, groups: 1), expected)
        let nine = ConvGeometry(n: 4, c: 9, h: 8, w: 8, kh: 3, kw: 3, sh: 2, sw: 2, padH: 1, padW: 1, dh: 1, dw: 1, oh: 4, ow: 4)
        XCTAssertEqual(Kernels.convolutionDirectApplies(Tensor.zeros([1]), nine, groups: 1, outChannels: 11), MatmulBackend.resolved == .avx512)
        XCTAssertFalse(Kernels.convolutionDirectApplies(Tensor.zeros([1]), geometry, groups: 1, outChannels: 11))
        // (kernel, stride, padding, height, width, input channels, output channels)
        let cases: [(Size2, Size2, Size2, Int, Int, Int, Int)] = [
            (3, 2, 1, 9, 20, 7, 11), (1, 2, 0, 8, 17, 7, 11), (4, 2, 1, 10, 16, 7, 11), ([5, 3], [2, 3], [2, 1], 11, 23, 7, 11),
            (2, 2, 0, 7, 9, 7, 11), (3, 3, 0, 10, 14, 7, 11), (3, 2, 2, 5, 6, 7, 11), (3, 2, 1, 32, 32, 16, 32),
            (3, 2, 1, 9, 20, 9, 11), (1, 2, 0, 8, 17, 9, 11), (4, 2, 1, 10, 16, 9, 11), ([5, 3], [2, 3], [2, 1], 11, 23, 9, 11),
            (2, 2, 0, 7, 9, 9, 11), (3, 3, 0, 10, 14, 9, 11), (3, 2, 2, 5, 6, 9, 11), (3, 2, 1, 8, 8, 9, 11), (3, 2, 1, 16, 16, 32, 64),
        ]
        for (kernel, stride, padding, height, width, cin, cout) in cases {
            let inputs = [Tensor.randn([4, cin, height, width], dtype: .float64), Tensor.randn([cout, cin, kernel.h, kernel.w], dtype: .float64),
                          Tensor.randn([cout], dtype: .float64)]
            assertFloat32MatchesFloat64("kernel \(kernel) stride \(stride) padding \(padding) size \(height)x\(width)", inputs) {
                conv2d($0[0], $0[1], bias: $0[2], stride: stride, padding: .explicit(padding))
            }
        }
    }

    /// Stride 2 (im2col/col2im with even/odd permutes): a convolution and a transposed convolution
    /// in float32 against float64, with rows long enough to fill both halves of a vector and to
    /// span several (19, 40 and 70 columns), odd and even kernels, with and without padding. With
    /// the portable GEMM backend, so that strided convolutions take im2col on AVX2 CPUs too.
    func testStrideTwoColumnsMatchFloat64() {
        Descent.manualSeed(43)
        let savedBackend = MatmulBackend.current
        MatmulBackend.current = .portable
        defer { MatmulBackend.current = savedBackend }
        XCTAssertFalse(Kernels.convolutionStridedByPhasesApplies(Tensor.zeros([2, 3, 5, 40]), ConvGeometry(
            n: 2, c: 3, h: 5, w: 40, kh: 3, kw: 3, sh: 2, sw: 2, padH: 1, padW: 1, dh: 1, dw: 1, oh: 3, ow: 20), groups: 1))
        for (kernel, padding, width) in [(3, 1, 40), (4, 1, 70), (3, 0, 19), (2, 0, 38)] as [(Int, Int, Int)] {
            let name = "kernel \(kernel) padding \(padding) width \(width)"
            assertFloat32MatchesFloat64("conv \(name)", [Tensor.randn([2, 3, 5, width], dtype: .float64),
                                                       Tensor.randn([4, 3, kernel, kernel], dtype: .float64)]) {
                conv2d($0[0], $0[1], stride: 2, padding: .explicit(Size2(padding)))
            }
            assertFloat32MatchesFloat64("convT \(name)", [Tensor.randn([2, 3, 4, width / 2], dtype: .float64),
                                                        Tensor.randn([3, 4, kernel, kernel], dtype: .float64)]) {
                convTranspose2d($0[0], $0[1], stride: 2, padding: Size2(padding))
            }
        }
    }

    /// The transposed convolution by stride phases (conv_transpose_direct.c) in float32 against
    /// the float64 im2col/col2im path: outputs and all gradients, for strides 1, 2, 3 and (2, 3),
    /// padding, outputPadding, kernels smaller than the stride (phases without taps), an output
    /// so small that some phases are empty, and planes of a multiple of 128 floats (copied).
    /// Without AVX-512 the same cases run the AVX2 tiles (conv_direct_avx2.c): 11 and 17 output
    /// channels leave partial 6-channel tiles, rows of 7, 11 or 20 columns partial runs of 16, and
    /// 9 input channels a partial 6-row weight-gradient tile (11 output channels: a partial vector).
    func testTransposedDirectKernelMatchesTheIm2colPath() {
        Descent.manualSeed(47)
        let simd = MatmulBackend.resolved == .avx512 || (MatmulBackend.current != .portable && dk_cpu_has_avx2() != 0)
        XCTAssertEqual(Kernels.convolutionTransposeDirectApplies(Tensor.zeros([4, 1, 1, 1]), dilation: (1, 1), groups: 1), simd)
        // (kernel, stride, padding, outputPadding, input height, input width)
        let cases: [(Size2, Size2, Size2, Size2, Int, Int)] = [
            (4, 2, 1, 0, 8, 16), (3, 1, 1, 0, 5, 9), (3, 2, 1, 1, 6, 7), (2, 3, 0, 2, 4, 5), ([3, 5], [2, 3], [1, 2], [1, 0], 5, 11),
            (1, 3, 0, 0, 1, 1), (5, 2, 2, 1, 3, 20),
        ]
        // Phases with 3×3 taps and 16 or more channels (kernel 3 stride 1, kernel 6 stride 2) stay
        // on the direct kernel: their weights must not be packed for Winograd.
        let wide: [(Size2, Size2, Size2, Size2, Int, Int)] = [(3, 1, 1, 0, 6, 30), (6, 2, 2, 0, 5, 15)]
        for (kernel, stride, padding, outputPadding, height, width) in wide {
            let inputs = [Tensor.randn([4, 16, height, width], dtype: .float64), Tensor.randn([16, 17, kernel.h, kernel.w], dtype: .float64),
                          Tensor.randn([17], dtype: .float64)]
            assertFloat32MatchesFloat64("16 channels, kernel \(kernel) stride \(stride) size \(height)x\(width)", inputs) {
                convTranspose2d($0[0], $0[1], bias: $0[2], stride: stride, padding: padding, outputPadding: outputPadding)
            }
        }
        for (kernel, stride, padding, outputPadding, height, width) in cases {
            let inputs = [Tensor.randn([4, 9, height, width], dtype: .float64), Tensor.randn([9, 11, kernel.h, kernel.w], dtype: .float64),
                          Tensor.randn([11], dtype: .float64)]
            assertFloat32MatchesFloat64("kernel \(kernel) stride \(stride) padding \(padding) outputPadding \(outputPadding) size \(height)x\(width)", inputs) {
                convTranspose2d($0[0], $0[1], bias: $0[2], stride: stride, padding: padding, outputPadding: outputPadding)
            }
        }
    }

    /// A 4×4, stride-2 transposed convolution with 16 or more channels runs its forward pass,
    /// input gradient and weight gradient by Winograd's F(2×2, 2×2) on AVX-512
    /// (conv_winograd22.c): where it applies, and outputs and all gradients against
    /// float64 on 1 and 2 threads. Padding 1 and 0, an output padding (phases of different sizes:
    /// 10 and 9 rows, 14 and 13 columns), 7 or 8 tiles a row (two rows of tiles a vector) and
    /// 15 (one row in a vector of 16), odd channel counts (partial GEMM tiles).
    func testTransposedWinogradMatchesFloat64() {
        Descent.manualSeed(53)
        let saved = Descent.threads
        defer { Descent.threads = saved }
        func geometry(_ cin: Int, _ h: Int, _ w: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ outputPadding: Int = 0)
            -> dk_conv_geometry {
            let oh = (h - 1) * stride - 2 * padding + kernel + outputPadding, ow = (w - 1) * stride - 2 * padding + kernel + outputPadding
            return dk_conv_geometry(h: Int64(h), w: Int64(w), kh: Int64(kernel), kw: Int64(kernel), sh: Int64(stride), sw: Int64(stride),
                                    ph: Int64(padding), pw: Int64(padding), dh: 1, dw: 1, oh: Int64(oh), ow: Int64(ow))
        }
        func takes(_ g: dk_conv_geometry, _ cin: Int, _ cout: Int) -> Bool {
            withUnsafePointer(to: g) { dk_conv_transpose2d_winograd($0, Int64(cin), Int64(cout)) != 0 }
        }
        let avx512 = dk_cpu_has_avx512() != 0
        XCTAssertEqual(takes(geometry(64, 16, 16, 4, 2, 1), 64, 32), avx512)  // the benchmark's layer
        XCTAssertFalse(takes(geometry(8, 16, 16, 4, 2, 1), 8, 32))  // few input channels
        XCTAssertFalse(takes(geometry(64, 16, 16, 4, 2, 1), 64, 12))  // few output channels
        XCTAssertFalse(takes(geometry(64, 16, 16, 3, 2, 1), 64, 32))  // phases of 2×2, 2×1, 1×1 taps
        XCTAssertFalse(takes(geometry(64, 16, 16, 4, 1, 1), 64, 32))  // stride 1: one 4×4 phase
        XCTAssertFalse(takes(geometry(64, 16, 3, 4, 2, 1), 64, 32))  // rows of 2 tiles in vectors of 8
        // (batch, cin, cout, height, width, padding, outputPadding)
        let cases = [(2, 32, 16, 16, 16, 1, 0), (3, 16, 24, 9, 13, 1, 1), (1, 20, 17, 5, 30, 1, 0), (2, 24, 16, 7, 14, 0, 0)]
        for (n, cin, cout, h, w, padding, outputPadding) in cases {
            XCTAssertEqual(takes(geometry(cin, h, w, 4, 2, padding, outputPadding), cin, cout), avx512, "\(cin)→\(cout) \(h)x\(w)")
            for threads in [1, 2] {
                Descent.threads = threads
                let inputs = [Tensor.randn([n, cin, h, w], dtype: .float64), Tensor.randn([cin, cout, 4, 4], dtype: .float64),
                              Tensor.randn([cout], dtype: .float64)]
                assertFloat32MatchesFloat64("\(cin)→\(cout) \(h)x\(w) padding \(padding) outputPadding \(outputPadding) on \(threads)", inputs) {
                    convTranspose2d($0[0], $0[1], bias: $0[2], stride: 2, padding: Size2(padding), outputPadding: Size2(outputPadding))
                }
            }
        }
    }
}
