import Descent
import XCTest

/// `clipGradNorm` and `clipGradValue` against `torch.nn.utils.clip_grad_norm_` and
/// `clip_grad_value_` (Tests/Fixtures/clipping.safetensors).
final class ClippingTests: XCTestCase {
    static let norms: [String: (maxNorm: Double, normType: Double)] = [
        "l2": (1, 2), "l1": (2, 1), "inf": (0.5, .infinity), "l3": (1.5, 3), "no_clip": (100, 2),
    ]

    private func parameters(_ f: SafeTensors) -> [Tensor] {
        (0..<3).map { k in
            let p = Tensor.zeros(like: f["g\(k)"]!).requiringGrad()
            p.grad = f["g\(k)"]!.clone()
            return p
        }
    }

    func testClipGradNormMatchesPyTorch() throws {
        let f = try Fixtures.load("clipping.safetensors")
        assertSameCases(fixture: Set(f.metadata.keys), swift: Set(Self.norms.keys).union(["value"]))
        for (name, (maxNorm, normType)) in Self.norms.sorted(by: { $0.key < $1.key }) {
            let ps = parameters(f)
            let total = try clipGradNorm(ps, maxNorm: maxNorm, normType: normType)
            XCTAssertEqual(total, f["\(name)/total"]!.itemDouble, accuracy: 1e-5 * total, "\(name) [\(f.metadata[name]!)] total norm")
            for (k, p) in ps.enumerated() { assertClose(p.grad!, f["\(name)/g\(k)"]!, rtol: 1e-5, atol: 1e-6, "\(name) g\(k)") }
        }
        let ps = parameters(f)
        clipGradValue(ps, clipValue: 1.25)
        for (k, p) in ps.enumerated() { assertClose(p.grad!, f["value/g\(k)"]!, "value g\(k)") }
    }

    /// With errorIfNonfinite a NaN or infinite norm throws and the gradients stay as they were.
    func testNonFiniteNormIsRefused() {
        let p = Tensor.zeros([3]).requiringGrad(), q = Tensor.zeros([2]).requiringGrad()
        p.grad = Tensor([1, Float.infinity, 2] as [Float])
        q.grad = Tensor([3, 4] as [Float])
        XCTAssertThrowsError(try clipGradNorm([p, q], maxNorm: 1, errorIfNonfinite: true)) { error in
            XCTAssertEqual(error as? NonFiniteGradientError, NonFiniteGradientError(norm: .infinity))
        }
        XCTAssertEqual(q.grad!.scalars, [3, 4])
        q.grad = Tensor([Float.nan, 1] as [Float])
        XCTAssertThrowsError(try clipGradNorm([q], maxNorm: 1, errorIfNonfinite: true))
        XCTAssertEqual(try clipGradNorm([Tensor.zeros([1]).requiringGrad()], maxNorm: 1), 0, "no gradients: norm 0")
    }
}
