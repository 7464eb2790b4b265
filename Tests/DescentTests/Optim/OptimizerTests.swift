import Descent
import XCTest

/// Every optimizer against PyTorch (Tests/Fixtures/optim.safetensors, Scripts/make_fixtures.py
/// `optim()`): two parameters in two groups, the second with its own options and without a
/// gradient at step 2; the parameters after each of 4 steps and the state dict at the end.
final class OptimizerTests: XCTestCase {
    typealias Maker = ([ParameterGroup]) -> any Optimizer

    /// (the second group's options, the optimizer) per fixture setting.
    static let settings: [String: (group1: (lr: Double?, weightDecay: Double?), make: Maker)] = [
        "sgd": ((nil, nil), { SGD($0, lr: 0.1) }),
        "sgd_momentum_wd": ((nil, nil), { SGD($0, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
        "sgd_nesterov": ((nil, nil), { SGD($0, lr: 0.05, momentum: 0.8, nesterov: true) }),
        "sgd_groups": ((0.5, 0), { SGD($0, lr: 0.1, momentum: 0.9, weightDecay: 0.05) }),
        "adam": ((nil, nil), { Adam($0, lr: 0.01) }),
        "adam_wd": ((nil, nil), { Adam($0, lr: 0.02, betas: (0.8, 0.9), eps: 1e-6, weightDecay: 0.1) }),
        "adam_amsgrad": ((nil, nil), { Adam($0, lr: 0.02, amsgrad: true) }),
        "adamw": ((nil, nil), { AdamW($0, lr: 0.02, weightDecay: 0.1) }),
        "adamw_groups": ((0.005, 0), { AdamW($0, lr: 0.02, weightDecay: 0.1, amsgrad: true) }),
        "rmsprop": ((nil, nil), { RMSprop($0, lr: 0.01) }),
        "rmsprop_full": ((nil, nil), { RMSprop($0, lr: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true) }),
        "rmsprop_groups": ((0.03, nil), { RMSprop($0, lr: 0.01, momentum: 0.3) }),
        "adagrad": ((nil, nil), { Adagrad($0, lr: 0.1) }),
        "adagrad_full": ((nil, nil), { Adagrad($0, lr: 0.1, lrDecay: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.2, eps: 1e-6) }),
    ]

    private func groups(_ name: String, _ p: Tensor, _ q: Tensor) -> [ParameterGroup] {
        let o = Self.settings[name]!.group1
        return [ParameterGroup([p]), ParameterGroup([q], lr: o.lr, weightDecay: o.weightDecay)]
    }

    /// Runs steps `range` of the fixture's gradients on `optimizer`.
    private func run(_ optimizer: any Optimizer, _ f: SafeTensors, _ p: Tensor, _ q: Tensor, steps: Range<Int>,
                     check name: String? = nil) {
        for i in steps {
            optimizer.zeroGrad()
            XCTAssertNil(p.grad)
            p.grad = f["grad\(i)"]!.clone()
            q.grad = f["qgrad\(i)"]?.clone()
            optimizer.step()
            if let name {
                assertClose(p, f["\(name)/p\(i)"]!, rtol: 1e-5, atol: 1e-6, "\(name) [\(f.metadata[name]!)] p after step \(i + 1)")
                assertClose(q, f["\(name)/q\(i)"]!, rtol: 1e-5, atol: 1e-6, "\(name) q after step \(i + 1)")
            }
        }
    }

    func testTrajectoriesAndStatesMatchPyTorch() throws {
        let f = try Fixtures.load("optim.safetensors")
        assertSameCases(fixture: Set(f.metadata.keys), swift: Set(Self.settings.keys))
        for name in Self.settings.keys.sorted() {
            let p = f["p0"]!.clone().requiringGrad(), q = f["q0"]!.clone().requiringGrad()
            let optimizer = Self.settings[name]!.make(groups(name, p, q))
            XCTAssertTrue(optimizer.parameters[0] === p && optimizer.parameters[1] === q)
            run(optimizer, f, p, q, steps: 0..<4, check: name)
            // The state dict holds PyTorch's buffers under PyTorch's names.
            let state = optimizer.stateDict()
            let expected = f.tensors.filter { $0.name.hasPrefix("\(name)/state.") }
            for (key, t) in expected {
                let ours = String(key.dropFirst(name.count + 1))
                guard let mine = state[ours] else { XCTFail("\(name): no \(ours) in the state dict (\(state.keys))"); continue }
                assertClose(mine.to(.float64), t.to(.float64), rtol: 1e-5, atol: 1e-6, "\(name) \(ours)")
            }
            XCTAssertEqual(Set(state.keys.filter { $0.hasPrefix("state.") }), Set(expected.map { String($0.name.dropFirst(name.count + 1)) }), name)
            XCTAssertEqual(state["param_groups.1.params"]!.toArray(Int64.self), [1])
        }
    }

    /// Saving the state after two steps and loading it into a new optimizer over copies of the
    /// parameters continues exactly as the uninterrupted run.
    func testStateDictResumesExactly() throws {
        let f = try Fixtures.load("optim.safetensors")
        for name in Self.settings.keys.sorted() {
            let p = f["p0"]!.clone().requiringGrad(), q = f["q0"]!.clone().requiringGrad()
            let first = Self.settings[name]!.make(groups(name, p, q))
            run(first, f, p, q, steps: 0..<2)
            let saved = first.stateDict()
            let p2 = p.detach().clone().requiringGrad(), q2 = q.detach().clone().requiringGrad()
            let second = Self.settings[name]!.make([ParameterGroup([p2]), ParameterGroup([q2])])  // options come from the state
            try second.loadStateDict(saved)
            run(first, f, p, q, steps: 2..<4)
            run(second, f, p2, q2, steps: 2..<4)
            XCTAssertEqual(p2.scalars, p.scalars, "\(name): resumed p")
            XCTAssertEqual(q2.scalars, q.scalars, "\(name): resumed q")
        }
    }

    func testLoadingAnotherOptimizersStateThrowsAndChangesNothing() throws {
        let p = Tensor.randn([3]).requiringGrad()
        let adam = Adam([p])
        p.grad = Tensor.ones([3])
        adam.step()
        let sgd = SGD([p], lr: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try sgd.loadStateDict(adam.stateDict())) { error in
            XCTAssertTrue("\(error)".contains("[SGD] cannot load this state dict: 'state.0."), "\(error)")
        }
        XCTAssertEqual(sgd.parameterGroups[0]["momentum"], 0.9)
        let other = Adam([Tensor.randn([4]).requiringGrad()])
        XCTAssertThrowsError(try other.loadStateDict(adam.stateDict())) { error in
            XCTAssertTrue("\(error)".contains("has shape (3,), but parameter 0 has shape (4,)"), "\(error)")
        }
        let two = Adam([Tensor.randn([3]).requiringGrad(), Tensor.randn([3]).requiringGrad()])
        XCTAssertThrowsError(try two.loadStateDict(adam.stateDict())) { error in
            XCTAssertTrue("\(error)".contains("group 0 should hold parameters 0..<2"), "\(error)")
        }
    }

    func testLearningRateAppliesToEveryGroup() {
        let a = Tensor.zeros([1]).requiringGrad(), b = Tensor.zeros([1]).requiringGrad()
        let opt = SGD([ParameterGroup([a]), ParameterGroup([b], lr: 0.5)], lr: 0.1)
        XCTAssertEqual(opt.parameterGroups.map(\.lr), [0.1, 0.5])
        opt.lr = 0.2
        XCTAssertEqual(opt.parameterGroups.map(\.lr), [0.2, 0.2])
        XCTAssertEqual(opt.parameters.count, 2)
    }
}
