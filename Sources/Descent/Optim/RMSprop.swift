/// RMSprop with PyTorch's semantics (`torch.optim.RMSprop`): g ← grad + weightDecay·p,
/// v ← αv + (1−α)g²; `centered`: ḡ ← ḡ + (1−α)(g − ḡ) and the denominator √(v − ḡ²) + ε
/// (else √v + ε); with momentum μ: b ← μb + g/denominator, p ← p − lr·b; else
/// p ← p − lr·g/denominator. State per parameter: `step`, `square_avg`, and `momentum_buffer`
/// (momentum > 0) and `grad_avg` (centered).
public final class RMSprop: Optimizer {
    /// The parameter groups and their hyperparameters (`lr`, `alpha`, `eps`, `weight_decay`,
    /// `momentum`, `centered`).
    public var parameterGroups: [ParameterGroup]
    private let state = OptimizerState(kind: "RMSprop")

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate, default 0.01.
    ///   - alpha: The smoothing constant of the squared-gradient average, default 0.99.
    ///   - eps: ε added to the denominator, default 1e-8.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    ///   - momentum: μ, default 0 (none).
    ///   - centered: Normalize by the estimated variance of the gradient, default false.
    public convenience init(_ parameters: [Tensor], lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8,
                            weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        self.init([ParameterGroup(parameters)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum,
                  centered: centered)
    }

    /// RMSprop over parameter groups; a group's own hyperparameters override the arguments.
    public init(_ groups: [ParameterGroup], lr: Double = 0.01, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        parameterGroups = OptimizerState.groups(groups, defaults: ["lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weightDecay,
                                                                   "momentum": momentum, "centered": centered ? 1 : 0],
                                                kind: "RMSprop")
        for g in parameterGroups {
            check(g.lr >= 0, "[RMSprop] invalid learning rate: \(g.lr)")
            check(g["alpha"]! >= 0, "[RMSprop] invalid alpha value: \(g["alpha"]!)")
            check(g["eps"]! >= 0, "[RMSprop] invalid epsilon value: \(g["eps"]!)")
            check(g.weightDecay >= 0, "[RMSprop] invalid weight_decay value: \(g.weightDecay)")
            check(g["momentum"]! >= 0, "[RMSprop] invalid momentum value: \(g["momentum"]!)")
        }
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for group in parameterGroups {
                let lr = group.lr, alpha = group["alpha"]!, eps = group["eps"]!, weightDecay = group.weightDecay
                let momentum = group["momentum"]!, centered = group["centered"] != 0
                for p in group.parameters {
                    guard var g = p.grad else { continue }
                    var s = state[p]
                    if s.isEmpty {
                        s = ["step": Tensor(0, dtype: p.dtype), "square_avg": Tensor.zeros(like: p)]
                    }
                    if momentum > 0 && s["momentum_buffer"] == nil { s["momentum_buffer"] = Tensor.zeros(like: p) }
                    if centered && s["grad_avg"] == nil { s["grad_avg"] = Tensor.zeros(like: p) }
                    state[p] = s
                    s["step"]!.addAssign(Tensor(1, dtype: p.dtype))
                    if weightDecay != 0 { g = g + p * weightDecay }
                    let v = s["square_avg"]!
                    v.mulAssign(Tensor(alpha, dtype: p.dtype)); v.addAssign(g * g, alpha: 1 - alpha)
                    var avg: Tensor
                    if centered, let gAvg = s["grad_avg"] {
                        gAvg.addAssign(g - gAvg, alpha: 1 - alpha)
                        avg = (v - gAvg * gAvg).sqrt()
                    } else {
                        avg = v.sqrt()
                    }
                    avg = avg + eps
                    if momentum > 0, let b = s["momentum_buffer"] {
                        b.mulAssign(Tensor(momentum, dtype: p.dtype)); b.addAssign(g / avg)
                        p.addAssign(b, alpha: -lr)
                    } else {
                        p.addAssign(g / avg, alpha: -lr)
                    }
                }
            }
        }
    }

    /// `state.{i}.step`, `.square_avg` (`.momentum_buffer`, `.grad_avg`) and the groups' hyperparameters.
    public func stateDict() -> StateDict { state.stateDict(parameterGroups) }

    /// Restores a state saved by `stateDict()` (of an RMSprop over the same parameters).
    public func loadStateDict(_ state: StateDict) throws {
        try self.state.load(state, into: &parameterGroups, allowed: ["step", "square_avg", "momentum_buffer", "grad_avg"], together: ["step", "square_avg"])
    }
}
