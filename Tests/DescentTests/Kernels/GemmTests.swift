import CDescentKernels
import Descent
import XCTest

/// Matrix products on the built-in kernel and on the BLAS (when loaded) against a naive
/// Float64 product, over odd sizes, every transpose form, batches and both float types.
final class GemmTests: XCTestCase {
    override func tearDown() { MatmulBackend.current = .automatic }

    /// Reference product in Double from the row-major values.
    private func naive(_ a: Tensor, _ b: Tensor) -> Tensor {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        let x = a.toArray(Double.self), y = b.toArray(Double.self)
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { let v = x[i * k + p]; for j in 0..<n { out[i * n + j] += v * y[p * n + j] } } }
        return Tensor(shape: [m, n], scalars: out)
    }

    private func checkForms(dtype: DType, file: StaticString = #filePath, line: UInt = #line) {
        Descent.manualSeed(3)
        let shapes = [(1, 1, 1), (1, 7, 5), (7, 1, 5), (5, 7, 1), (1, 10, 1568), (1, 33, 70), (13, 37, 29), (64, 33, 70), (6, 32, 300),
                      (97, 65, 257)]
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = ta ? Tensor.randn([k, m], dtype: dtype).t : Tensor.randn([m, k], dtype: dtype)
                let b = tb ? Tensor.randn([n, k], dtype: dtype).t : Tensor.randn([k, n], dtype: dtype)
                let tol = dtype == .float32 ? 1e-4 : 1e-10
                assertClose(a.matmul(b).to(.float64), naive(a, b), rtol: tol, atol: tol,
                            "\(m)x\(n)x\(k) ta \(ta) tb \(tb) \(dtype)", file: file, line: line)
            }
        }
        // Batched with a shared right operand (folded into one GEMM) and a strided batch.
        let a = Tensor.randn([3, 5, 4], dtype: dtype), w = Tensor.randn([4, 6], dtype: dtype)
        let folded = a.matmul(w)
        for i in 0..<3 { assertClose(folded[i].to(.float64), naive(a[i], w), rtol: 1e-4, atol: 1e-4, "batch \(i)") }
        let strided = Tensor.randn([5, 3, 4], dtype: dtype).permute(1, 0, 2)
        let s = strided.matmul(w)
        for i in 0..<3 { assertClose(s[i].to(.float64), naive(strided[i], w), rtol: 1e-4, atol: 1e-4, "strided batch \(i)") }
    }

    func testPortableKernelFloat32() {
        MatmulBackend.current = .portable
        checkForms(dtype: .float32)
    }

    func testPortableKernelFloat64() {
        MatmulBackend.current = .portable
        checkForms(dtype: .float64)
    }

    func testAVX512KernelFloat32() {
        // On a CPU without AVX-512 this resolves to the portable kernel, which must pass too.
        MatmulBackend.current = .avx512
        checkForms(dtype: .float32)
        Descent.manualSeed(9)
        // Sizes that cross the kernel's K (256) and M (128) blocks and its 8x32 tiles, on 1 and 2 threads;
        // (260, 300, 130) and (137, 300, 512) split along N with more than one block of A rows; (520, 130,
        // 300) splits along M; on 2 threads, (264, 1100, 235) is large enough for the threads to share packed
        // blocks of B (two column blocks, a partial row block), and (264, 1100, 600) also takes two of their
        // deeper (512) K blocks.
        for threads in [1, 2] {
            let saved = Descent.threads
            Descent.threads = threads
            let shared = threads > 1 ? [(264, 1100, 235), (264, 1100, 600)] : []
            for (m, n, k) in [(129, 95, 513), (300, 40, 257), (8, 1000, 20), (600, 33, 70), (20, 40, 512), (17, 64, 1024),
                              (260, 300, 130), (137, 300, 512), (520, 130, 300)] + shared {
                for (ta, tb) in [(false, false), (true, false), (false, true)] {
                    let a = ta ? Tensor.randn([k, m]).t : Tensor.randn([m, k])
                    let b = tb ? Tensor.randn([n, k]).t : Tensor.randn([k, n])
                    assertClose(a.matmul(b).to(.float64), naive(a, b), rtol: 1e-4, atol: 1e-3, "\(m)x\(n)x\(k) \(ta)\(tb) t\(threads)")
                }
            }
            // At most 32 rows read B in place (no packing): B with rows longer than its columns
            // (a slice), K across several blocks, a partial row tile.
            for (m, n, k) in [(24, 96, 300), (32, 64, 40)] {
                let a = Tensor.randn([m, k]), b = Tensor.randn([k, n + 7]).narrow(dim: 1, start: 3, length: n)
                assertClose(a.matmul(b).to(.float64), naive(a, b.contiguous()), rtol: 1e-4, atol: 1e-3, "\(m)x\(n)x\(k) sliced B t\(threads)")
            }
            Descent.threads = saved
        }
    }

    /// dk_sgemm on one row (its own path, dk_sgemm_one_row, before any BLAS): C = a·op(B) and
    /// C = 2·a·op(B) + C, with a read along a row or a column of A (transA), B's rows or columns
    /// (transB), leading dimensions wider than the operands, depths of several 32-lane blocks and a
    /// remainder, and a NaN in C that β = 0 must not carry.
    func testOneRowProduct() {
        Descent.manualSeed(13)
        let (n, k, lda, ldb) = (9, 75, 3, 80)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let aStore = Tensor.randn([ta ? k * lda : k]).toArray(Float.self)
            let bStore = Tensor.randn([max(n, k) * ldb]).toArray(Float.self)
            let a = (0..<k).map { Double(aStore[ta ? $0 * lda : $0]) }
            func b(_ p: Int, _ j: Int) -> Double { Double(bStore[tb ? j * ldb + p : p * ldb + j]) }
            let exact = (0..<n).map { j in (0..<k).reduce(0.0) { $0 + a[$1] * b($1, j) } }
            for beta: Float in [0, 1] {
                var c = (0..<n).map { Float($0) - 4 }
                c[2] = beta == 0 ? .nan : c[2]
                let before = c.map(Double.init)
                dk_sgemm(0, ta ? 1 : 0, tb ? 1 : 0, 1, Int64(n), Int64(k), 2, aStore, Int64(ta ? lda : k), bStore, Int64(ldb), beta, &c,
                         Int64(n))
                for j in 0..<n {
                    let expected = 2 * exact[j] + (beta == 0 ? 0 : before[j])
                    XCTAssertEqual(Double(c[j]), expected, accuracy: 1e-4 * max(1, abs(expected)), "ta \(ta) tb \(tb) beta \(beta) column \(j)")
                }
            }
        }
    }

    func testBLASBackendWhenAvailable() {
        MatmulBackend.current = .blas
        checkForms(dtype: .float32)
    }

    func testDefaultPathFloat32AndFloat64() {
        // The BLAS when one is loaded (CI installs OpenBLAS), else the built-in kernel.
        checkForms(dtype: .float32)
        checkForms(dtype: .float64)
    }

    func testBuiltinMatchesDefaultOnALargeProduct() {
        Descent.manualSeed(5)
        let a = Tensor.randn([130, 300]), b = Tensor.randn([300, 90])
        let fast = a.matmul(b)
        MatmulBackend.current = .portable
        assertClose(a.matmul(b), fast, rtol: 1e-4, atol: 1e-4, "built-in vs default")
    }

    func testInt64Matmul() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Int64])
        XCTAssertEqual(a.matmul(a).toArray(Int64.self), [7, 10, 15, 22])
    }

    func testBLASSelection() {
        // CI sets DESCENT_EXPECT_BLAS=1 when it installed OpenBLAS, so the BLAS path is tested there.
        if ProcessInfo.processInfo.environment["DESCENT_EXPECT_BLAS"] == "1" {
            XCTAssertTrue(BLAS.isAvailable, "OpenBLAS was installed but not loaded")
        }
        if BLAS.isAvailable {
            // OpenBLAS must run its fast kernel without the user setting anything.
            if BLAS.name.contains("openblas") { XCTAssertFalse(BLAS.coreType.isEmpty) }
        } else {
            XCTAssertEqual(BLAS.name, "built-in")
        }
    }
}

import Foundation
