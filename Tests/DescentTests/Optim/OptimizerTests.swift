import Descent
import XCTest

/// SGD, Adam and AdamW against PyTorch: the parameter after each of three steps with fixed
/// gradients (Tests/Fixtures/optim.safetensors, Scripts/make_fixtures.py `optim()`).
final class OptimizerTests: XCTestCase {
    func testStepsMatchPyTorch() throws {
        let f = try Fixtures.load("optim.safetensors")
        let makers: [String: ([Tensor]) -> (step: () -> Void, Void)] = [
            "sgd": { p in (SGD(p, lr: 0.1).step, ()) },
            "sgd_momentum_wd": { p in (SGD(p, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01).step, ()) },
            "sgd_nesterov": { p in (SGD(p, lr: 0.05, momentum: 0.8, nesterov: true).step, ()) },
            "adam": { p in (Adam(p, lr: 0.01).step, ()) },
            "adam_wd": { p in (Adam(p, lr: 0.02, betas: (0.8, 0.9), eps: 1e-6, weightDecay: 0.1).step, ()) },
            "adamw": { p in (AdamW(p, lr: 0.02, weightDecay: 0.1).step, ()) },
        ]
        XCTAssertEqual(Set(makers.keys), Set(f.metadata.keys))
        for (name, make) in makers.sorted(by: { $0.key < $1.key }) {
            let p = f["p0"]!.clone().requiringGrad()
            let step = make([p]).step
            for i in 0..<3 {
                p.grad = f["grad\(i)"]!.clone()
                step()
                assertClose(p, f["\(name)/step\(i)"]!, rtol: 1e-5, atol: 1e-6, "\(name) [\(f.metadata[name]!)] after step \(i + 1)")
            }
        }
    }
}
