import Foundation

/// A learning-rate schedule, as PyTorch's `torch.optim.lr_scheduler`: call `step()` after each
/// epoch (or each batch, for `OneCycleLR`), after the optimizer's step.
///
/// ```swift
/// let optimizer = SGD(model.parameters(), lr: 0.1, momentum: 0.9)
/// let schedule = CosineAnnealingLR(optimizer, tMax: epochs)
/// for _ in 0..<epochs {
///     trainOneEpoch()
///     schedule.step()
/// }
/// ```
/// The schedules change the optimizer's groups' `lr` with PyTorch's formulas, in PyTorch's
/// chainable form (each step scales the current rate), so that several can drive one optimizer
/// (`ChainedScheduler`, e.g. a linear warm-up and a cosine decay).
public protocol LRScheduler: AnyObject {
    /// The learning rate of each parameter group after the last step.
    var lastLR: [Double] { get }
    /// Advances the schedule by one step (an epoch, or a batch) and sets the rates.
    func step()
    /// The schedule's position (`last_epoch`, `_step_count`, `base_lrs`, `_last_lr`, and a
    /// schedule's own counters), to resume it.
    func stateDict() -> StateDict
    /// Restores a position saved by `stateDict()`; throws for a state of another kind.
    func loadStateDict(_ state: StateDict) throws
}

/// The machinery PyTorch's `LRScheduler` base class provides: the groups' `initial_lr` and
/// `base_lrs`, the step counters, the initial step at creation, and the state dict. A schedule
/// supplies `rate(group:current:base:)`, PyTorch's chainable `get_lr` for one group.
public class ChainableScheduler: LRScheduler {
    let optimizer: any Optimizer
    /// The schedule's step count, PyTorch's `last_epoch` (0 after creation).
    public private(set) var lastEpoch = -1
    /// The `initial_lr` of each group when the schedule was created.
    public private(set) var baseLRs: [Double]
    /// The learning rate of each parameter group after the last step.
    public private(set) var lastLR: [Double] = []
    var stepCount = 0
    /// True during the step made at creation (PyTorch's `_is_initial`).
    var isInitial = false
    let kind: String

    init(_ optimizer: any Optimizer, kind: String) {
        self.optimizer = optimizer
        self.kind = kind
        for i in optimizer.parameterGroups.indices where optimizer.parameterGroups[i]["initial_lr"] == nil {
            optimizer.parameterGroups[i]["initial_lr"] = optimizer.parameterGroups[i].lr
        }
        baseLRs = optimizer.parameterGroups.map { $0["initial_lr"]! }
    }

    /// The step PyTorch makes when a schedule is created (subclasses call it at the end of init).
    func initialStep() {
        stepCount = 0
        isInitial = true
        step()
        isInitial = false
    }

    /// The new rate of group `group`, whose rate is `current` and base rate `base`.
    func rate(group: Int, current: Double, base: Double) -> Double { current }

    /// Advances the schedule by one step and sets the groups' rates.
    public func step() {
        stepCount += 1
        lastEpoch += 1
        let rates = optimizer.parameterGroups.indices.map {
            rate(group: $0, current: optimizer.parameterGroups[$0].lr, base: baseLRs[$0])
        }
        for (i, r) in rates.enumerated() { optimizer.parameterGroups[i].lr = r }
        lastLR = optimizer.parameterGroups.map(\.lr)
    }

    /// `last_epoch`, `_step_count`, `base_lrs` and `_last_lr`.
    public func stateDict() -> StateDict {
        StateDict([("last_epoch", Tensor(Int64(lastEpoch))), ("_step_count", Tensor(Int64(stepCount))),
                   ("base_lrs", Tensor(baseLRs, dtype: .float64)), ("_last_lr", Tensor(lastLR, dtype: .float64))])
    }

    /// Restores `last_epoch`, `_step_count`, `base_lrs` and `_last_lr`.
    public func loadStateDict(_ state: StateDict) throws {
        func fail(_ m: String) -> OptimizerStateError { OptimizerStateError(message: "[\(kind)] cannot load this state dict: \(m)") }
        guard Set(state.keys) == ["last_epoch", "_step_count", "base_lrs", "_last_lr"] else {
            throw fail("expected the keys last_epoch, _step_count, base_lrs, _last_lr, got \(state.keys.joined(separator: ", "))")
        }
        let groups = optimizer.parameterGroups.count
        guard state["base_lrs"]!.count == groups, state["_last_lr"]!.count == groups else {
            throw fail("it holds rates for \(state["base_lrs"]!.count) parameter groups, the optimizer has \(groups)")
        }
        lastEpoch = Int(state["last_epoch"]!.itemDouble)
        stepCount = Int(state["_step_count"]!.itemDouble)
        baseLRs = state["base_lrs"]!.toArray(Double.self)
        lastLR = state["_last_lr"]!.toArray(Double.self)
    }
}

/// Multiplies the rate by `gamma` every `stepSize` steps: lr = base·γ^⌊epoch/stepSize⌋
/// (PyTorch's `StepLR`).
public final class StepLR: ChainableScheduler {
    /// The period and the factor.
    public let stepSize: Int, gamma: Double

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - stepSize: The number of steps between decays.
    ///   - gamma: The factor of each decay, default 0.1.
    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) {
        check(stepSize >= 1, "[StepLR] stepSize must be at least 1, got \(stepSize)")
        self.stepSize = stepSize; self.gamma = gamma
        super.init(optimizer, kind: "StepLR")
        initialStep()
    }

    override func rate(group: Int, current: Double, base: Double) -> Double {
        lastEpoch == 0 || lastEpoch % stepSize != 0 ? current : current * gamma
    }
}

