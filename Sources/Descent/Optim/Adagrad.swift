/// Adagrad with PyTorch's semantics (`torch.optim.Adagrad`): g ← grad + weightDecay·p,
/// the step's rate lr/(1 + (t − 1)·lrDecay), s ← s + g², p ← p − rate·g/(√s + ε).
/// State per parameter: `step`, `sum` (starting at `initialAccumulatorValue`).
public final class Adagrad: Optimizer {
    /// The parameter groups and their hyperparameters (`lr`, `lr_decay`, `weight_decay`,
    /// `initial_accumulator_value`, `eps`).
    public var parameterGroups: [ParameterGroup]
    private let state = OptimizerState(kind: "Adagrad")

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate, default 0.01.
    ///   - lrDecay: The decay of the rate with the step count, default 0.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    ///   - initialAccumulatorValue: The starting value of the sum of squares, default 0.
    ///   - eps: ε added to the denominator, default 1e-10.
    public convenience init(_ parameters: [Tensor], lr: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        self.init([ParameterGroup(parameters)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                  initialAccumulatorValue: initialAccumulatorValue, eps: eps)
    }

    /// Adagrad over parameter groups; a group's own hyperparameters override the arguments.
    public init(_ groups: [ParameterGroup], lr: Double = 0.01, lrDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        parameterGroups = OptimizerState.groups(groups, defaults: ["lr": lr, "lr_decay": lrDecay, "weight_decay": weightDecay,
                                                                   "initial_accumulator_value": initialAccumulatorValue, "eps": eps],
                                                kind: "Adagrad")
        for g in parameterGroups {
            check(g.lr >= 0, "[Adagrad] invalid learning rate: \(g.lr)")
            check(g["lr_decay"]! >= 0, "[Adagrad] invalid lr_decay value: \(g["lr_decay"]!)")
            check(g.weightDecay >= 0, "[Adagrad] invalid weight_decay value: \(g.weightDecay)")
            check(g["initial_accumulator_value"]! >= 0, "[Adagrad] invalid initial_accumulator_value value: \(g["initial_accumulator_value"]!)")
            check(g["eps"]! >= 0, "[Adagrad] invalid epsilon value: \(g["eps"]!)")
            // PyTorch creates the sums with the optimizer, so that they are in its state dict at once.
            for p in g.parameters {
                state[p] = ["step": Tensor(0, dtype: p.dtype), "sum": Tensor.full(p.shape, g["initial_accumulator_value"]!, dtype: p.dtype)]
            }
        }
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for group in parameterGroups {
                let lr = group.lr, lrDecay = group["lr_decay"]!, weightDecay = group.weightDecay, eps = group["eps"]!
                for p in group.parameters {
                    guard var g = p.grad else { continue }
                    let s = state[p], stepCount = s["step"]!, sum = s["sum"]!
                    stepCount.addAssign(Tensor(1, dtype: p.dtype))
                    if weightDecay != 0 { g = g + p * weightDecay }
                    let rate = lr / (1 + (stepCount.itemDouble - 1) * lrDecay)
                    sum.addAssign(g * g)
                    p.addAssign(g / (sum.sqrt() + eps), alpha: -rate)
                }
            }
        }
    }

    /// `state.{i}.step`, `.sum` and the groups' hyperparameters.
    public func stateDict() -> StateDict { state.stateDict(parameterGroups) }

    /// Restores a state saved by `stateDict()` (of an Adagrad over the same parameters).
    public func loadStateDict(_ state: StateDict) throws {
        try self.state.load(state, into: &parameterGroups, allowed: ["step", "sum"], together: ["step", "sum"], everyParameter: true)
    }
}
