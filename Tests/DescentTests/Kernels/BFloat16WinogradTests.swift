import CDescentKernels
@testable import Descent
import XCTest

/// Autocast's 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) in float32 on bfloat16
/// operands (conv_winograd4.c), which the bf16 direct kernel runs instead of its dot-product
/// tiles on AVX512-BF16 CPUs off the AMX path: which geometries take it, and its output and input
/// gradient against float64 sums of the same bfloat16 operands.
final class BFloat16WinogradTests: BFloat16TestCase {
    /// Rows of 7 or 8 tiles (two rows of tiles a vector) or whole vectors of 16, at least 32 input
    /// and output channels, output channels a multiple of 16; the input gradient's convolution (g with the
    /// flipped weights) has the channel counts swapped; the weight gradient goes with the forward.
    func testWhichConvolutionsTakeIt() {
        let cases: [(h: Int, w: Int, pad: Int, cin: Int, cout: Int, takes: [Bool])] = [
            (32, 32, 1, 32, 48, [true, true]), (31, 30, 0, 32, 32, [true, true]), (26, 27, 2, 48, 32, [true, true]),
            (9, 64, 1, 32, 32, [true, true]), (6, 57, 1, 40, 32, [true, false]), (16, 16, 1, 32, 32, [false, false]),
            (32, 32, 1, 16, 32, [false, false]), (32, 32, 1, 32, 40, [false, true]), (2, 32, 1, 32, 32, [false, false]),
        ]
        for c in cases {
            let g = geometry(c.h, c.w, c.pad, c.cin), gT = g.inputGradient(outChannels: c.cout)
            let got = [withUnsafePointer(to: g.cGeometry) { dk_conv_wino4_takes($0, Int64(c.cin), Int64(c.cout)) != 0 },
                       withUnsafePointer(to: gT.cGeometry) { dk_conv_wino4_takes($0, Int64(c.cout), Int64(c.cin)) != 0 }]
            let here = dk_bgemm_avx512bf16_available() != 0 && dk_amx_path() == 0
            XCTAssertEqual(got, c.takes.map { $0 && here }, "\(c.h)x\(c.w) padding \(c.pad) \(c.cin)→\(c.cout): forward, input gradient")
        }
    }

    /// Output, input and weight gradients under autocast against float64 sums of the
    /// bfloat16-rounded operands (x, w and the upstream gradient; plus the bias), for the
    /// geometries above that take it: each value within a bfloat16 rounding of the exact sum (2⁻⁸
    /// of it, as values are rounded once) and the transforms' float32 error, at most 2⁻¹⁷ of the
    /// sum of the products' magnitudes. A coefficient of Aᵀ off by 10⁻⁴ (8.001 for 8) fails it; the
    /// dot-product tiles (DESCENT_BF16_WINOGRAD=0) pass it.
    func testMatchesExactSums() {
        guard dk_bgemm_avx512bf16_available() != 0 else { return XCTAssertEqual(dk_bgemm_avx512bf16_available(), 0) }
        for (h, w, pad, cin, cout) in [(32, 32, 1, 32, 48), (31, 30, 0, 32, 32), (26, 27, 2, 48, 32), (9, 64, 1, 32, 32), (6, 57, 1, 40, 32)] {
            let name = "\(h)x\(w) padding \(pad) \(cin)→\(cout)"
            Descent.manualSeed(31)
            let x = Tensor.randn([2, cin, h, w]).requiringGrad()
            let weight = Tensor.randn([cout, cin, 3, 3]).requiringGrad(), bias = Tensor.randn([cout]).requiringGrad()
            let y = withAutocast { conv2d(x, weight, bias: bias, padding: .explicit(Size2(pad))) }
            let r = Tensor.randn(y.shape)
            (y * r).sum().backward()
            let round = { (t: Tensor) in t.scalars.map { Double(BFloat16.round($0)) } }
            let (xs, ws, rs) = (round(x), round(weight), round(r))
            let g = geometry(h, w, pad, cin)
            // y[n][o] = b[o] + Σ_c Σ_ij w[o][c][i][j]·x[n][c][y + i − pad][x + j − pad]
            let forward = reference(images: 2, xs, g, cin: cin, cout: cout) { o, c, i, j in ws[((o * cin + c) * 3 + i) * 3 + j] }
            let b = round(bias)
            check(y.scalars, forward, add: { b[$0 / (g.oh * g.ow) % cout] }, "\(name): output")
            // dx = the convolution of g with the flipped, transposed weight.
            let gT = g.inputGradient(outChannels: cout)
            let backward = reference(images: 2, rs, gT, cin: cout, cout: cin) { c, o, i, j in ws[((o * cin + c) * 3 + 2 - i) * 3 + 2 - j] }
            check(x.grad!.scalars, backward, add: { _ in 0 }, "\(name): input gradient")
            let dW = BFloat16ConvolutionTests.weightGradientReference(x.scalars, r.scalars, images: 2, cin, h, w, cout, 3, 3, pad, pad)
            check(weight.grad!.scalars, dW, add: { _ in 0 }, "\(name): weight gradient")
        }
    }

    private func geometry(_ h: Int, _ w: Int, _ pad: Int, _ c: Int) -> ConvGeometry {
        ConvGeometry(n: 1, c: c, h: h, w: w, kh: 3, kw: 3, sh: 1, sw: 1, padH: pad, padW: pad, dh: 1, dw: 1,
                     oh: h + 2 * pad - 2, ow: w + 2 * pad - 2)
    }

    /// Float64 sums of a 3×3 stride-1 convolution of `x` (images × cin × h × w) on `g` with the
    /// weight `w(o, c, i, j)`, and the sums of the products' magnitudes.
    private func reference(images: Int, _ x: [Double], _ g: ConvGeometry, cin: Int, cout: Int,
                           _ w: (Int, Int, Int, Int) -> Double) -> (sums: [Double], bounds: [Double]) {
        let plane = g.oh * g.ow
        var sums = [Double](repeating: 0, count: images * cout * plane), bounds = sums
        for n in 0..<images {
            for o in 0..<cout {
                for c in 0..<cin {
                    for i in 0..<3 {
                        for j in 0..<3 {
                            let k = w(o, c, i, j)
                            for yy in 0..<g.oh where yy + i - g.padH >= 0 && yy + i - g.padH < g.h {
                                let row = ((n * cin + c) * g.h + yy + i - g.padH) * g.w, out = ((n * cout + o) * g.oh + yy) * g.ow
                                for xx in 0..<g.ow where xx + j - g.padW >= 0 && xx + j - g.padW < g.w {
                                    let p = k * x[row + xx + j - g.padW]
                                    sums[out + xx] += p
                                    bounds[out + xx] += abs(p)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (sums, bounds)
    }

    private func check(_ got: [Float], _ reference: (sums: [Double], bounds: [Double]), add: (Int) -> Double, _ name: String) {
        XCTAssertEqual(got.count, reference.sums.count, name)
        var worst = 0.0
        for (k, v) in got.enumerated() {
            let exact = reference.sums[k] + add(k), bound = reference.bounds[k] + abs(add(k))
            worst = max(worst, (abs(Double(v) - exact) - 0x1p-8 * abs(exact)) / bound)
        }
        XCTAssertLessThanOrEqual(worst, 0x1p-17, name)
        XCTAssertEqual(got.filter { $0 != BFloat16.round($0) }.count, 0, "\(name): values that are not bfloat16")
    }
}
