/// Divides the rate by 1/`factor` when a metric has stopped improving for `patience` steps
/// (PyTorch's `ReduceLROnPlateau`); call `step(metric)` after each validation.
public final class ReduceLROnPlateau: LRScheduler {
    /// Whether a lower or a higher metric is better.
    public enum Mode: String, Sendable { case min, max }
    /// Whether `threshold` is relative to the best value or absolute.
    public enum ThresholdMode: String, Sendable { case rel, abs }

    private let optimizer: any Optimizer
    /// The options given at creation.
    public let mode: Mode, factor: Double, patience: Int, threshold: Double, thresholdMode: ThresholdMode, cooldown: Int
    /// The floor of each group's rate.
    public let minLRs: [Double]
    /// Changes of the rate smaller than this are skipped.
    public let eps: Double
    /// The best metric so far.
    public private(set) var best: Double
    /// Steps since the metric last improved.
    public private(set) var badEpochs = 0
    private var cooldownCounter = 0
    private var lastEpoch = 0
    /// The learning rate of each parameter group after the last step.
    public private(set) var lastLR: [Double]

    /// - Parameters:
    ///   - optimizer: The optimizer whose groups' rates the schedule sets.
    ///   - mode: `.min` (default: lower is better, a loss) or `.max` (an accuracy).
    ///   - factor: The rate is multiplied by this when reduced, below 1, default 0.1.
    ///   - patience: Steps without improvement tolerated before a reduction, default 10.
    ///   - threshold: The least change that counts as an improvement, default 1e-4.
    ///   - thresholdMode: `.rel` (default: relative to the best) or `.abs`.
    ///   - cooldown: Steps after a reduction before counting again, default 0.
    ///   - minLR: The lowest rate, default 0.
    ///   - eps: Reductions smaller than this are skipped, default 1e-8.
    public init(_ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minLR: Double = 0, eps: Double = 1e-8) {
        check(factor < 1, "[ReduceLROnPlateau] factor should be < 1.0, got \(factor)")
        self.optimizer = optimizer
        self.mode = mode; self.factor = factor; self.patience = patience; self.threshold = threshold
        self.thresholdMode = thresholdMode; self.cooldown = cooldown; self.eps = eps
        minLRs = Array(repeating: minLR, count: optimizer.parameterGroups.count)
        best = mode == .min ? .infinity : -.infinity
        lastLR = optimizer.parameterGroups.map(\.lr)
    }

    private func isBetter(_ a: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): return a < best * (1 - threshold)
        case (.min, .abs): return a < best - threshold
        case (.max, .rel): return a > best * (threshold + 1)
        case (.max, .abs): return a > best + threshold
        }
    }

    /// Records the metric of one step (a validation loss, say) and reduces the rate when it has
    /// not improved for more than `patience` steps.
    public func step(_ metric: Double) {
        lastEpoch += 1
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            for i in optimizer.parameterGroups.indices {
                let old = optimizer.parameterGroups[i].lr, new = Swift.max(old * factor, minLRs[i])
                if old - new > eps { optimizer.parameterGroups[i].lr = new }
            }
            cooldownCounter = cooldown
            badEpochs = 0
        }
        lastLR = optimizer.parameterGroups.map(\.lr)
    }

    /// Without a metric there is nothing to compare: stops with a message (call `step(_:)`).
    public func step() {
        checkFailure("[ReduceLROnPlateau] step() needs the metric: call step(validationLoss)")
    }

    /// `best`, `num_bad_epochs`, `cooldown_counter`, `last_epoch` and `_last_lr`.
    public func stateDict() -> StateDict {
        StateDict([("best", Tensor(best, dtype: .float64)), ("num_bad_epochs", Tensor(Int64(badEpochs))),
                   ("cooldown_counter", Tensor(Int64(cooldownCounter))), ("last_epoch", Tensor(Int64(lastEpoch))),
                   ("_last_lr", Tensor(lastLR, dtype: .float64))])
    }

    /// Restores a state saved by `stateDict()`.
    public func loadStateDict(_ state: StateDict) throws {
        let keys: Set<String> = ["best", "num_bad_epochs", "cooldown_counter", "last_epoch", "_last_lr"]
        guard Set(state.keys) == keys, state["_last_lr"]!.count == optimizer.parameterGroups.count else {
            throw OptimizerStateError(message: "[ReduceLROnPlateau] cannot load this state dict: expected the keys \(keys.sorted().joined(separator: ", ")) for \(optimizer.parameterGroups.count) groups, got \(state.keys.joined(separator: ", "))")
        }
        best = state["best"]!.itemDouble
        badEpochs = Int(state["num_bad_epochs"]!.itemDouble)
        cooldownCounter = Int(state["cooldown_counter"]!.itemDouble)
        lastEpoch = Int(state["last_epoch"]!.itemDouble)
        lastLR = state["_last_lr"]!.toArray(Double.self)
    }
}
