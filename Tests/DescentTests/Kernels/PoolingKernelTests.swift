import CDescentKernels
import XCTest
@testable import Descent

final class PoolingKernelTests: XCTestCase {
    /// The float32 max-pooling kernel (pooling.c: AVX-512 for windows two wide with stride two,
    /// row loops otherwise) against the float64 loops: values, indices and gradients, with ties
    /// (the first maximum wins) and NaN (the last NaN wins), for output rows that fill whole
    /// vectors and leave remainders, and for several window heights and strides; and in inference
    /// (no gradient), where the 2-wide kernels form no indices, the same values.
    func testFloat32KernelMatchesTheReferenceLoops() {
        Descent.manualSeed(31)
        let geometries: [(Size2, Size2)] = [(2, 2), ([3, 2], [1, 2]), ([2, 3], [2, 1]), ([1, 2], [3, 2]), (3, 3)]
        for (kernel, stride) in geometries {
            for w in [2, 7, 14, 31, 34, 66] {
                // Few distinct values, so that windows hold ties; some NaN.
                let ints: [Int64] = Tensor.randint([2, 3, 7, w], low: 0, high: 4).toArray(Int64.self)
                var values: [Double] = []
                for (i, v) in ints.enumerated() { values.append(i % 29 == 3 || i % 31 == 7 ? Double.nan : Double(v)) }
                let x64 = Tensor(shape: [2, 3, 7, w], scalars: values).requiringGrad()
                let x32 = x64.detach().to(.float32).requiringGrad()
                guard w >= kernel.w else { continue }
                let (v32, i32) = x32.maxPool2dWithIndices(kernelSize: kernel, stride: stride)
                let (v64, i64) = x64.maxPool2dWithIndices(kernelSize: kernel, stride: stride)
                let name = "kernel \(kernel) stride \(stride) width \(w)"
                XCTAssertEqual(i32.toArray(Int64.self), i64.toArray(Int64.self), "\(name) indices")
                let a = v32.toArray(Float.self), b = v64.toArray(Double.self)
                XCTAssertEqual(a.count, b.count, name)
                for (p, q) in zip(a, b) where !(p.isNaN && q.isNaN) { XCTAssertEqual(Double(p), q, "\(name) values") }
                XCTAssertEqual(a.filter(\.isNaN).count, b.filter(\.isNaN).count, "\(name) NaN outputs")
                let g = Tensor.randn(v64.shape, dtype: .float64)
                (v32 * g.to(.float32)).sum().backward()
                (v64 * g).sum().backward()
                assertClose(x32.grad!.to(.float64), x64.grad!, rtol: 1e-6, atol: 1e-6, "\(name) gradient")
                // Without a gradient to form (inference), the values-only kernel gives the same values.
                let inference = withNoGrad { x32.maxPool2d(kernelSize: kernel, stride: stride) }.toArray(Float.self)
                for (p, q) in zip(inference, a) { XCTAssertTrue(p == q || (p.isNaN && q.isNaN), "\(name) inference values") }
            }
        }
        // 2-wide windows (the CNN's 2×2 pooling) take the values-only kernel on x86-64 with AVX2.
        var g = dk_pool_geometry(h: 28, w: 28, kh: 2, kw: 2, sh: 2, sw: 2, oh: 14, ow: 14)
        XCTAssertEqual(dk_maxpool2d_values_only(&g) != 0, dk_cpu_has_avx2() != 0 || dk_cpu_has_avx512() != 0)
    }
}
