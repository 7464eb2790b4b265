import Descent
import XCTest

/// Every learning-rate schedule against PyTorch (Tests/Fixtures/schedules.safetensors): an
/// optimizer with two groups (rates 0.1 and 0.02); the rates after creation and after each step.
final class ScheduleTests: XCTestCase {
    typealias Maker = (any Optimizer) -> LRScheduler

    static let schedules: [String: (adam: Bool, make: Maker)] = [
        "step": (false, { StepLR($0, stepSize: 3, gamma: 0.5) }),
        "multistep": (false, { MultiStepLR($0, milestones: [2, 5, 5, 8], gamma: 0.3) }),
        "exponential": (false, { ExponentialLR($0, gamma: 0.9) }),
        "cosine": (false, { CosineAnnealingLR($0, tMax: 6, etaMin: 0.001) }),
        "linear": (false, { LinearLR($0, startFactor: 0.25, totalIters: 4) }),
        "warmup_cosine": (false, { ChainedScheduler([LinearLR($0, startFactor: 0.1, totalIters: 3), CosineAnnealingLR($0, tMax: 10)]) }),
        "onecycle_sgd": (false, { OneCycleLR($0, maxLR: 0.5, totalSteps: 12) }),
        "onecycle_adam_linear_3phase": (true, { OneCycleLR($0, maxLR: 0.01, totalSteps: 10, pctStart: 0.4, anneal: .linear,
                                                           divFactor: 10, finalDivFactor: 100, threePhase: true) }),
        "plateau": (false, { ReduceLROnPlateau($0, factor: 0.5, patience: 2, cooldown: 1, minLR: 0.004) }),
        "plateau_max_abs": (false, { ReduceLROnPlateau($0, mode: .max, patience: 1, threshold: 0.01, thresholdMode: .abs) }),
    ]

    static func optimizer(adam: Bool) -> any Optimizer {
        let groups = [ParameterGroup([Tensor.zeros([2]).requiringGrad()]), ParameterGroup([Tensor.zeros([1]).requiringGrad()], lr: 0.02)]
        return adam ? Adam(groups, lr: 0.1) : SGD(groups, lr: 0.1, momentum: 0.9)
    }

    private func momenta(_ o: any Optimizer) -> [Double] { o.parameterGroups.map { $0["beta1"] ?? $0["momentum"]! } }

    func testRatesMatchPyTorch() throws {
        let f = try Fixtures.load("schedules.safetensors")
        assertSameCases(fixture: Set(f.metadata.keys), swift: Set(Self.schedules.keys))
        for name in Self.schedules.keys.sorted() {
            let (adam, make) = Self.schedules[name]!
            let opt = Self.optimizer(adam: adam)
            let schedule = make(opt)
            let expected = f["\(name)/lr"]!, steps = expected.shape[0] - 1
            let expectedMomentum = f["\(name)/momentum"]
            let metrics = f["\(name)/metrics"]?.toArray(Double.self)
            var rates = [opt.parameterGroups.map(\.lr)], moms = [momenta(opt)]
            for k in 0..<steps {
                opt.step()
                if let metrics { (schedule as! ReduceLROnPlateau).step(metrics[k]) } else { schedule.step() }
                rates.append(opt.parameterGroups.map(\.lr))
                moms.append(momenta(opt))
                XCTAssertEqual(schedule.lastLR, rates.last!, "\(name): lastLR")
            }
            assertClose(Tensor(rates, dtype: .float64), expected, rtol: 1e-12, atol: 1e-15, "\(name) [\(f.metadata[name]!)] rates")
            if let expectedMomentum {
                assertClose(Tensor(moms, dtype: .float64), expectedMomentum, rtol: 1e-12, atol: 1e-15, "\(name) momentum")
            }
        }
    }

    /// A schedule's state dict resumes it: the rates continue as in the uninterrupted run.
    func testStateDictResumes() throws {
        for name in Self.schedules.keys.sorted() where !name.hasPrefix("plateau") {
            let (adam, make) = Self.schedules[name]!
            let optA = Self.optimizer(adam: adam), a = make(optA)
            for _ in 0..<4 { optA.step(); a.step() }
            let optB = Self.optimizer(adam: adam), b = make(optB)
            try optB.loadStateDict(optA.stateDict())  // the groups' rates travel with it, as in PyTorch
            try b.loadStateDict(a.stateDict())
            for _ in 0..<5 {
                optA.step(); a.step()
                optB.step(); b.step()
                XCTAssertEqual(optB.parameterGroups.map(\.lr), optA.parameterGroups.map(\.lr), name)
            }
        }
        let opt = Self.optimizer(adam: false)
        let plateau = ReduceLROnPlateau(opt, patience: 0)
        plateau.step(1)
        plateau.step(2)
        let copy = ReduceLROnPlateau(Self.optimizer(adam: false), patience: 0)
        try copy.loadStateDict(plateau.stateDict())
        XCTAssertEqual(copy.best, 1)
        XCTAssertThrowsError(try StepLR(Self.optimizer(adam: false), stepSize: 2).loadStateDict(plateau.stateDict()))
    }
}
