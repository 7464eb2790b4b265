import CDescentKernels
@testable import Descent
import XCTest

/// The direct convolution on bfloat16 values (conv_direct_bf16.c), which autocast's convolutions
/// run on AVX512-BF16 CPUs (strided ones by their input's phases), against the float32 emulation of the same products; and
/// its AMX form (conv_direct_amx.c), on the tiles where the CPU has them and on the emulation of
/// the tile registers everywhere with AVX512-BF16.
final class BFloat16ConvolutionTests: BFloat16TestCase {
    /// Output, input gradient (the same kernel, flipped weights) and weight and bias gradients,
    /// for odd channel counts (a pair with one channel), output channels that leave a partial
    /// tile of 8 (and, for the weight gradient, 16 or fewer: its 16-wide tile), rows longer than a run of 16 and shorter, images whose rows (8, 4, 2 wide, "same"
    /// padding) a run takes two or more at a time, 1×1, 3×3, 5×5 and 3×2 kernels, with and without
    /// padding; and strided ones, by their input's phases (the ResNet's 3×3 layers of stride 2;
    /// its 1×1 ones, which stay on columns; odd sizes that leave a phase a row or column short, 8×8 images whose phases a
    /// run takes two rows at a time, strides 3 and (2, 1), a stride wider than the kernel that
    /// leaves phases no tap, padding wider than the stride); and first layers of 1 channel, which fold it into the taps (the digits
    /// CNN's 28×28 layer, padding past the kernel's reach; and an RGB layer, which does not). At most a bfloat16 rounding apart
    /// (the float32 sums differ in order).
    func testMatchesTheFloat32Emulation() {
        let cases: [(kernel: Size2, padding: ConvPadding, h: Int, w: Int, cin: Int, cout: Int, stride: Size2)] = [
            (3, 1, 8, 8, 16, 16, 1), (3, 1, 7, 20, 5, 11, 1), (1, 0, 6, 33, 3, 8, 1), (5, 2, 9, 17, 4, 9, 1), ([3, 2], "same", 6, 13, 1, 6, 1),
            (3, 0, 10, 18, 7, 19, 1), (3, 1, 4, 4, 5, 11, 1), (5, 2, 8, 8, 3, 9, 1), (1, 0, 2, 2, 4, 8, 1), (3, 1, 5, 8, 6, 8, 1),
            (3, 1, 32, 32, 16, 32, 2), (1, 0, 16, 16, 32, 64, 2), (3, 1, 9, 13, 5, 11, 2), (3, 1, 16, 16, 32, 64, 2),
            (5, 2, 11, 10, 3, 9, 3), ([3, 2], 1, 7, 12, 4, 8, [2, 1]), (2, 0, 8, 9, 6, 5, 3), (3, 3, 6, 7, 2, 8, 2),
            (3, 1, 28, 28, 1, 16, 1), (3, 1, 9, 21, 3, 16, 1), (3, 2, 5, 5, 1, 3, 1),
            // Winograd's F(4×4, 3×3) (conv_winograd4.c): rows of 7 or 8 tiles, two rows of them a
            // vector (paddings 0, 1, 2, partial tiles at the right and the bottom), a row of 16
            // tiles and one of 15; 40 output channels leave the input gradient to the tiles.
            (3, 1, 32, 32, 32, 48, 1), (3, 0, 31, 30, 32, 32, 1), (3, 2, 26, 27, 48, 32, 1), (3, 1, 9, 64, 32, 32, 1),
            (3, 1, 6, 57, 40, 32, 1),
        ]
        for (kernel, padding, h, w, cin, cout, stride) in cases {
            let name = "kernel \(kernel) padding \(padding) stride \(stride) \(h)x\(w) \(cin)→\(cout)"
            let emulated = run(.emulated, kernel, padding, h, w, cin, cout, stride: stride)
            for products in Products.here where products != .emulated {
                let kernelRun = run(products, kernel, padding, h, w, cin, cout, stride: stride)
                for (i, part) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                    let p = kernelRun[i], q = emulated[i], scale = q.map(abs).max()!
                    XCTAssertLessThanOrEqual(zip(p, q).map { abs($0 - $1) }.max()! / scale, 0x1p-7, "\(name) \(products): \(part)")
                    XCTAssertGreaterThan(Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count), 0.5, "\(name) \(products): \(part)")
                }
                // The kernel stores them rounded (autocast then makes no rounding pass of its own).
                for (i, part) in [(0, "output"), (1, "input gradient")] {
                    let off = kernelRun[i].filter { $0 != BFloat16.round($0) }.count
                    XCTAssertEqual(off, 0, "\(name) \(products): \(part) values that are not bfloat16")
                }
            }
        }
    }

    /// The AMX path against the AVX512-BF16 dot products: the same exact products of the same
    /// bfloat16 values, summed in float32 in the same order for the output and input gradient
    /// (over taps, then channel pairs) and in another for the weight gradient (pixel pairs
    /// across rows), every result rounded to bfloat16 (the weight's gradient by autocast's cast).
    /// So the outputs, input and bias gradients are equal but for a rare last bit, and the
    /// weight gradient within its float32 sums' error of float64 sums of the same products. For
    /// blocks of 32 output channels and positions with partial ones, more than 16 channel pairs
    /// (two blocks of pairs), odd channel counts, rows narrower and wider than a tile, 1×1, 3×3
    /// and 5×3 kernels (the last padded 2 and 1, as "same" pads it), and paddings as wide as the
    /// kernel's reach and wider (the input gradient's convolution then crops the upstream
    /// gradient); and the choice of the tiles, which leave convolutions with few channels or
    /// positions to the dot products.
    func testTilesMatchTheDotProducts() {
        let kinds = Products.here.filter { $0 == .tilesModel || $0 == .tiles }
        guard !kinds.isEmpty else {  // without AVX512-BF16 there is no AMX path, not even emulated
            XCTAssertEqual(dk_bgemm_avx512bf16_available(), 0)
            XCTAssertEqual(dk_bgemm_amx_model(1), 0)
            return
        }
        // Which of the forward, input gradient and weight gradient the tiles take (a fifth of
        // their products count: the last case's input gradient has too few positions, the one
        // before has too few channels; on the AMX path what the tiles leave runs in float32).
        let cases: [(kernel: Size2, pad: (Int, Int), h: Int, w: Int, cin: Int, cout: Int, tiles: [Bool])] = [
            (3, (1, 1), 9, 21, 40, 36, [true, true, true]), (1, (0, 0), 5, 33, 35, 70, [true, true, true]),
            ([5, 3], (2, 1), 7, 6, 24, 40, [true, true, true]), (3, (0, 0), 10, 18, 16, 32, [true, true, true]),
            (3, (2, 2), 4, 4, 2, 1, [false, false, false]), (3, (3, 3), 5, 6, 20, 20, [true, false, true]),
        ]
        for (kernel, pad, h, w, cin, cout, tiles) in cases {
            let name = "kernel \(kernel) padding \(pad) \(h)x\(w) \(cin)→\(cout)"
            let padding = ConvPadding.explicit(Size2(pad.0, pad.1))
            let (oh, ow) = (h + 2 * pad.0 - kernel.h + 1, w + 2 * pad.1 - kernel.w + 1)
            let forward = dk_conv_geometry(h: Int64(h), w: Int64(w), kh: Int64(kernel.h), kw: Int64(kernel.w), sh: 1, sw: 1, ph: Int64(pad.0),
                                           pw: Int64(pad.1), dh: 1, dw: 1, oh: Int64(oh), ow: Int64(ow))
            var inputGradient = forward
            (inputGradient.h, inputGradient.w, inputGradient.oh, inputGradient.ow) = (Int64(oh), Int64(ow), Int64(h), Int64(w))
            (inputGradient.ph, inputGradient.pw) = (Int64(kernel.h - 1 - pad.0), Int64(kernel.w - 1 - pad.1))
            for products in kinds {
                products.select()
                let takes = [withUnsafePointer(to: forward) { dk_conv_amx_takes($0, Int64(cin), Int64(cout), 0) },
                             withUnsafePointer(to: inputGradient) { dk_conv_amx_takes($0, Int64(cout), Int64(cin), 0) },
                             withUnsafePointer(to: forward) { dk_conv_amx_takes($0, Int64(cin), Int64(cout), 1) }].map { $0 != 0 }
                XCTAssertEqual(takes, tiles, "\(name) \(products): forward, input and weight gradients on the tiles")
            }
            Products.dotProducts.select()
            XCTAssertEqual(withUnsafePointer(to: forward) { dk_conv_amx_takes($0, Int64(cin), Int64(cout), 0) }, 0, "\(name): AMX off")
            let dot = run(.dotProducts, kernel, padding, h, w, cin, cout)
            let (sums, bounds) = Self.weightGradientReference(dot[4], dot[5], images: 4, cin, h, w, cout, kernel.h, kernel.w, pad.0, pad.1)
            let terms = Double(4 * (h + 2 * pad.0 - kernel.h + 1) * (w + 2 * pad.1 - kernel.w + 1))
            for products in [Products.dotProducts] + kinds {
                let result = products == .dotProducts ? dot : run(products, kernel, padding, h, w, cin, cout)
                for (i, part) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                    let p = result[i], q = dot[i], scale = q.map(abs).max()!
                    let worst = zip(p, q).map { abs($0 - $1) / max(abs($1), scale * 0x1p-10) }.max()!
                    XCTAssertLessThanOrEqual(worst, 0x1p-7, "\(name) \(products): \(part)")
                    let equal = Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count)
                    XCTAssertGreaterThan(equal, 0.9, "\(name) \(products): \(part)")
                }
                // float32 sums (error at most terms·2⁻²⁴ of the magnitudes' sum), rounded to bfloat16.
                let off = zip(result[2], zip(sums, bounds)).filter { abs(Double($0) - $1.0) > 0x1p-8 * abs($1.0) + (terms + 1) * 0x1p-24 * $1.1 }
                XCTAssertEqual(off.count, 0, "\(name) \(products): weight gradient against float64 sums")
            }
        }
    }

    /// Where the kernels round what they read and write (`Kernels.convolutionRoundsOperands`),
    /// autocast leaves the activation, the result and the result's gradient to them: the output
    /// then comes straight from the convolution (no rounding node), and the output, the input's,
    /// weight's and bias's gradients are bit for bit those of the rounding passes; with and
    /// without a bias, with an input that needs no gradient, for the broadcast gradient of a sum,
    /// for a weight and bias computed by other ops (not leaves: their gradients still rounded),
    /// and for strided 3×3 convolutions (the direct kernels by phases) and 1×1 ones (by columns on
    /// the bf16 GEMM).
    func testRoundingLeftToTheKernelsGivesTheSameValues() {
        for products in Products.here {
            let cases = [(true, true, false, 3, 1, false), (false, true, false, 3, 1, false), (true, false, false, 3, 1, false),
                         (true, true, true, 3, 1, false), (true, true, false, 3, 1, true), (true, true, false, 3, 2, false),
                         (false, true, true, 1, 2, false), (true, true, false, 3, 2, true)]
            for (withBias, inputGradient, sum, kernel, stride, computed) in cases {
                let name = "\(products) bias \(withBias) input gradient \(inputGradient) sum \(sum) kernel \(kernel) stride \(stride) computed \(computed)"
                let parts = ["output", "input gradient", "weight gradient", "bias gradient"]
                    .filter { (inputGradient || $0 != "input gradient") && (withBias || $0 != "bias gradient") }
                let gradFn = assertRoundingInKernelsMatchesPasses(products, name, parts: parts) {
                    Descent.manualSeed(21)
                    let x0 = Tensor.randn([2, 32, 9, 12]).requiringGrad(inputGradient)
                    let weight = Tensor.randn([32, 32, kernel, kernel]).requiringGrad(), bias = withBias ? Tensor.randn([32]).requiringGrad() : nil
                    let y = withAutocast {
                        conv2d(x0 * 1.5, computed ? weight * 1.25 : weight, bias: computed ? bias.map { $0 * 0.75 } : bias, stride: Size2(stride),
                               padding: .explicit(Size2(kernel / 2)))
                    }
                    (sum ? y : y * Tensor.randn(y.shape)).sum().backward()
                    let grads = [x0.grad, weight.grad, bias?.grad].compactMap { $0?.scalars }
                    return (y.gradFn, [y.scalars] + grads)
                }
                XCTAssertEqual(gradFn.passes, "BFloat16RoundBackward", name)
                XCTAssertEqual(gradFn.kernels, products == .emulated ? "BFloat16RoundBackward" : "ConvolutionBackward", name)
            }
        }
    }

    /// A broadcast gradient (a sum's) is rounded where it lies: the same view, the values of the
    /// contiguous rounding (which testBFloat16RoundingMatchesPyTorch checks against PyTorch).
    func testRoundingABroadcastKeepsItsView() {
        Descent.manualSeed(5)
        let row = Tensor.randn([1, 7]), view = row.expand([4, 7]).bfloat16Rounded(keepingStrides: true)
        XCTAssertEqual(view.strides, [0, 1])
        XCTAssertEqual(view.scalars, row.expand([4, 7]).bfloat16Rounded().scalars)
        XCTAssertNotEqual(view.scalars, row.expand([4, 7]).scalars)
    }

    /// Output, input, weight and bias gradients of a convolution inside autocast on `products`,
    /// for fixed values (4 images).
    private func run(_ products: Products, _ kernel: Size2, _ padding: ConvPadding, _ h: Int, _ w: Int, _ cin: Int,
                     _ cout: Int, stride: Size2 = 1) -> [[Float]] {
        products.select()
        defer { Products.dotProducts.select() }
        Descent.manualSeed(11)
        let x = Tensor.randn([4, cin, h, w]).requiringGrad()
        let weight = Tensor.randn([cout, cin, kernel.h, kernel.w]).requiringGrad(), bias = Tensor.randn([cout]).requiringGrad()
        let y = withAutocast { conv2d(x, weight, bias: bias, stride: stride, padding: padding) }
        let r = Tensor.randn(y.shape)
        (y * r).sum().backward()
        return [y.scalars, x.grad!.scalars, weight.grad!.scalars, bias.grad!.scalars, x.scalars, r.scalars]
    }

    /// dW[o][c][i][j] = Σ over images and output pixels of x[c][y + i − ph][x + j − pw]·g[o][y][x]
    /// with x and g rounded to bfloat16, summed in float64; and the sums of the products' magnitudes.
    static func weightGradientReference(_ x: [Float], _ g: [Float], images: Int, _ cin: Int, _ h: Int, _ w: Int, _ cout: Int,
                                         _ kh: Int, _ kw: Int, _ ph: Int, _ pw: Int) -> (sums: [Double], bounds: [Double]) {
        let oh = h + 2 * ph - kh + 1, ow = w + 2 * pw - kw + 1
        var sums = [Double](repeating: 0, count: cout * cin * kh * kw), bounds = sums
        for n in 0..<images {
            for o in 0..<cout {
                for c in 0..<cin {
                    for i in 0..<kh {
                        for j in 0..<kw {
                            let at = ((o * cin + c) * kh + i) * kw + j
                            for yy in 0..<oh {
                                let iy = yy + i - ph
                                guard iy >= 0 && iy < h else { continue }
                                for xx in 0..<ow {
                                    let ix = xx + j - pw
                                    guard ix >= 0 && ix < w else { continue }
                                    let a = Double(BFloat16.round(x[((n * cin + c) * h + iy) * w + ix]))
                                    let b = Double(BFloat16.round(g[((n * cout + o) * oh + yy) * ow + xx]))
                                    sums[at] += a * b
                                    bounds[at] += abs(a * b)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (sums, bounds)
    }

    /// Which kernel ran shows in subnormal inputs, which the dot-product and tile instructions
    /// take as zero and float32 arithmetic keeps: in the output (subnormal x) and in the weight
    /// gradient (subnormal upstream gradient). With enough channels for the tiles (32 → 32) the
    /// convolution runs on a bf16 kernel with every kind of products; with few (6 → 8) on the dot
    /// products, but on the AMX path (real or emulated tiles) on float32 kernels, which are faster
    /// there.
    func testAutocastConvolutionsRunOnTheKernel() {
        func largest(_ products: Products, _ cin: Int, _ cout: Int) -> (output: Float, weightGrad: Float) {
            products.select()
            defer { Products.dotProducts.select() }
            Descent.manualSeed(4)
            let tiny = Double(Float.leastNormalMagnitude / 64)
            let x = Tensor.randn([2, cin, 9, 12]), weight = Tensor.randn([cout, cin, 3, 3]).requiringGrad()
            let output = withAutocast { conv2d(x * tiny, weight, padding: 1) }.scalars.map(abs).max()!
            let y = withAutocast { conv2d(x, weight, padding: 1) }
            y.backward(Tensor.randn(y.shape) * tiny)
            return (output, weight.grad!.scalars.map(abs).max()!)
        }
        for (cin, cout) in [(32, 32), (6, 8)] {
            let emulated = largest(.emulated, cin, cout)
            XCTAssertGreaterThan(emulated.output, 0, "\(cin)→\(cout)")
            XCTAssertGreaterThan(emulated.weightGrad, 0, "\(cin)→\(cout)")
            for products in Products.here where products != .emulated {
                let (output, weightGrad) = largest(products, cin, cout)
                if cin == 32 || products == .dotProducts {
                    XCTAssertEqual(output, 0, "\(cin)→\(cout) \(products): the output on a bf16 kernel")
                    XCTAssertEqual(weightGrad, 0, "\(cin)→\(cout) \(products): the weight gradient on a bf16 kernel")
                } else {
                    XCTAssertGreaterThan(output, 0, "\(cin)→\(cout) \(products): the output in float32")
                    XCTAssertGreaterThan(weightGrad, 0, "\(cin)→\(cout) \(products): the weight gradient in float32")
                }
            }
        }
    }

    /// Transposed convolutions inside autocast run their products on the kernel (by columns and
    /// the bf16 GEMM; the direct kernel is float32): output, input, weight and bias gradients as
    /// the float32 emulation gives them, to a bfloat16 rounding, for strides 1, 2 and 3 (with
    /// output padding) and a grouped one. Subnormal inputs, taken as zero by the instructions,
    /// show that the forward pass, the input gradient and the weight gradient ran on it.
    func testAutocastTransposedConvolutions() {
        let has = dk_bgemm_avx512bf16_available() != 0
        let cases: [(kernel: Int, stride: Int, padding: Int, outputPadding: Int, groups: Int, h: Int, w: Int, cin: Int, cout: Int)] = [
            (4, 2, 1, 0, 1, 8, 8, 16, 8), (3, 1, 1, 0, 1, 6, 9, 5, 7), (3, 3, 0, 2, 1, 5, 4, 6, 3), (2, 2, 0, 0, 2, 4, 5, 4, 6),
        ]
        for c in cases {
            let name = "kernel \(c.kernel) stride \(c.stride) groups \(c.groups) \(c.cin)→\(c.cout)"
            /// y, dx, dW, db for an input scaled by `xScale` and an upstream gradient by `gScale`.
            func run(dot: Bool, xScale: Double = 1, gScale: Double = 1, bias: Bool = true) -> [[Float]] {
                Kernels.bfloat16DotProducts = dot
                Descent.manualSeed(9)
                let layer = ConvTranspose2d(c.cin, c.cout, kernelSize: Size2(c.kernel), stride: Size2(c.stride), padding: Size2(c.padding),
                                            outputPadding: Size2(c.outputPadding), groups: c.groups, bias: bias)
                let x = (Tensor.randn([3, c.cin, c.h, c.w]) * xScale).requiringGrad()
                let y = withAutocast { layer(x) }
                (y * (Tensor.randn(y.shape) * gScale)).sum().backward()
                return [y.scalars, x.grad!.scalars, layer.weight.grad!.scalars] + (bias ? [layer.bias!.grad!.scalars] : [])
            }
            let kernelRun = run(dot: true), emulated = run(dot: false)
            for (i, part) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                let p = kernelRun[i], q = emulated[i], scale = q.map(abs).max()!
                XCTAssertLessThanOrEqual(zip(p, q).map { abs($0 - $1) }.max()! / scale, 0x1p-7, "\(name): \(part)")
                XCTAssertGreaterThan(Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count), 0.5, "\(name): \(part)")
            }
            let tiny = Double(Float.leastNormalMagnitude / 64)
            // A subnormal input: zero output and weight gradient on the kernel, not emulated.
            let xTiny = run(dot: true, xScale: tiny, bias: false), xTinyEmulated = run(dot: false, xScale: tiny, bias: false)
            for (i, part) in [(0, "output"), (2, "weight gradient")] {
                XCTAssertGreaterThan(xTinyEmulated[i].map(abs).max()!, 0, "\(name): \(part) emulated")
                XCTAssertEqual(xTiny[i].map(abs).max()! == 0, has, "\(name): \(part) on the kernel")
            }
            // A subnormal upstream gradient: a zero input gradient on the kernel.
            XCTAssertGreaterThan(run(dot: false, gScale: tiny, bias: false)[1].map(abs).max()!, 0, "\(name): input gradient emulated")
            XCTAssertEqual(run(dot: true, gScale: tiny, bias: false)[1].map(abs).max()! == 0, has, "\(name): input gradient on the kernel")
        }
    }
}
