import CDescentKernels
@testable import Descent
import XCTest

/// The bfloat16 dot-product GEMM (AVX512-BF16, bgemm_avx512.c) against float64 sums of the
/// same bfloat16 products, and its use by autocast and by bfloat16 tensors.
final class BFloat16GemmTests: BFloat16TestCase {
    /// A fixed sequence of uniform values in [-2, 2).
    private struct Values {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    /// On a CPU without AVX512-BF16 the kernel is never chosen; with it, it is on by default.
    func testDotProductsAreOnExactlyWhereTheCPUHasThem() {
        let has = dk_bgemm_avx512bf16_available() != 0
        Kernels.bfloat16DotProducts = true
        XCTAssertEqual(Kernels.bfloat16DotProducts, has)
        Kernels.bfloat16DotProducts = false
        XCTAssertFalse(Kernels.bfloat16DotProducts)
    }

    /// Every transpose form, float32 (rounded as packed) and bfloat16 storage, leading dimensions
    /// wider than the operands, accumulation, odd depths, and sizes that cross the tile (8×32),
    /// the row and column blocks (128, 1024) and the depth blocks (512, balanced to even
    /// depths), on 1 and 2 threads; bfloat16 A by rows of even depth is read in place (13×47×20:
    /// with a partial tile of rows, which is packed). Without AVX512-BF16, `bfloat16Gemm` runs
    /// float32 products of the same values, which must pass too.
    func testKernelMatchesExactProductsWithFloat32Sums() {
        var rng = Values(state: 7)
        let shapes = [(1, 1, 1), (8, 32, 2), (7, 33, 3), (13, 47, 19), (64, 256, 784), (129, 70, 515), (33, 1030, 1025),
                      (200, 40, 1100), (13, 47, 20)]
        var cases = 0
        for threads in [1, 2] {
            Descent.threads = threads
            for (s, (m, n, k)) in shapes.enumerated() {
                for ta in [false, true] {
                    for tb in [false, true] {
                        let aBF16 = (s + (ta ? 1 : 0)) % 2 == 0, bBF16 = !aBF16, accumulate = (s + (tb ? 1 : 0)) % 2 == 1
                        check(m, n, k, ta, tb, aBF16, bBF16, accumulate, &rng)
                        cases += 1
                    }
                }
            }
        }
        XCTAssertEqual(cases, 72)
        // A bfloat16 C, rounded once from the float32 sums (several depth blocks, partial tiles).
        for (m, n, k) in [(13, 47, 20), (33, 1030, 1025), (129, 70, 515)] {
            check(m, n, k, false, false, true, true, false, &rng, bfloat16Output: true)
            check(m, n, k, true, true, false, true, false, &rng, bfloat16Output: true)
        }
    }

