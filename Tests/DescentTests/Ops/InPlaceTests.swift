@testable import Descent
import XCTest

/// The in-place updates of Ops/InPlace.swift that the optimizers use.
final class InPlaceTests: XCTestCase {
    /// `a.addAssign(b, alpha:)` is a + α·b with the product rounded before the sum (no fused
    /// multiply-add), bit for bit, on the vectorized C loop (contiguous float32: 1, 17 and 70 001
    /// elements, the last split over the threads), on the generic loop (b broadcast, a strided
    /// view), and with b the same tensor as a.
    func testAddAssignRoundsTheProductThenTheSum() {
        let alpha: Float = 0.3
        Descent.manualSeed(8)
        for n in [1, 17, 70_001] {
            let a = Tensor.randn([n]), b = Tensor.randn([n])
            let expected = zip(a.scalars, b.scalars).map { x, y in x + alpha * y }
            // A fused multiply-add rounds some of these otherwise, so the check can tell.
            let fused = zip(a.scalars, b.scalars).map { x, y in x.addingProduct(alpha, y) }
            if n > 1000 { XCTAssertNotEqual(fused, expected, "values that tell a fused multiply-add from the rounded product") }
            a.addAssign(b, alpha: Double(alpha))
            XCTAssertEqual(a.scalars, expected, "\(n) elements")
        }
        let a = Tensor.randn([3, 40]), row = Tensor.randn([1, 40])
        let expected = a.scalars.enumerated().map { $0.element + alpha * row.scalars[$0.offset % 40] }
        a.addAssign(row, alpha: Double(alpha))
        XCTAssertEqual(a.scalars, expected, "broadcast")
        let base = Tensor.randn([40, 2]), column = base.select(dim: 1, index: 0), other = Tensor.randn([40])
        let expectedColumn = zip(column.scalars, other.scalars).map { x, y in x + alpha * y }
        column.addAssign(other, alpha: Double(alpha))
        XCTAssertEqual(base.select(dim: 1, index: 0).scalars, expectedColumn, "strided view")
        let c = Tensor.randn([5000]), before = c.scalars
        c.addAssign(c, alpha: Double(alpha))
        XCTAssertEqual(c.scalars, before.map { $0 + alpha * $0 }, "b the same tensor as a")
    }
}
