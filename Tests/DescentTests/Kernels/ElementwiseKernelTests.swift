import CDescentKernels
@testable import Descent
import XCTest

/// The float32 loops that the elementwise ops hand to C, vectorized for the CPU: the arithmetic
/// of the binary loops (`dk_binary_f32`) and the sums of rows (`dk_sum_rows_f32`), bit for bit
/// against Swift's scalar arithmetic on the same values; and batch norm's two gradient sums in
/// one pass against its two kernels.
final class ElementwiseKernelTests: XCTestCase {
    /// +, −, ×, ÷ of same-shaped tensors, with a row, a column and one value broadcast on either
    /// side, and in place (the engine's gradient sums, `mulAssign`), and a view read backwards;
    /// with zeros of both signs, infinities, NaN and subnormals among the values.
    func testFloat32ArithmeticMatchesSwift() {
        Descent.manualSeed(4)
        let specials: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude / 3, 1e30, -1e-30]
        var av = Tensor.randn([37, 129]).scalars, bv = Tensor.randn([37, 129]).scalars
        for (i, s) in specials.enumerated() {
            av[i * 131] = s
            bv[i * 157 + 3] = s
            bv[i * 7] = specials[(i + 4) % specials.count]
        }
        let a = Tensor(shape: [37, 129], scalars: av), b = Tensor(shape: [37, 129], scalars: bv)
        let row = Tensor(shape: [1, 129], scalars: Array(bv[0..<129])), column = Tensor(shape: [37, 1], scalars: Array(bv[0..<37]))
        let one = Tensor(shape: [], scalars: [bv[5]])
        func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }
        func expected(_ x: [Float], _ y: (Int) -> Float, _ f: (Float, Float) -> Float) -> [UInt32] {
            x.enumerated().map { f($0.element, y($0.offset)).bitPattern }
        }
        let ops: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] = [
            ("+", { $0 + $1 }, { $0 + $1 }), ("-", { $0 - $1 }, { $0 - $1 }), ("*", { $0 * $1 }, { $0 * $1 }), ("/", { $0 / $1 }, { $0 / $1 }),
        ]
        for (name, op, f) in ops {
            XCTAssertEqual(bits(op(a, b)), expected(av, { bv[$0] }, f), "\(name) same shape")
            XCTAssertEqual(bits(op(a, row)), expected(av, { bv[$0 % 129] }, f), "\(name) row")
            XCTAssertEqual(bits(op(a, column)), expected(av, { bv[$0 / 129] }, f), "\(name) column")
            XCTAssertEqual(bits(op(a, one)), expected(av, { _ in bv[5] }, f), "\(name) one value on the right")
            XCTAssertEqual(bits(op(one, a)), av.map { f(bv[5], $0).bitPattern }, "\(name) one value on the left")
        }
        let sum = a.clone()
        Kernels.addInPlace(sum, b)
        XCTAssertEqual(bits(sum), expected(av, { bv[$0] }, +), "+= in place")
        let product = a.clone()
        product.mulAssign(row)
        XCTAssertEqual(bits(product), expected(av, { bv[$0 % 129] }, *), "*= a row in place")
        // A view read backwards (stride −1) is no case of the C loop: the generic loops take it.
        let firstRow = Array(av[0..<129]), reversed = Tensor(storage: row.storage, shape: [129], strides: [-1], offset: 128)
        XCTAssertEqual(bits(Tensor(shape: [129], scalars: firstRow) - reversed), expected(firstRow, { bv[128 - $0] }, -), "- a reversed view")
        let difference = Tensor(shape: [129], scalars: firstRow)
        Kernels.updateLoop(difference, reversed, NumericFn<Float, SubFn>())
        XCTAssertEqual(bits(difference), expected(firstRow, { bv[128 - $0] }, -), "-= a reversed view in place")
    }

    /// The sum over leading dims of a contiguous float32 tensor: each column summed in double in
    /// the order of the rows, then rounded to float32; widths across the kernel's blocks of 64
    /// columns, split over the threads.
    func testRowSumsMatchDoubleSums() {
        Descent.manualSeed(6)
        for (rows, cols) in [(1, 1), (300, 70), (17, 129), (1600, 512)] {
            let x = Tensor.randn([rows, cols]) * 3
            let v = x.scalars
            let expected = (0..<cols).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(v[$1 * cols + j]) }) }
            XCTAssertEqual(x.sum(dims: [0]).scalars, expected, "\(rows)×\(cols)")
        }
    }

    /// Σg and Σg·(x − mean) in one pass (`dk_sum_and_product_deviation_f32`, batch norm's
    /// backward) are the values of the two kernels, bit for bit: lengths below one vector block,
    /// with tails, and over several blocks of 1024.
    func testBatchNormGradientSumsInOnePassMatchTheTwoKernels() {
        Descent.manualSeed(9)
        for n in [1, 31, 32, 100, 1024, 1057, 4099] {
            let g = Tensor.randn([n]).scalars, x = (Tensor.randn([n]) * 2 + 0.5).scalars
            let mean = Float(x.reduce(0, +)) / Float(n)
            var sums = [0.0, 0.0]
            dk_sum_and_product_deviation_f32(Int64(n), g, x, mean, &sums)
            XCTAssertEqual(sums[0].bitPattern, dk_sum_f32(Int64(n), g).bitPattern, "Σg, \(n)")
            XCTAssertEqual(sums[1].bitPattern, dk_sum_product_deviation_f32(Int64(n), g, x, mean).bitPattern, "Σg·(x − mean), \(n)")
        }
    }
}
