import Descent
import XCTest

/// SGD, Adam and AdamW against PyTorch: the parameter after each of three steps with fixed
/// gradients (Tests/Fixtures/optim.safetensors, Scripts/make_fixtures.py `optim()`).
final class OptimizerTests: XCTestCase {
    func testStepsMatchPyTorch() throws {
        let f = try Fixtures.load("optim.safetensors")
        let makers: [String: ([Tensor]) -> any Optimizer] = [
            "sgd": { SGD($0, lr: 0.1) },
            "sgd_momentum_wd": { SGD($0, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) },
            "sgd_nesterov": { SGD($0, lr: 0.05, momentum: 0.8, nesterov: true) },
            "adam": { Adam($0, lr: 0.01) },
            "adam_wd": { Adam($0, lr: 0.02, betas: (0.8, 0.9), eps: 1e-6, weightDecay: 0.1) },
            "adamw": { AdamW($0, lr: 0.02, weightDecay: 0.1) },
        ]
        XCTAssertEqual(Set(makers.keys), Set(f.metadata.keys))
        for (name, make) in makers.sorted(by: { $0.key < $1.key }) {
            let p = f["p0"]!.clone().requiringGrad()
            let optimizer = make([p])
            XCTAssertTrue(optimizer.parameters[0] === p)
            for i in 0..<3 {
                optimizer.zeroGrad()
                XCTAssertNil(p.grad)
                p.grad = f["grad\(i)"]!.clone()
                optimizer.step()
                assertClose(p, f["\(name)/step\(i)"]!, rtol: 1e-5, atol: 1e-6, "\(name) [\(f.metadata[name]!)] after step \(i + 1)")
            }
        }
    }
}