    /// AMX runs the GEMM's full 32×32 blocks where the CPU has it and Linux grants the tile
    /// state (on by default, unless DESCENT_AMX=0), and cannot be turned on elsewhere. Its path
    /// must give the exact products' float32 sums: shapes with full blocks, partial blocks at the
    /// edges (rows, and columns of a partial panel), depths that leave a tail of fewer than 16
    /// words (run on AVX512-BF16 into the same C) and several depth blocks, A and B transposed or
    /// not (transposed A is packed by rows for the tiles), float32 and bfloat16 storage
    /// (bfloat16 A by rows read in place), on 1 and 2 threads. It runs on the tiles where the
    /// CPU has AMX, and on every AVX512-BF16 CPU with the tile products on the scalar model of
    /// `tdpbf16ps` (dk_bgemm_amx_model), which checks the path's packing and addressing.
    func testMatrixUnitsWhereTheCPUHasThem() {
        let available = dk_bgemm_amx_available() != 0
        XCTAssertEqual(savedMatrixUnits, available && ProcessInfo.processInfo.environment["DESCENT_AMX"] != "0")
        Kernels.bfloat16MatrixUnits = true
        XCTAssertEqual(Kernels.bfloat16MatrixUnits, available)
        Kernels.bfloat16MatrixUnits = false
        XCTAssertFalse(Kernels.bfloat16MatrixUnits)
        var rng = Values(state: 23)
        var cases = 0
        for (units, model) in [(true, false), (false, true)] {
            Kernels.bfloat16MatrixUnits = units
            XCTAssertEqual(dk_bgemm_amx_model(model ? 1 : 0) != 0, model && dk_bgemm_avx512bf16_available() != 0)
            defer { _ = dk_bgemm_amx_model(0) }
            for threads in [1, 2] {
                Descent.threads = threads
                for (s, (m, n, k)) in [(32, 32, 32), (64, 96, 64), (97, 70, 530), (160, 64, 1100), (64, 33, 96)].enumerated() {
                    for ta in [false, true] {
                        for tb in [false, true] {
                            let aBF16 = (s + (ta ? 1 : 0) + threads) % 2 == 0, accumulate = (s + (tb ? 1 : 0)) % 2 == 1
                            check(m, n, k, ta, tb, aBF16, !aBF16, accumulate, &rng)
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(cases, 80)
    }

    private func check(_ m: Int, _ n: Int, _ k: Int, _ ta: Bool, _ tb: Bool, _ aBF16: Bool, _ bBF16: Bool, _ accumulate: Bool,
                       _ rng: inout Values, bfloat16Output: Bool = false) {
        let lda = ta ? m + 3 : k + 5, ldb = tb ? k + 2 : n + 1, ldc = n + 7
        let aCount = (ta ? k : m) * lda, bCount = (tb ? n : k) * ldb
        // float32 values that are not bfloat16 values: the kernel must round them to nearest even.
        let a = (0..<aCount).map { _ in rng.next() }, b = (0..<bCount).map { _ in rng.next() }
        let a16 = a.map { BFloat16($0).bitPattern }, b16 = b.map { BFloat16($0).bitPattern }
        var c = [Float](repeating: accumulate ? 1.5 : .nan, count: m * ldc)
        var c16 = [UInt16](repeating: 0xFFFF, count: bfloat16Output ? m * ldc : 0)  // NaN
        a.withUnsafeBufferPointer { af in a16.withUnsafeBufferPointer { ah in
            b.withUnsafeBufferPointer { bf in b16.withUnsafeBufferPointer { bh in
                c.withUnsafeMutableBufferPointer { cp in c16.withUnsafeMutableBufferPointer { ch in
                    Kernels.bfloat16Gemm(transA: ta, transB: tb, m: m, n: n, k: k,
                                         a: aBF16 ? UnsafeRawPointer(ah.baseAddress!) : UnsafeRawPointer(af.baseAddress!), aBF16: aBF16,
                                         lda: lda, b: bBF16 ? UnsafeRawPointer(bh.baseAddress!) : UnsafeRawPointer(bf.baseAddress!),
                                         bBF16: bBF16, ldb: ldb,
                                         c: bfloat16Output ? UnsafeMutableRawPointer(ch.baseAddress!) : UnsafeMutableRawPointer(cp.baseAddress!),
                                         cBF16: bfloat16Output, ldc: ldc, accumulate: accumulate)
                } }
            } }
        } }
        if bfloat16Output { c = c16.map { BFloat16(bitPattern: $0).float } }
        let label = "\(m)x\(n)x\(k) ta \(ta) tb \(tb) bf16 storage \(aBF16)/\(bBF16) accumulate \(accumulate) bf16 C \(bfloat16Output)"
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = accumulate ? 1.5 : 0.0
                for p in 0..<k {
                    let x = Double(BFloat16(bitPattern: a16[ta ? p * lda + i : i * lda + p]).float)
                    let y = Double(BFloat16(bitPattern: b16[tb ? j * ldb + p : p * ldb + j]).float)
                    sum += x * y
                }
                // float32 sums of k exact products, each term at most 4 in size (and a bfloat16 C
                // rounded once: half a bfloat16 step of the value, at most 2⁻⁸ of it, more).
                let rounding = bfloat16Output ? abs(sum) * 0x1p-8 : 0
                worst = max(worst, max(0, abs(Double(c[i * ldc + j]) - sum) - rounding) / (4 * Double(k) + 2))
            }
            for j in n..<ldc where !(accumulate ? c[i * ldc + j] == 1.5 : c[i * ldc + j].isNaN) {
                XCTFail("\(label): C[\(i), \(j)] past the product was written")
                return
            }
        }
        XCTAssertLessThanOrEqual(worst, 2e-7, label)
    }

    /// Autocast's products, forward and backward, run on the kernel where the CPU has it. The
    /// kernel's instructions take subnormal inputs as zero (as the hardware defines them), which
    /// the float32 emulation does not: that shows which one ran. Normal values give the same
    /// results either way, to the rounding of the float32 sums.
    func testAutocastProductsRunOnTheKernel() {
        let has = dk_bgemm_avx512bf16_available() != 0
        func run(dot: Bool, x0: Float, bias: Bool = true) -> (y: [Float], gw: [Float], gx: [Float]) {
            Kernels.bfloat16DotProducts = dot
            Descent.manualSeed(5)
            let layer = Linear(37, 21, bias: bias)
            let x = (Tensor.randn([9, 37]) * Double(x0)).requiringGrad()
            let y = withAutocast { layer(x) }
            (y * Tensor.randn([9, 21])).sum().backward()
            return (y.scalars, layer.weight.grad!.scalars, x.grad!.scalars)
        }
        let tiny = Float.leastNormalMagnitude / 64
        let onKernel = run(dot: true, x0: tiny), emulated = run(dot: false, x0: tiny)
        XCTAssertGreaterThan(emulated.gw.map(abs).max()!, 0, "the emulation keeps subnormal products")
        XCTAssertEqual(onKernel.gw.map(abs).max()! == 0, has, "weight gradient on the kernel (subnormal x as zero)")
        // Without a bias the output is the products alone: zero on the kernel, subnormal emulated.
        XCTAssertEqual(run(dot: true, x0: tiny, bias: false).y.allSatisfy { $0 == 0 }, has, "output on the kernel")
        XCTAssertFalse(run(dot: false, x0: tiny, bias: false).y.allSatisfy { $0 == 0 }, "output emulated")
        let a = run(dot: true, x0: 1), b = run(dot: false, x0: 1)
        for (name, p, q) in [("output", a.y, b.y), ("weight gradient", a.gw, b.gw), ("input gradient", a.gx, b.gx)] {
            let scale = q.map(abs).max()!
            let worst = zip(p, q).map { abs($0 - $1) }.max()! / scale
            XCTAssertLessThanOrEqual(worst, 0x1p-8, name)  // at most a bfloat16 rounding apart
            XCTAssertGreaterThan(Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count), 0.9, name)
        }
    }

    /// Where the bf16 GEMM rounds a product's input, result and gradients as it reads and writes
    /// them (`Kernels.matmulRoundsOperands`), autocast takes no pass for them; the values must be
    /// bit for bit those of the rounding passes. matmul's result then comes straight from the
    /// product (no rounding node); linear's (bias added) is still rounded. Cases: 2-D products
    /// (a layer's weight transposed, the LSTM's input projection), a batch against a batch and
    /// against a shared matrix (a fold of the batch into rows), 1-D operands, a shared matrix
    /// broadcast over a batch (its gradient summed, then rounded), a batch of one broadcast
    /// against three (no kernel rounding: the input's gradient is summed), a weight used twice
    /// (its gradient rounded once; also as a product's input), weights computed by other ops,
    /// and inputs that need no gradient; on every kind of products the CPU has.
    func testRoundingLeftToTheKernelsGivesTheSameValues() {
        typealias Case = (name: String, input: [Int], weight: [Int], inputGradient: Bool, kernels: Bool,
                          product: (Tensor, Tensor) -> Tensor)
        let cases: [Case] = [
            ("linear", [9, 37], [21, 37], true, false, { x, w in linear(x, weight: w, bias: w.sum(dim: 1) * 0.5) }),
            ("linear of a batch", [3, 5, 37], [21, 37], true, false, { x, w in linear(x, weight: w) }),
            ("linear, input without gradient", [9, 37], [21, 37], false, false, { x, w in linear(x, weight: w) }),
            ("linear, weight computed", [9, 37], [21, 37], true, false, { x, w in linear(x, weight: w * 1.25) }),
            ("linear twice", [9, 37], [37, 37], true, false, { x, w in linear(linear(x, weight: w).relu(), weight: w) }),
            ("matmul by a transpose", [40, 33], [64, 33], true, true, { x, w in x.matmul(w.t) }),
            ("matmul, input without gradient", [40, 33], [64, 33], false, true, { x, w in x.matmul(w.t) }),
            ("matmul of batches", [3, 10, 33], [3, 33, 17], true, true, { x, w in x.matmul(w) }),
            ("matmul by a shared matrix", [3, 10, 33], [33, 17], true, true, { x, w in x.matmul(w) }),
            ("matmul by a broadcast batch", [3, 10, 33], [1, 33, 17], true, true, { x, w in x.matmul(w) }),
            ("matmul of a broadcast batch", [1, 10, 33], [3, 33, 17], true, false, { x, w in x.matmul(w) }),
            ("matmul of a matrix by a batch", [10, 33], [3, 33, 17], true, false, { x, w in x.matmul(w) }),
            ("matmul of a vector", [33], [33, 17], true, true, { x, w in x.matmul(w) }),
            ("matmul by a vector", [10, 33], [33], true, true, { x, w in x.matmul(w) }),
            ("matmul by a computed weight", [40, 33], [64, 33], true, true, { x, w in x.matmul((w * 0.75).t) }),
            ("matmul of a weight, used twice", [9, 37], [21, 37], true, true, { x, w in w.matmul(x.t).t.matmul(w) }),
        ]
        for products in Products.here {
            for c in cases {
                let name = "\(products) \(c.name)"
                let parts = ["output", "weight gradient"] + (c.inputGradient ? ["input gradient"] : [])
                let gradFn = assertRoundingInKernelsMatchesPasses(products, name, parts: parts) {
                    Descent.manualSeed(23)
                    let x0 = Tensor.randn(c.input).requiringGrad(c.inputGradient), weight = Tensor.randn(c.weight).requiringGrad()
                    let y = withAutocast { c.product(x0 * 1.5, weight) }
                    (y * Tensor.randn(y.shape)).sum().backward()
                    return (y.gradFn, [y.scalars, weight.grad!.scalars] + (c.inputGradient ? [x0.grad!.scalars] : []))
                }
                XCTAssertEqual(gradFn.passes, "BFloat16RoundBackward", name)
                XCTAssertEqual(gradFn.kernels == "BFloat16RoundBackward", !(c.kernels && products != .emulated), name)
            }
        }
    }

    /// bfloat16 tensors multiply on the kernel (float32 sums, the result rounded once), also
    /// with a transposed operand, a batch against a shared matrix and a batch against a batch.
    func testBFloat16TensorProduct() {
        for dot in [true, false] {  // on the kernel (where the CPU has it), and on float32 copies
            Kernels.bfloat16DotProducts = dot
            Descent.manualSeed(2)
            let a = Tensor.randn([70, 300]).to(.bfloat16), b = Tensor.randn([300, 45]).to(.bfloat16)
            let a3 = a.reshape([2, 35, 300]), b3 = Tensor.randn([2, 300, 45]).to(.bfloat16)
            for (y, expected) in [(a.matmul(b), a.float().matmul(b.float())),
                                  (a.t.matmul(b.slice(dim: 0, 0..<70)), a.float().t.matmul(b.float().slice(dim: 0, 0..<70))),
                                  (a3.matmul(b), a3.float().matmul(b.float())), (a3.matmul(b3), a3.float().matmul(b3.float()))] {
                XCTAssertEqual(y.dtype, .bfloat16)
                XCTAssertEqual(y.shape, expected.shape)
                let scale = expected.abs().max().item
                XCTAssertLessThanOrEqual((y.float() - expected).abs().max().item / scale, 0x1p-8, "dot products \(dot)")
            }
        }
    }
}