/// Multiplies the rate by `gamma` at each milestone (PyTorch's `MultiStepLR`).
public final class MultiStepLR: ChainableScheduler {
    /// The steps at which the rate decays (a milestone listed n times decays by γⁿ), and γ.
    public let milestones: [Int], gamma: Double

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - milestones: The steps at which the rate is multiplied by `gamma`.
    ///   - gamma: The factor of each decay, default 0.1.
    public init(_ optimizer: any Optimizer, milestones: [Int], gamma: Double = 0.1) {
        self.milestones = milestones.sorted(); self.gamma = gamma
        super.init(optimizer, kind: "MultiStepLR")
        initialStep()
    }

    override func rate(group: Int, current: Double, base: Double) -> Double {
        let n = milestones.filter { $0 == lastEpoch }.count
        return n == 0 ? current : current * Foundation.pow(gamma, Double(n))
    }
}

/// Multiplies the rate by `gamma` every step (PyTorch's `ExponentialLR`).
public final class ExponentialLR: ChainableScheduler {
    /// The factor of each step.
    public let gamma: Double

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - gamma: The factor of each step.
    public init(_ optimizer: any Optimizer, gamma: Double) {
        self.gamma = gamma
        super.init(optimizer, kind: "ExponentialLR")
        initialStep()
    }

    override func rate(group: Int, current: Double, base: Double) -> Double { isInitial ? current : current * gamma }
}

/// Anneals the rate along a cosine from the base rate to `etaMin` over `tMax` steps:
/// lr = etaMin + (base − etaMin)(1 + cos(π·epoch/tMax))/2 (PyTorch's `CosineAnnealingLR`, in
/// its recursive, chainable form; past tMax the cosine continues).
public final class CosineAnnealingLR: ChainableScheduler {
    /// The half period and the minimum rate.
    public let tMax: Int, etaMin: Double

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - tMax: The number of steps from the base rate down to `etaMin`.
    ///   - etaMin: The minimum rate, default 0.
    public init(_ optimizer: any Optimizer, tMax: Int, etaMin: Double = 0) {
        check(tMax >= 1, "[CosineAnnealingLR] tMax must be at least 1, got \(tMax)")
        self.tMax = tMax; self.etaMin = etaMin
        super.init(optimizer, kind: "CosineAnnealingLR")
        initialStep()
    }

    override func rate(group: Int, current: Double, base: Double) -> Double {
        let e = Double(lastEpoch), t = Double(tMax)
        if isInitial { return current }
        if stepCount == 1 && lastEpoch > 0 { return etaMin + (base - etaMin) * (1 + cos(e * .pi / t)) / 2 }
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 { return current + (base - etaMin) * (1 - cos(.pi / t)) / 2 }
        return (1 + cos(.pi * e / t)) / (1 + cos(.pi * (e - 1) / t)) * (current - etaMin) + etaMin
    }
}

/// Scales the rate linearly from `startFactor`·base to `endFactor`·base over `totalIters`
/// steps, then keeps it (PyTorch's `LinearLR`): a linear warm-up.
public final class LinearLR: ChainableScheduler {
    /// The factors at the start and the end, and the number of steps between them.
    public let startFactor: Double, endFactor: Double, totalIters: Int

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - startFactor: The factor of the first step, in (0, 1], default 1/3.
    ///   - endFactor: The factor after `totalIters` steps, in [0, 1], default 1.
    ///   - totalIters: The number of steps of the ramp, default 5.
    public init(_ optimizer: any Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1, totalIters: Int = 5) {
        check(startFactor > 0 && startFactor <= 1, "[LinearLR] startFactor must be in (0, 1], got \(startFactor)")
        check(endFactor >= 0 && endFactor <= 1, "[LinearLR] endFactor must be in [0, 1], got \(endFactor)")
        check(totalIters >= 1, "[LinearLR] totalIters must be at least 1, got \(totalIters)")
        self.startFactor = startFactor; self.endFactor = endFactor; self.totalIters = totalIters
        super.init(optimizer, kind: "LinearLR")
        initialStep()
    }

    override func rate(group: Int, current: Double, base: Double) -> Double {
        if lastEpoch == 0 { return current * startFactor }
        if isInitial || lastEpoch > totalIters { return current }
        let span = endFactor - startFactor
        return current * (1 + span / (Double(totalIters) * startFactor + Double(lastEpoch - 1) * span))
    }
}

/// Steps several schedules at once, each scaling the rate the others left (PyTorch's
/// `ChainedScheduler`): for example `LinearLR` warm-up with `CosineAnnealingLR`.
public final class ChainedScheduler: LRScheduler {
    /// The schedules, stepped in order.
    public let schedulers: [LRScheduler]
    /// The learning rate of each parameter group after the last step.
    public private(set) var lastLR: [Double]

    /// - Parameter schedulers: Schedules of one optimizer, stepped in this order.
    public init(_ schedulers: [LRScheduler]) {
        check(!schedulers.isEmpty, "[ChainedScheduler] expected at least one schedule")
        self.schedulers = schedulers
        lastLR = schedulers.last!.lastLR
    }

    /// Steps every schedule in order.
    public func step() {
        for s in schedulers { s.step() }
        lastLR = schedulers.last!.lastLR
    }

    /// Each schedule's state under `{index}.`.
    public func stateDict() -> StateDict {
        StateDict(schedulers.enumerated().flatMap { i, s in s.stateDict().entries.map { ("\(i).\($0.key)", $0.tensor) } })
    }

    /// Restores each schedule's state from `{index}.` keys.
    public func loadStateDict(_ state: StateDict) throws {
        for (i, s) in schedulers.enumerated() {
            let prefix = "\(i)."
            try s.loadStateDict(StateDict(state.entries.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.tensor) }))
        }
        lastLR = schedulers.last!.lastLR
    }
}
