/// Adam, and AdamW with `decoupledWeightDecay`, with PyTorch's semantics:
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
/// p ← p − lr·m̂/(√v̂ + ε). Adam adds weightDecay·p to g; AdamW multiplies p by (1 − lr·weightDecay).
public class Adam: Optimizer {
    /// The tensors updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// β₁, β₂, ε and the weight decay.
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double
    let decoupled: Bool
    private var state: [ObjectIdentifier: (m: Tensor, v: Tensor, step: Int)] = [:]

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate, default 1e-3.
    ///   - betas: (β₁, β₂), the decay of the moment estimates, default (0.9, 0.999).
    ///   - eps: ε added to the denominator, default 1e-8.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    public init(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                weightDecay: Double = 0) {
        self.parameters = parameters
        self.lr = lr; self.beta1 = betas.0; self.beta2 = betas.1; self.eps = eps; self.weightDecay = weightDecay
        decoupled = false
        Self.validate(lr, betas, eps, weightDecay)
    }

    init(_ parameters: [Tensor], lr: Double, betas: (Double, Double), eps: Double, weightDecay: Double, decoupled: Bool) {
        self.parameters = parameters
        self.lr = lr; self.beta1 = betas.0; self.beta2 = betas.1; self.eps = eps; self.weightDecay = weightDecay
        self.decoupled = decoupled
        Self.validate(lr, betas, eps, weightDecay)
    }

    private static func validate(_ lr: Double, _ betas: (Double, Double), _ eps: Double, _ wd: Double) {
        check(lr >= 0, "[Adam] invalid learning rate: \(lr)")
        check(betas.0 >= 0 && betas.0 < 1 && betas.1 >= 0 && betas.1 < 1, "[Adam] invalid betas: \(betas)")
        check(eps >= 0, "[Adam] invalid epsilon value: \(eps)")
        check(wd >= 0, "[Adam] invalid weight_decay value: \(wd)")
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for p in parameters {
                guard var g = p.grad else { continue }
                let key = ObjectIdentifier(p)
                var s = state[key] ?? (Tensor.zeros(like: p), Tensor.zeros(like: p), 0)
                s.step += 1
                if weightDecay != 0 {
                    if decoupled { p.mulAssign(Tensor(1 - lr * weightDecay, dtype: p.dtype)) } else { g = g + p * weightDecay }
                }
                s.m.mulAssign(Tensor(beta1, dtype: p.dtype)); s.m.addAssign(g, alpha: 1 - beta1)
                s.v.mulAssign(Tensor(beta2, dtype: p.dtype)); s.v.addAssign(g * g, alpha: 1 - beta2)
                let c1 = 1 - Foundation.pow(beta1, Double(s.step)), c2 = 1 - Foundation.pow(beta2, Double(s.step))
                let denom = (s.v / c2).sqrt() + eps
                p.addAssign(s.m / denom, alpha: -lr / c1)
                state[key] = s
            }
        }
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
    public override init(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                         weightDecay: Double = 0.01) {
        super.init(parameters, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, decoupled: true)
    }
}

import Foundation
