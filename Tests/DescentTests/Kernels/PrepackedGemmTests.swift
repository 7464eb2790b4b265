import CDescentKernels
import Descent
import XCTest

/// The products with an operand packed once (sgemm_prepacked.c: the fused recurrent kernels'
/// W_hh) against a naive Float64 product: rows that leave a partial tile (6 rows on AVX2, 8 on
/// AVX-512; on AVX2 tails of 7 or 8 rows run as two 4-row tiles: 7, 8, 13, 32), widths that leave a partial panel or half-panel, depths of one and several blocks,
/// a column range that starts at a later panel, B read transposed, and accumulation into C.
final class PrepackedGemmTests: XCTestCase {
    func testPrepackedProductMatchesTheNaiveProduct() {
        // Every x86-64 CPU with AVX2 (or AVX-512) runs it; elsewhere the fused kernels are off.
        let available = dk_sgemm_prepacked_available() != 0
        XCTAssertEqual(available, dk_cpu_has_avx2() != 0 || dk_cpu_has_avx512() != 0)
        guard available else { return }
        Descent.manualSeed(61)
        func values(_ n: Int) -> [Float] { Tensor.randn([n]).toArray(Float.self) }
        // (M, N, K)
        for (m, n, k) in [(1, 5, 3), (5, 70, 280), (13, 33, 257), (32, 128, 128), (7, 64, 512), (8, 40, 9), (6, 16, 1)] {
            for transB in [false, true] {
                let a = values(m * k), b = values(k * n), c0 = values(m * n)
                // B[p][j] is b[p·n + j], or b[j·k + p] stored transposed.
                func bAt(_ p: Int, _ j: Int) -> Double { Double(transB ? b[j * k + p] : b[p * n + j]) }
                let floats = Int(dk_sgemm_packed_b_floats(Int64(k), Int64(n)))
                let packed = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64).bindMemory(to: Float.self, capacity: floats)
                defer { packed.deallocate() }
                b.withUnsafeBufferPointer { dk_sgemm_pack_b(transB ? 1 : 0, Int64(k), Int64(n), $0.baseAddress, Int64(transB ? k : n), packed) }
                for (j0, accumulate) in [(0, false), (n > 32 ? 32 : 0, true)] {
                    var c = c0
                    a.withUnsafeBufferPointer { ap in
                        c.withUnsafeMutableBufferPointer { cp in
                            dk_sgemm_prepacked(Int64(m), Int64(n), Int64(k), ap.baseAddress, Int64(k), packed, Int64(j0), Int64(n),
                                               cp.baseAddress, Int64(n), accumulate ? 1 : 0)
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            var expected = Double(c0[i * n + j])
                            if j >= j0 {
                                let sum = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * bAt($1, j) }
                                expected = accumulate ? expected + sum : sum
                            }
                            XCTAssertEqual(Double(c[i * n + j]), expected, accuracy: 1e-4 * Double(k).squareRoot() + 1e-5,
                                           "\(m)x\(n)x\(k) transB \(transB) from column \(j0) accumulate \(accumulate): C[\(i)][\(j)]")
                        }
                    }
                }
            }
        }
    }
}
