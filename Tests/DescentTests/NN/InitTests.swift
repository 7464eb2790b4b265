import Descent
import XCTest

/// Distribution checks (mean, variance, bounds over large tensors) for each initializer.
final class InitTests: XCTestCase {
    override func setUp() { Descent.manualSeed(123) }

    private func stats(_ t: Tensor) -> (mean: Double, std: Double, min: Double, max: Double) {
        (t.mean().itemDouble, t.std().itemDouble, t.min().itemDouble, t.max().itemDouble)
    }

    func testGains() {
        XCTAssertEqual(Init.calculateGain(.linear), 1)
        XCTAssertEqual(Init.calculateGain(.tanh), 5.0 / 3)
        XCTAssertEqual(Init.calculateGain(.relu), 2.0.squareRoot())
        XCTAssertEqual(Init.calculateGain(.leakyRelu, param: 0.2), (2 / 1.04).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Init.calculateGain(.selu), 0.75)
    }

    func testUniformFamilies() {
        let w = Tensor.zeros([400, 300])
        let xb = (6.0 / 700).squareRoot()
        var s = stats(Init.xavierUniform(w))
        XCTAssertLessThanOrEqual(s.max, xb); XCTAssertGreaterThanOrEqual(s.min, -xb)
        XCTAssertEqual(s.std, xb / 3.0.squareRoot(), accuracy: 0.01 * xb)
        XCTAssertEqual(s.mean, 0, accuracy: 0.01 * xb)
        // kaimingUniform with a = √5 (PyTorch's Linear default) has bound 1/√fanIn.
        let kb = 1 / 300.0.squareRoot()
        s = stats(Init.kaimingUniform(w, a: 5.0.squareRoot()))
        XCTAssertLessThanOrEqual(s.max, kb); XCTAssertGreaterThan(s.max, 0.99 * kb)
        XCTAssertEqual(s.std, kb / 3.0.squareRoot(), accuracy: 0.01 * kb)
        s = stats(Init.uniform(w, low: 2, high: 4))
        XCTAssertGreaterThanOrEqual(s.min, 2); XCTAssertLessThan(s.max, 4)
        XCTAssertEqual(s.mean, 3, accuracy: 0.01)
    }

    func testNormalFamilies() {
        let w = Tensor.zeros([200, 100, 3, 3])  // fanIn 900, fanOut 1800
        var s = stats(Init.kaimingNormal(w, mode: .fanOut, nonlinearity: .relu))
        XCTAssertEqual(s.std, (2.0 / 1800).squareRoot(), accuracy: 0.01 * (2.0 / 1800).squareRoot())
        XCTAssertEqual(s.mean, 0, accuracy: 0.001)
        s = stats(Init.xavierNormal(w, gain: 2))
        XCTAssertEqual(s.std, 2 * (2.0 / 2700).squareRoot(), accuracy: 0.01 * 2 * (2.0 / 2700).squareRoot())
        s = stats(Init.normal(w, mean: 1, std: 0.5))
        XCTAssertEqual(s.mean, 1, accuracy: 0.005)
        XCTAssertEqual(s.std, 0.5, accuracy: 0.005)
    }

    func testConstantsAndOrthogonal() {
        let w = Tensor.zeros([3, 4])
        XCTAssertEqual(Init.constant(w, 0.5).scalars, [Float](repeating: 0.5, count: 12))
        XCTAssertEqual(Init.ones(w).scalars, [Float](repeating: 1, count: 12))
        XCTAssertEqual(Init.zeros(w).scalars, [Float](repeating: 0, count: 12))
        for shape in [[6, 4], [4, 6], [5, 2, 3]] {
            let q = Init.orthogonal(Tensor.zeros(shape), gain: 2).reshape([shape[0], -1])
            // Rows (or columns, whichever are fewer) are orthogonal with norm 2.
            let gram = shape[0] <= q.shape[1] ? q.matmul(q.t) : q.t.matmul(q)
            assertClose(gram, Tensor.eye(gram.shape[0]) * 4, rtol: 0, atol: 1e-4, "orthogonal \(shape)")
        }
    }

    func testLayerDefaultsFollowPyTorch() {
        let l = Linear(400, 300)
        XCTAssertLessThanOrEqual(l.weight.abs().max().itemDouble, 1 / 20.0)
        XCTAssertEqual(l.weight.std().itemDouble, 1 / 20.0 / 3.0.squareRoot(), accuracy: 0.001)
        let c = Conv2d(16, 32, kernelSize: 3)
        XCTAssertLessThanOrEqual(c.weight.abs().max().itemDouble, 1 / 12.0)
        let t = ConvTranspose2d(16, 32, kernelSize: 3)
        XCTAssertLessThanOrEqual(t.weight.abs().max().itemDouble, 1 / (32.0 * 9).squareRoot())
        XCTAssertGreaterThan(t.weight.abs().max().itemDouble, 0.95 / (32.0 * 9).squareRoot())
        let e = Embedding(1000, 50)
        XCTAssertEqual(e.weight.std().itemDouble, 1, accuracy: 0.02)
        let bn = BatchNorm2d(3)
        XCTAssertEqual(bn.weight!.scalars, [1, 1, 1]); XCTAssertEqual(bn.runningVar!.scalars, [1, 1, 1])
    }
}
