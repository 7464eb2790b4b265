import XCTest
@testable import Descent

final class ConvolutionKernelTests: XCTestCase {
    /// The direct float32 convolution (conv_direct.c: stride 1, rows of at least 24 outputs)
    /// against the float64 im2col path: outputs and all gradients, for kernels 1x1, 3x3, 5x5 and
    /// 3x2, symmetric, asymmetric ("same" with an even kernel) and no padding, output channels
    /// that leave a partial tile, and rows that leave a partial vector or span several blocks.
    func testDirectKernelMatchesTheIm2colPath() {
        Descent.manualSeed(41)
        XCTAssertTrue(Kernels.convolutionDirectApplies(Tensor.zeros([1], dtype: .float32),
                                                       ConvGeometry(n: 4, c: 1, h: 1, w: 32, kh: 1, kw: 1, sh: 1, sw: 1, padH: 0, padW: 0,
                                                                    dh: 1, dw: 1, oh: 1, ow: 32), groups: 1) == (MatmulBackend.resolved == .avx512))
        let cases: [(Size2, ConvPadding, Int)] = [(3, 1, 30), (1, 0, 40), (5, 2, 70), ([3, 2], "same", 33), ([4, 4], "same", 26), (3, 0, 29)]
        for (kernel, padding, width) in cases {
            let x64 = Tensor.randn([4, 5, 7, width], dtype: .float64).requiringGrad()
            let w64 = Tensor.randn([11, 5, kernel.h, kernel.w], dtype: .float64).requiringGrad()
            let b64 = Tensor.randn([11], dtype: .float64).requiringGrad()
            let x32 = x64.detach().to(.float32).requiringGrad(), w32 = w64.detach().to(.float32).requiringGrad()
            let b32 = b64.detach().to(.float32).requiringGrad()
            let y32 = conv2d(x32, w32, bias: b32, padding: padding), y64 = conv2d(x64, w64, bias: b64, padding: padding)
            let name = "kernel \(kernel) padding \(padding) width \(width)"
            assertClose(y32.to(.float64), y64, rtol: 1e-4, atol: 1e-4, "\(name) output")
            let g = Tensor.randn(y64.shape, dtype: .float64)
            (y32 * g.to(.float32)).sum().backward()
            (y64 * g).sum().backward()
            assertClose(x32.grad!.to(.float64), x64.grad!, rtol: 1e-4, atol: 1e-3, "\(name) input gradient")
            assertClose(w32.grad!.to(.float64), w64.grad!, rtol: 1e-4, atol: 1e-3, "\(name) weight gradient")
            assertClose(b32.grad!.to(.float64), b64.grad!, rtol: 1e-4, atol: 1e-3, "\(name) bias gradient")
        }
    }

    /// Stride 2 (im2col/col2im with even/odd permutes): a convolution and a transposed convolution
    /// in float32 against float64, with rows long enough to fill both halves of a vector and to
    /// span several (19, 40 and 70 columns), odd and even kernels, with and without padding.
    func testStrideTwoColumnsMatchFloat64() {
        Descent.manualSeed(43)
        for (kernel, padding, width) in [(3, 1, 40), (4, 1, 70), (3, 0, 19), (2, 0, 38)] as [(Int, Int, Int)] {
            let name = "kernel \(kernel) padding \(padding) width \(width)"
            let x64 = Tensor.randn([2, 3, 5, width], dtype: .float64).requiringGrad()
            let w64 = Tensor.randn([4, 3, kernel, kernel], dtype: .float64).requiringGrad()
            let x32 = x64.detach().to(.float32).requiringGrad(), w32 = w64.detach().to(.float32).requiringGrad()
            let y32 = conv2d(x32, w32, stride: 2, padding: .explicit(Size2(padding)))
            let y64 = conv2d(x64, w64, stride: 2, padding: .explicit(Size2(padding)))
            assertClose(y32.to(.float64), y64, rtol: 1e-4, atol: 1e-4, "conv \(name) output")
            let g = Tensor.randn(y64.shape, dtype: .float64)
            (y32 * g.to(.float32)).sum().backward()
            (y64 * g).sum().backward()
            assertClose(x32.grad!.to(.float64), x64.grad!, rtol: 1e-4, atol: 1e-3, "conv \(name) input gradient")
            assertClose(w32.grad!.to(.float64), w64.grad!, rtol: 1e-4, atol: 1e-3, "conv \(name) weight gradient")

            let t64 = Tensor.randn([2, 3, 4, width / 2], dtype: .float64).requiringGrad()
            let v64 = Tensor.randn([3, 4, kernel, kernel], dtype: .float64).requiringGrad()
            let t32 = t64.detach().to(.float32).requiringGrad(), v32 = v64.detach().to(.float32).requiringGrad()
            let z32 = convTranspose2d(t32, v32, stride: 2, padding: Size2(padding))
            let z64 = convTranspose2d(t64, v64, stride: 2, padding: Size2(padding))
            assertClose(z32.to(.float64), z64, rtol: 1e-4, atol: 1e-4, "convT \(name) output")
            let h = Tensor.randn(z64.shape, dtype: .float64)
            (z32 * h.to(.float32)).sum().backward()
            (z64 * h).sum().backward()
            assertClose(t32.grad!.to(.float64), t64.grad!, rtol: 1e-4, atol: 1e-3, "convT \(name) input gradient")
            assertClose(v32.grad!.to(.float64), v64.grad!, rtol: 1e-4, atol: 1e-3, "convT \(name) weight gradient")
        }
    }
}
