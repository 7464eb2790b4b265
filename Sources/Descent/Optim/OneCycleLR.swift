import Foundation

/// The 1cycle policy (PyTorch's `OneCycleLR`), stepped after every batch: the rate rises from
/// maxLR/divFactor to `maxLR` over the first `pctStart` of `totalSteps`, then anneals to
/// maxLR/(divFactor·finalDivFactor); with `cycleMomentum`, the momentum (SGD's, RMSprop's) or
/// β₁ (Adam's) moves inversely between `maxMomentum` and `baseMomentum`.
public final class OneCycleLR: ChainableScheduler {
    /// How a phase moves from its start value to its end value.
    public enum Anneal: String, Sendable {
        /// end + (start − end)(1 + cos(π·pct))/2.
        case cos
        /// start + (end − start)·pct.
        case linear
    }

    private struct Phase { let endStep: Double, startLR: String, endLR: String, startMomentum: String, endMomentum: String }

    /// The number of steps of the whole cycle.
    public let totalSteps: Int
    /// The annealing of each phase.
    public let anneal: Anneal
    private let phases: [Phase]
    private let momentumKey: String?

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates (and momentum) the schedule sets.
    ///   - maxLR: The peak rate.
    ///   - totalSteps: The number of `step()` calls of the whole cycle (epochs × batches).
    ///   - pctStart: The share of the cycle spent rising, default 0.3.
    ///   - anneal: `.cos` (default) or `.linear`.
    ///   - cycleMomentum: Move the momentum or β₁ inversely to the rate, default true.
    ///   - baseMomentum: The momentum at the peak rate, default 0.85.
    ///   - maxMomentum: The momentum at the lowest rates, default 0.95.
    ///   - divFactor: The first rate is maxLR/divFactor, default 25.
    ///   - finalDivFactor: The last rate is the first divided by this, default 1e4.
    ///   - threePhase: Fall back to the first rate before annealing to the last, default false.
    public init(_ optimizer: any Optimizer, maxLR: Double, totalSteps: Int, pctStart: Double = 0.3, anneal: Anneal = .cos,
                cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95, divFactor: Double = 25,
                finalDivFactor: Double = 1e4, threePhase: Bool = false) {
        check(totalSteps >= 1, "[OneCycleLR] totalSteps must be at least 1, got \(totalSteps)")
        check(pctStart >= 0 && pctStart <= 1, "[OneCycleLR] pctStart must be in [0, 1], got \(pctStart)")
        self.totalSteps = totalSteps
        self.anneal = anneal
        let total = Double(totalSteps)
        phases = threePhase
            ? [Phase(endStep: pctStart * total - 1, startLR: "initial_lr", endLR: "max_lr", startMomentum: "max_momentum", endMomentum: "base_momentum"),
               Phase(endStep: 2 * pctStart * total - 2, startLR: "max_lr", endLR: "initial_lr", startMomentum: "base_momentum", endMomentum: "max_momentum"),
               Phase(endStep: total - 1, startLR: "initial_lr", endLR: "min_lr", startMomentum: "max_momentum", endMomentum: "max_momentum")]
            : [Phase(endStep: pctStart * total - 1, startLR: "initial_lr", endLR: "max_lr", startMomentum: "max_momentum", endMomentum: "base_momentum"),
               Phase(endStep: total - 1, startLR: "max_lr", endLR: "min_lr", startMomentum: "base_momentum", endMomentum: "max_momentum")]
        let groups = optimizer.parameterGroups
        if cycleMomentum {
            let key = groups.first?["beta1"] != nil ? "beta1" : (groups.first?["momentum"] != nil ? "momentum" : nil)
            check(key != nil, "[OneCycleLR] optimizer must support momentum or beta1 with cycleMomentum")
            momentumKey = key
        } else {
            momentumKey = nil
        }
        for i in groups.indices {
            optimizer.parameterGroups[i]["initial_lr"] = maxLR / divFactor
            optimizer.parameterGroups[i]["max_lr"] = maxLR
            optimizer.parameterGroups[i]["min_lr"] = maxLR / divFactor / finalDivFactor
            if let momentumKey {
                optimizer.parameterGroups[i][momentumKey] = maxMomentum
                optimizer.parameterGroups[i]["max_momentum"] = maxMomentum
                optimizer.parameterGroups[i]["base_momentum"] = baseMomentum
            }
        }
        super.init(optimizer, kind: "OneCycleLR")
        initialStep()
    }

    private func value(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch anneal {
        case .cos: return end + (start - end) / 2 * (cos(.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }

    override func rate(group: Int, current: Double, base: Double) -> Double {
        check(lastEpoch <= totalSteps, "[OneCycleLR] tried to step \(lastEpoch) times; the specified number of total steps is \(totalSteps)")
        let g = optimizer.parameterGroups[group], step = Double(lastEpoch)
        var start = 0.0
        for (i, phase) in phases.enumerated() {
            if step <= phase.endStep || i == phases.count - 1 {
                let pct = (step - start) / (phase.endStep - start)
                if let momentumKey {
                    optimizer.parameterGroups[group][momentumKey] = value(g[phase.startMomentum]!, g[phase.endMomentum]!, pct)
                }
                return value(g[phase.startLR]!, g[phase.endLR]!, pct)
            }
            start = phase.endStep
        }
        return current
    }
}
