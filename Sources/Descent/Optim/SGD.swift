/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics:
/// g ← grad + weightDecay·p; with momentum μ: b ← μ·b + (1 − dampening)·g (b = g on the first
/// step), g ← g + μ·b if nesterov else b; then p ← p − lr·g. Parameters without a gradient
/// are skipped. State per parameter: `momentum_buffer` (with momentum).
public final class SGD: Optimizer {
    /// The parameter groups and their hyperparameters (`lr`, `momentum`, `dampening`,
    /// `weight_decay`, `nesterov`).
    public var parameterGroups: [ParameterGroup]
    private let state = OptimizerState(kind: "SGD")

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate.
    ///   - momentum: μ, default 0 (none).
    ///   - dampening: The share of the gradient held back from the momentum buffer, default 0.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    ///   - nesterov: Nesterov momentum (needs a momentum and no dampening), default false.
    public convenience init(_ parameters: [Tensor], lr: Double, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false) {
        self.init([ParameterGroup(parameters)], lr: lr, momentum: momentum, dampening: dampening,
                  weightDecay: weightDecay, nesterov: nesterov)
    }

    /// SGD over parameter groups; a group's own `lr`, `weight_decay`, `momentum`, … override
    /// the arguments (see `init(_:lr:momentum:dampening:weightDecay:nesterov:)`).
    public init(_ groups: [ParameterGroup], lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) {
        parameterGroups = OptimizerState.groups(groups, defaults: ["lr": lr, "momentum": momentum, "dampening": dampening,
                                                                   "weight_decay": weightDecay, "nesterov": nesterov ? 1 : 0],
                                                kind: "SGD")
        for g in parameterGroups {
            check(g.lr >= 0, "[SGD] invalid learning rate: \(g.lr)")
            check(g["momentum"]! >= 0, "[SGD] invalid momentum value: \(g["momentum"]!)")
            check(g.weightDecay >= 0, "[SGD] invalid weight_decay value: \(g.weightDecay)")
            check(g["nesterov"] == 0 || (g["momentum"]! > 0 && g["dampening"] == 0),
                  "[SGD] nesterov momentum requires a momentum and zero dampening")
        }
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for group in parameterGroups {
                let lr = group.lr, momentum = group["momentum"]!, dampening = group["dampening"]!
                let weightDecay = group.weightDecay, nesterov = group["nesterov"] != 0
                for p in group.parameters {
                    guard var g = p.grad else { continue }
                    if weightDecay != 0 { g = g + p * weightDecay }
                    if momentum != 0 {
                        if let b = state[p]["momentum_buffer"] {
                            b.mulAssign(Tensor(momentum, dtype: b.dtype))
                            b.addAssign(g, alpha: 1 - dampening)
                            g = nesterov ? g + b * momentum : b
                        } else {
                            let b = g.clone()
                            state[p] = ["momentum_buffer": b]
                            g = nesterov ? g + b * momentum : b
                        }
                    }
                    p.addAssign(g, alpha: -lr)
                }
            }
        }
    }

    /// `state.{i}.momentum_buffer` and the groups' hyperparameters.
    public func stateDict() -> StateDict { state.stateDict(parameterGroups) }

    /// Restores a state saved by `stateDict()` (of an SGD over the same parameters).
    public func loadStateDict(_ state: StateDict) throws {
        try self.state.load(state, into: &parameterGroups, allowed: ["momentum_buffer"], together: ["momentum_buffer"])
    }
}
