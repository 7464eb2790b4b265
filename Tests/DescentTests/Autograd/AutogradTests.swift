@testable import Descent
import XCTest

final class AutogradTests: XCTestCase {
    func testGradientsAccumulateOnLeavesUntilZeroed() {
        let w = Tensor(shape: [3], scalars: [1, 2, 3] as [Float]).requiringGrad()
        (w * w).sum().backward()
        (w * 3).sum().backward()
        XCTAssertEqual(w.grad!.scalars, [5, 7, 9])  // 2w + 3
        w.zeroGrad()
        XCTAssertNil(w.grad)
        w.sum().backward()
        XCTAssertEqual(w.grad!.scalars, [1, 1, 1])
    }

    func testExplicitGradientForNonScalarOutput() {
        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float]).requiringGrad()
        let y = x * x
        y.backward(Tensor(shape: [2, 2], scalars: [1, 0, 0, 2] as [Float]))
        XCTAssertEqual(x.grad!.scalars, [2, 0, 0, 16])
    }

    func testBackwardFreesGraphUnlessRetained() {
        let x = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGrad()
        let y = (x.exp() * 2).sum()
        y.backward(retainGraph: true)
        XCTAssertFalse(y.gradNode!.released)
        y.backward()
        XCTAssertEqual(x.grad!.toArray(Double.self)[0], 4 * Foundation.exp(1.0), accuracy: 1e-5)
        XCTAssertTrue(y.gradNode!.released, "the graph is freed after a backward without retainGraph")
        XCTAssertTrue(y.gradNode!.inputs.isEmpty && y.gradNode!.backward == nil)
    }

    func testNoGradRecordsNothing() {
        let x = Tensor.randn([3]).requiringGrad()
        let y = withNoGrad { (x * 2).exp().sum() }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.gradNode)
        XCTAssertTrue(isGradEnabled)
        // Inputs that do not require a gradient record nothing either.
        let z = (Tensor.randn([3]) * 2).exp()
        XCTAssertNil(z.gradNode)
    }

    func testDetachCutsTheGraphAndSharesData() {
        let x = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGrad()
        let d = (x * 2).detach()
        XCTAssertFalse(d.requiresGrad)
        XCTAssertTrue(d.isLeaf)
        let y = x * 2
        let e = y.detach()
        XCTAssertTrue(e.storage === y.storage)
    }

    func testRetainGradOnNonLeaf() {
        let x = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGrad()
        let h = x * 3
        h.retainGrad()
        (h * h).sum().backward()
        XCTAssertEqual(h.grad!.scalars, [6, 12])
        XCTAssertEqual(x.grad!.scalars, [18, 36])
    }

    func testGradFnNamesAndLeafFlags() {
        let x = Tensor.randn([2]).requiringGrad()
        let y = x + x
        XCTAssertTrue(x.isLeaf)
        XCTAssertFalse(y.isLeaf)
        XCTAssertEqual(y.gradFn, "AddBackward")
        XCTAssertNil(x.gradFn)
    }

    func testDiamondGraphSumsBothPaths() {
        let x = Tensor(shape: [1], scalars: [2] as [Double]).requiringGrad()
        let a = x * x, b = x.exp()
        (a * b).sum().backward()
        // d/dx x² eˣ = (2x + x²) eˣ
        XCTAssertEqual(x.grad!.toArray(Double.self)[0], (4 + 4) * Foundation.exp(2.0), accuracy: 1e-9)
    }

    func testLongChainRunsBackwardAndFreesWithoutStackOverflow() {
        let x = Tensor(shape: [1], scalars: [1] as [Float]).requiringGrad()
        var y = x
        for _ in 0..<100_000 { y = y * 1.0 }
        y.sum().backward()
        XCTAssertEqual(x.grad!.scalars, [1])
        // A second chain dropped without a backward pass is freed iteratively too.
        var z = x
        for _ in 0..<100_000 { z = z + 0 }
        z = Tensor.zeros([1])
        XCTAssertEqual(z.count, 1)
    }

    func testBroadcastGradientIsSummedToInputShape() {
        let b = Tensor.zeros([1, 4]).requiringGrad()
        (Tensor.ones([3, 4]) + b).sum().backward()
        XCTAssertEqual(b.grad!.shape, [1, 4])
        XCTAssertEqual(b.grad!.scalars, [3, 3, 3, 3])
    }

    /// A leaf's first gradient becomes its `grad` without a copy only when nothing else
    /// references it: not the caller, not another leaf, not a view of the same buffer; and a
    /// window of a larger buffer is copied rather than keeping the buffer alive.
    func testFirstGradientIsTakenOnlyWhenNothingElseReferencesIt() {
        let fresh = Tensor.randn([2, 3]), freshStorage = ObjectIdentifier(fresh.storage)
        let a = Tensor.randn([2, 3]).requiringGrad()
        Autograd.accumulate(consume fresh, into: a)
        XCTAssertEqual(ObjectIdentifier(a.grad!.storage), freshStorage)

        let held = Tensor.randn([2, 3]), b = Tensor.randn([2, 3]).requiringGrad()
        Autograd.accumulate(held, into: b)
        XCTAssertFalse(b.grad!.storage === held.storage)
        XCTAssertEqual(b.grad!.scalars, held.scalars)

        let base = Tensor.randn([6]), c = Tensor.randn([2, 3]).requiringGrad()
        let view = base.reshape([2, 3])
        Autograd.accumulate(consume view, into: c)
        XCTAssertFalse(c.grad!.storage === base.storage)

        let d = Tensor.randn([2, 3]).requiringGrad()
        Autograd.accumulate(Tensor.randn([4, 3]).narrow(dim: 0, start: 0, length: 2), into: d)
        XCTAssertEqual(d.grad!.storage.count, 6)

        // x + y hands the same gradient (the caller's seed) to both leaves: three buffers, and
        // writing one grad changes neither the other nor the seed.
        let x = Tensor.zeros([3]).requiringGrad(), y = Tensor.zeros([3]).requiringGrad()
        let seed = Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        (x + y).backward(seed)
        XCTAssertFalse(x.grad!.storage === y.grad!.storage)
        XCTAssertFalse(x.grad!.storage === seed.storage || y.grad!.storage === seed.storage)
        x.grad!.storage.typed(Float.self)[0] = 100
        XCTAssertEqual(y.grad!.scalars, [1, 2, 3])
        XCTAssertEqual(seed.scalars, [1, 2, 3])
    }

    /// Runs backward from `out` through a rule that hands it a fresh gradient of `upstream`
    /// (kept only weakly here, so that nothing but the engine holds it) and returns whether that
    /// very tensor became `leaf`'s grad: whether the rules in between wrote over it.
    private func backwardTakesFreshGradient(_ out: Tensor, _ upstream: [Float], leaf: Tensor) -> Bool {
        weak var handed: Tensor?
        let z = out.detach(), shape = out.shape
        z.record("Fresh", [out]) { _ in
            let t = Tensor(shape: shape, scalars: upstream)
            handed = t
            return [t]
        }
        z.backward(Tensor.ones(shape))
        return leaf.grad != nil && leaf.grad! === handed
    }

    /// ReLU's backward writes over its incoming gradient only where the engine holds the only
    /// reference to it (`ThreadState.disposableGradient`): a fresh gradient from the rule after
    /// it becomes the leaf's `grad` itself, masked; the caller's seed, a retained gradient and
    /// a gradient that also flows elsewhere keep their values.
    func testReluBackwardOverwritesOnlyAGradientNothingElseHolds() {
        let values: [Float] = [-1, 2, -3, 4, 0, 6], upstream: [Float] = [10, 20, 30, 40, 50, 60]
        let masked: [Float] = [0, 20, 0, 40, 0, 60]
        let x = Tensor(shape: [6], scalars: values).requiringGrad()
        XCTAssertTrue(backwardTakesFreshGradient(x.relu(), upstream, leaf: x),
                      "the fresh gradient was masked in place and taken as the leaf's grad")
        XCTAssertEqual(x.grad!.scalars, masked)

        // The seed is the caller's.
        let a = Tensor(shape: [6], scalars: values).requiringGrad(), seed = Tensor(shape: [6], scalars: upstream)
        a.relu().backward(seed)
        XCTAssertEqual(a.grad!.scalars, masked)
        XCTAssertEqual(seed.scalars, upstream)

        // A retained gradient is the user's too.
        let b = Tensor(shape: [6], scalars: values).requiringGrad()
        let r = b.relu()
        r.retainGrad()
        (r * Tensor(shape: [6], scalars: upstream)).sum().backward()
        XCTAssertEqual(b.grad!.scalars, masked)
        XCTAssertEqual(r.grad!.scalars, upstream)

        // u + u: the engine sums the two gradients into a buffer of its own, which the ReLU may
        // mask in place. s.relu() + s.tanh(): the sum's rule hands one gradient to both, so the
        // ReLU must leave it for the tanh.
        let c = Tensor(shape: [6], scalars: values).requiringGrad()
        let u = c.relu()
        (u + u).backward(Tensor(shape: [6], scalars: upstream))
        XCTAssertEqual(c.grad!.scalars, masked.map { 2 * $0 })
        let d = Tensor(shape: [6], scalars: values).requiringGrad()
        let s = d * 1
        let v = s.relu() + s.tanh()
        v.backward(Tensor(shape: [6], scalars: upstream))
        let t: [Float] = s.tanh().scalars
        for i in 0..<6 {
            let want: Float = masked[i] + upstream[i] * (1 - t[i] * t[i])
            XCTAssertEqual((d.grad!.scalars as [Float])[i], want, accuracy: 1e-3)
        }
    }

    /// tanh's and sigmoid's backward write g·(1 − y²) and g·y·(1 − y) over a fresh gradient that
    /// nothing else holds (which becomes the leaf's grad itself), and leave the caller's seed and
    /// a retained gradient as they were; the values are those of the rule into a buffer of its own.
    func testTanhAndSigmoidBackwardOverwriteOnlyAGradientNothingElseHolds() {
        let values: [Float] = [-1.5, -0.25, 0, 0.5, 1, 2], upstream: [Float] = [10, 20, 30, 40, 50, 60]
        for (name, f) in [("tanh", { (t: Tensor) in t.tanh() }), ("sigmoid", { (t: Tensor) in t.sigmoid() })] {
            let y = f(Tensor(shape: [6], scalars: values)).scalars as [Float]
            let want = (0..<6).map { i -> Float in
                name == "tanh" ? upstream[i] * (1 - y[i] * y[i]) : upstream[i] * y[i] * (1 - y[i])
            }
            let x = Tensor(shape: [6], scalars: values).requiringGrad()
            XCTAssertTrue(backwardTakesFreshGradient(f(x), upstream, leaf: x),
                          "\(name): the fresh gradient was written over and taken as the leaf's grad")
            XCTAssertEqual(x.grad!.scalars, want, name)

            let a = Tensor(shape: [6], scalars: values).requiringGrad(), seed = Tensor(shape: [6], scalars: upstream)
            f(a).backward(seed)
            XCTAssertEqual(a.grad!.scalars, want, name)
            XCTAssertEqual(seed.scalars, upstream, "\(name): the seed is the caller's")

            let b = Tensor(shape: [6], scalars: values).requiringGrad()
            let r = f(b)
            r.retainGrad()
            (r * Tensor(shape: [6], scalars: upstream)).sum().backward()
            XCTAssertEqual(b.grad!.scalars, want, name)
            XCTAssertEqual(r.grad!.scalars, upstream, "\(name): a retained gradient is the user's")
        }
    }

    /// A product with one side needing a gradient (dropout's mask) writes g times the other side
    /// over a fresh gradient nothing else holds (taken as the leaf's grad itself); the seed keeps
    /// its values, and with both sides needing one, or with broadcasting, each gets its own.
    func testMulBackwardOverwritesOnlyAGradientNothingElseHolds() {
        let values: [Float] = [1, -2, 3, -4, 5, -6], mask: [Float] = [2, 0, 2, 2, 0, 2]
        let upstream: [Float] = [10, 20, 30, 40, 50, 60]
        let want = (0..<6).map { upstream[$0] * mask[$0] }
        let x = Tensor(shape: [6], scalars: values).requiringGrad(), m = Tensor(shape: [6], scalars: mask)
        XCTAssertTrue(backwardTakesFreshGradient(m * x, upstream, leaf: x),
                      "the fresh gradient was multiplied in place and taken as the leaf's grad")
        XCTAssertEqual(x.grad!.scalars, want)

        let a = Tensor(shape: [6], scalars: values).requiringGrad(), seed = Tensor(shape: [6], scalars: upstream)
        (a * m).backward(seed)
        XCTAssertEqual(a.grad!.scalars, want)
        XCTAssertEqual(seed.scalars, upstream, "the seed is the caller's")

        // Both sides: g is read twice, so neither writes over it.
        let b = Tensor(shape: [6], scalars: values).requiringGrad(), c = Tensor(shape: [6], scalars: mask).requiringGrad()
        (b * c * 1).backward(Tensor(shape: [6], scalars: upstream))
        XCTAssertEqual(b.grad!.scalars, want)
        XCTAssertEqual(c.grad!.scalars, (0..<6).map { upstream[$0] * values[$0] })
        // A broadcast scalar side: its gradient sums over g.
        let d = Tensor(shape: [6], scalars: values).requiringGrad(), s = Tensor(shape: [1], scalars: [3] as [Float]).requiringGrad()
        (d * s * 1).backward(Tensor(shape: [6], scalars: upstream))
        XCTAssertEqual(d.grad!.scalars, upstream.map { 3 * $0 })
        XCTAssertEqual(s.grad!.scalars, [(0..<6).map { upstream[$0] * values[$0] }.reduce(0, +)])
    }

    /// Batch norm's input gradient is written over its incoming gradient where nothing else holds
    /// it (then taken as the leaf's grad itself), with the values it has in a buffer of its own;
    /// the caller's seed keeps its values.
    func testBatchNormBackwardOverwritesOnlyAGradientNothingElseHolds() {
        Descent.manualSeed(5)
        let bn = BatchNorm2d(3)
        let x0 = Tensor.randn([2, 3, 4, 5]), upstream = Tensor.randn([2, 3, 4, 5])
        let kept = upstream.scalars as [Float]
        let a = x0.detach().requiringGrad()
        bn(a).backward(upstream)
        XCTAssertEqual(upstream.scalars as [Float], kept)
        let b = x0.detach().requiringGrad()
        XCTAssertTrue(backwardTakesFreshGradient(bn(b), kept, leaf: b), "the fresh gradient became the input's gradient in place")
        XCTAssertEqual(b.grad!.scalars as [Float], a.grad!.scalars as [Float])
    }

    /// Two gradients of one tensor are summed in place into the one nothing else holds (a rule's
    /// fresh buffer, then the leaf's grad itself), never into one a rule or user still holds;
    /// whichever of the two arrives first.
    func testGradientsOfOneTensorSumInPlaceOnlyIntoABufferNothingElseHolds() {
        for heldFirst in [true, false] {
            let held = Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
            weak var handed: Tensor?
            let x = Tensor.zeros([3]).requiringGrad()
            let p = x.detach(), q = x.detach()
            p.record("Held", [x]) { _ in [held] }
            q.record("Fresh", [x]) { _ in
                let t = Tensor(shape: [3], scalars: [10, 20, 30] as [Float])
                handed = t
                return [t]
            }
            (heldFirst ? p + q : q + p).backward(Tensor.ones([3]))
            XCTAssertEqual(x.grad!.scalars, [11, 22, 33], "held first: \(heldFirst)")
            XCTAssertEqual(held.scalars, [1, 2, 3], "held first: \(heldFirst)")
            XCTAssertTrue(x.grad! === handed, "held first: \(heldFirst): the fresh buffer holds the sum")
        }
        // Both held: the sum is a buffer of its own.
        let a = Tensor(shape: [3], scalars: [1, 2, 3] as [Float]), b = Tensor(shape: [3], scalars: [10, 20, 30] as [Float])
        let x = Tensor.zeros([3]).requiringGrad()
        let p = x.detach(), q = x.detach()
        p.record("HeldA", [x]) { _ in [a] }
        q.record("HeldB", [x]) { _ in [b] }
        (p + q).backward(Tensor.ones([3]))
        XCTAssertEqual(x.grad!.scalars, [11, 22, 33])
        XCTAssertEqual(a.scalars, [1, 2, 3])
        XCTAssertEqual(b.scalars, [10, 20, 30])
    }

    func testCastBackwardReturnsGradientInInputDtype() {
        let x = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGrad()
        (x.double() * x.double()).sum().backward()
        XCTAssertEqual(x.grad!.dtype, .float32)
        XCTAssertEqual(x.grad!.scalars, [2, 4])
    }
}

import Foundation
