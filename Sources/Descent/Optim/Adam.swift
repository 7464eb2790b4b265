import Foundation

/// Adam, and AdamW with decoupled weight decay, with PyTorch's semantics (`torch.optim.Adam`):
/// g ← grad (+ weightDecay·p for Adam; AdamW multiplies p by 1 − lr·weightDecay instead),
/// m ← m + (1−β₁)(g − m), v ← β₂v + (1−β₂)g², with `amsgrad` v̂ ← max(v̂, v) used for v,
/// p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
/// State per parameter: `step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq` with amsgrad).
public class Adam: Optimizer {
    /// The parameter groups and their hyperparameters (`lr`, `beta1`, `beta2`, `eps`,
    /// `weight_decay`, `amsgrad`).
    public var parameterGroups: [ParameterGroup]
    let decoupled: Bool
    private let state: OptimizerState

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate, default 1e-3.
    ///   - betas: (β₁, β₂), the decay of the moment estimates, default (0.9, 0.999).
    ///   - eps: ε added to the denominator, default 1e-8.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    ///   - amsgrad: Use the running maximum of v (AMSGrad), default false.
    public convenience init(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                            weightDecay: Double = 0, amsgrad: Bool = false) {
        self.init([ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    /// Adam over parameter groups; a group's own hyperparameters override the arguments.
    public convenience init(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) {
        self.init(groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: false)
    }

    init(_ groups: [ParameterGroup], lr: Double, betas: (Double, Double), eps: Double, weightDecay: Double, amsgrad: Bool,
         decoupled: Bool) {
        let kind = decoupled ? "AdamW" : "Adam"
        parameterGroups = OptimizerState.groups(groups, defaults: ["lr": lr, "beta1": betas.0, "beta2": betas.1, "eps": eps,
                                                                   "weight_decay": weightDecay, "amsgrad": amsgrad ? 1 : 0],
                                                kind: kind)
        self.decoupled = decoupled
        state = OptimizerState(kind: kind)
        for g in parameterGroups {
            check(g.lr >= 0, "[\(kind)] invalid learning rate: \(g.lr)")
            check(g["beta1"]! >= 0 && g["beta1"]! < 1 && g["beta2"]! >= 0 && g["beta2"]! < 1,
                  "[\(kind)] invalid betas: (\(g["beta1"]!), \(g["beta2"]!))")
            check(g["eps"]! >= 0, "[\(kind)] invalid epsilon value: \(g["eps"]!)")
            check(g.weightDecay >= 0, "[\(kind)] invalid weight_decay value: \(g.weightDecay)")
        }
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for group in parameterGroups {
                let lr = group.lr, beta1 = group["beta1"]!, beta2 = group["beta2"]!, eps = group["eps"]!
                let weightDecay = group.weightDecay, amsgrad = group["amsgrad"] != 0
                for p in group.parameters {
                    guard var g = p.grad else { continue }
                    var s = state[p]
                    if s.isEmpty {
                        s = ["step": Tensor(0, dtype: p.dtype), "exp_avg": Tensor.zeros(like: p), "exp_avg_sq": Tensor.zeros(like: p)]
                        if amsgrad { s["max_exp_avg_sq"] = Tensor.zeros(like: p) }
                        state[p] = s
                    }
                    let m = s["exp_avg"]!, v = s["exp_avg_sq"]!, stepCount = s["step"]!
                    stepCount.addAssign(Tensor(1, dtype: stepCount.dtype))
                    let t = stepCount.itemDouble
                    if weightDecay != 0 {
                        if decoupled { p.mulAssign(Tensor(1 - lr * weightDecay, dtype: p.dtype)) } else { g = g + p * weightDecay }
                    }
                    m.addAssign(g - m, alpha: 1 - beta1)                      // lerp toward g
                    v.mulAssign(Tensor(beta2, dtype: p.dtype)); v.addAssign(g * g, alpha: 1 - beta2)
                    let c1 = 1 - Foundation.pow(beta1, t), c2 = 1 - Foundation.pow(beta2, t)
                    var second = v
                    if amsgrad && s["max_exp_avg_sq"] == nil {
                        s["max_exp_avg_sq"] = Tensor.zeros(like: p)
                        state[p] = s
                    }
                    if amsgrad, let vMax = s["max_exp_avg_sq"] {
                        vMax.assign(vMax.maximum(v))
                        second = vMax
                    }
                    let denom = second.sqrt() / c2.squareRoot() + eps
                    p.addAssign(m / denom, alpha: -lr / c1)
                }
            }
        }
    }

    /// `state.{i}.step`, `.exp_avg`, `.exp_avg_sq` (`.max_exp_avg_sq`) and the groups'
    /// hyperparameters.
    public func stateDict() -> StateDict { state.stateDict(parameterGroups) }

    /// Restores a state saved by `stateDict()` (of the same optimizer over the same parameters).
    public func loadStateDict(_ state: StateDict) throws {
        try self.state.load(state, into: &parameterGroups, allowed: ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"], together: ["step", "exp_avg", "exp_avg_sq"])
    }
}

/// Adam with decoupled weight decay (PyTorch's AdamW; default weightDecay 0.01).
public final class AdamW: Adam {
    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate, default 1e-3.
    ///   - betas: (β₁, β₂), the decay of the moment estimates, default (0.9, 0.999).
    ///   - eps: ε added to the denominator, default 1e-8.
    ///   - weightDecay: The decoupled decay: p ← p·(1 − lr·weightDecay) each step, default 0.01.
    ///   - amsgrad: Use the running maximum of v (AMSGrad), default false.
    public convenience init(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                            weightDecay: Double = 0.01, amsgrad: Bool = false) {
        self.init([ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    /// AdamW over parameter groups; a group's own hyperparameters override the arguments.
    public convenience init(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0.01, amsgrad: Bool = false) {
        self.init(groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, decoupled: true)
    }
}
