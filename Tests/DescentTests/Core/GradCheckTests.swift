import Descent
import XCTest

/// Float64 central-difference checks of the backward rule of every differentiable op.
final class GradCheckTests: XCTestCase {
    override func setUp() { Descent.manualSeed(42) }

    private func x(_ shape: Int...) -> Tensor { Tensor.randn(shape, dtype: .float64) }
    /// Values in [0.5, 1.5): away from 0 for log, sqrt, division.
    private func positive(_ shape: Int...) -> Tensor { Tensor.uniform(shape, low: 0.5, high: 1.5, dtype: .float64) }
    /// Values whose magnitudes are at least 0.1 (away from kinks at 0).
    private func awayFromZero(_ shape: Int...) -> Tensor {
        let t = Tensor.randn(shape, dtype: .float64)
        return t + t.sign() * 0.1
    }

    private func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                       _ f: @escaping ([Tensor]) -> Tensor) {
        let r = gradcheck(inputs, f)
        XCTAssertTrue(r.passed, "\(name): \(r)", file: file, line: line)
    }

    func testArithmetic() {
        check("add broadcast", [x(3, 1, 4), x(2, 4)]) { $0[0] + $0[1] }
        check("sub broadcast", [x(2, 3), x(3, 1, 1)]) { $0[0] - $0[1] }
        check("mul broadcast", [x(5, 1), x(1, 6)]) { $0[0] * $0[1] }
        check("div", [x(2, 3), positive(3)]) { $0[0] / $0[1] }
        check("pow tensor", [positive(3, 4), x(4)]) { $0[0].pow($0[1]) }
        check("pow scalar", [x(5)]) { $0[0].pow(3) }
        check("maximum", [x(4, 5), x(5)]) { $0[0].maximum($0[1]) }
        check("minimum", [x(4, 5), x(4, 1)]) { $0[0].minimum($0[1]) }
        check("scalar forms", [positive(4)]) { 2 / $0[0] + (1 - $0[0]) * 3 }
    }

    func testUnary() {
        check("neg", [x(3, 4)]) { $0[0].neg() }
        check("abs", [awayFromZero(3, 4)]) { $0[0].abs() }
        check("exp", [x(3, 4)]) { $0[0].exp() }
        check("log", [positive(3, 4)]) { $0[0].log() }
        check("sqrt", [positive(3, 4)]) { $0[0].sqrt() }
        check("rsqrt", [positive(3, 4)]) { $0[0].rsqrt() }
        check("sin", [x(3, 4)]) { $0[0].sin() }
        check("cos", [x(3, 4)]) { $0[0].cos() }
        check("tanh", [x(3, 4)]) { $0[0].tanh() }
        check("sigmoid", [x(3, 4)]) { $0[0].sigmoid() }
        check("relu", [awayFromZero(3, 4)]) { $0[0].relu() }
        check("clamp", [Tensor(shape: [4], scalars: [-2.0, -0.3, 0.2, 1.7])]) { $0[0].clamp(min: -1, max: 1) }
        check("where", [x(3, 4), x(4)]) { Tensor.where(Tensor(shape: [3, 1], scalars: [1.0, 0, 1]), $0[0], $0[1]) }
    }

    func testReductions() {
        check("sum dims", [x(3, 4, 5)]) { $0[0].sum(dims: [0, 2], keepDim: true) }
        check("mean", [x(3, 4)]) { $0[0].mean(dim: 1) }
        check("variance", [x(3, 6)]) { $0[0].variance(dim: 1) }
        check("std biased", [x(5, 3)]) { $0[0].std(dim: 0, correction: 0) }
        check("max dim", [x(4, 6)]) { $0[0].max(dim: 1).values }
        check("min dim", [x(4, 6)]) { $0[0].min(dim: 0, keepDim: true).values }
        check("amax", [x(3, 4, 5)]) { $0[0].amax(dims: [0, 2]) }
        check("prod", [x(3, 4)]) { $0[0].prod(dim: 1) }
        check("prod with a zero", [Tensor(shape: [2, 3], scalars: [1.0, 0, 3, 0.5, 2, -1])]) { $0[0].prod(dim: 1) }
        check("logsumexp", [x(2, 3, 4)]) { $0[0].logsumexp(dims: [1, 2]) }
    }

    func testMatmul() {
        check("1d·1d", [x(5), x(5)]) { $0[0].matmul($0[1]) }
        check("1d·2d", [x(5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("2d·1d", [x(4, 5), x(5)]) { $0[0].matmul($0[1]) }
        check("2d·2d", [x(4, 5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("batched broadcast", [x(2, 1, 4, 5), x(3, 5, 2)]) { $0[0].matmul($0[1]) }
        check("3d·2d", [x(2, 4, 5), x(5, 3)]) { $0[0].matmul($0[1]) }
        check("transposed", [x(5, 4), x(3, 5)]) { $0[0].t.matmul($0[1].t) }
    }

    func testViewsAndJoins() {
        check("permute", [x(2, 3, 4)]) { $0[0].permute(2, 0, 1) * Tensor.arange(0, 24, dtype: .float64).reshape(4, 2, 3) }
        check("reshape non-contiguous", [x(3, 4)]) { $0[0].t.reshape(-1) * Tensor.arange(0, 12, dtype: .float64) }
        check("expand", [x(3, 1)]) { $0[0].expand(3, 4) * Tensor.arange(0, 12, dtype: .float64).reshape(3, 4) }
        check("narrow", [x(3, 4)]) { $0[0].narrow(dim: 1, start: 1, length: 2).exp() }
        check("select", [x(3, 4)]) { $0[0][1] * 3 }
        check("squeeze/unsqueeze", [x(3, 1, 4)]) { $0[0].squeeze(dim: 1).unsqueeze(0).sin() }
        check("cat", [x(2, 3), x(2, 2)]) { Tensor.cat([$0[0], $0[1]], dim: 1).sin() }
        check("stack", [x(2, 3), x(2, 3)]) { Tensor.stack([$0[0], $0[1]], dim: 1).sin() }
        check("split", [x(2, 4)]) { $0[0].split(sizes: [1, 3], dim: 1)[1].exp() }
        check("chunk", [x(5, 2)]) { $0[0].chunk(3)[2].exp() }
        check("pad", [x(2, 3, 4)]) { $0[0].pad([1, 2, 0, 1], value: 0.5).sin() }
        check("pad negative", [x(2, 4)]) { $0[0].pad([-1, 1]).sin() }
        check("contiguous", [x(3, 4)]) { $0[0].t.contiguous().sin() }
    }

    func testIndexing() {
        let idx = Tensor(shape: [3], scalars: [2, 0, 2] as [Int64])
        let gidx = Tensor(shape: [2, 3], scalars: [0, 2, 2, 1, 1, 0] as [Int64])
        check("indexSelect", [x(4, 3)]) { $0[0].indexSelect(dim: 0, index: idx).sin() }
        check("gather", [x(2, 4)]) { $0[0].gather(dim: 1, index: gidx).sin() }
        check("scatterAdd", [x(2, 4), x(2, 3)]) { $0[0].scatterAdd(dim: 1, index: gidx, source: $0[1]).sin() }
    }

    func testGradcheckCatchesAWrongRule() {
        // A function whose recorded gradient is wrong (detach hides a factor) must fail the check.
        let r = gradcheck([x(3)]) { $0[0] * $0[0].detach() }
        XCTAssertFalse(r.passed)
    }
}
