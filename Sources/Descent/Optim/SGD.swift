/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics:
/// g ← grad + weightDecay·p; with momentum μ: b ← μ·b + (1 − dampening)·g (b = g on the first
/// step), g ← g + μ·b if nesterov else b; then p ← p − lr·g. Parameters without a gradient
/// are skipped.
public final class SGD: Optimizer {
    /// The tensors updated.
    public let parameters: [Tensor]
    /// The learning rate.
    public var lr: Double
    /// The options given at creation.
    public let momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    /// - Parameters:
    ///   - parameters: The tensors to update (leaves that require a gradient).
    ///   - lr: The learning rate.
    ///   - momentum: μ, default 0 (none).
    ///   - dampening: The share of the gradient held back from the momentum buffer, default 0.
    ///   - weightDecay: L2 penalty added to the gradient, default 0.
    ///   - nesterov: Nesterov momentum (needs a momentum and no dampening), default false.
    public init(_ parameters: [Tensor], lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) {
        check(lr >= 0, "[SGD] invalid learning rate: \(lr)")
        check(momentum >= 0, "[SGD] invalid momentum value: \(momentum)")
        check(weightDecay >= 0, "[SGD] invalid weight_decay value: \(weightDecay)")
        check(!nesterov || (momentum > 0 && dampening == 0), "[SGD] nesterov momentum requires a momentum and zero dampening")
        self.parameters = parameters
        self.lr = lr; self.momentum = momentum; self.dampening = dampening
        self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    /// Applies one update from the current gradients.
    public func step() {
        withNoGrad {
            for p in parameters {
                guard var g = p.grad else { continue }
                if weightDecay != 0 { g = g + p * weightDecay }
                if momentum != 0 {
                    let key = ObjectIdentifier(p)
                    if let b = buffers[key] {
                        b.mulAssign(Tensor(momentum, dtype: b.dtype))
                        b.addAssign(g, alpha: 1 - dampening)
                        g = nesterov ? g + b * momentum : b
                    } else {
                        let b = g.clone()
                        buffers[key] = b
                        g = nesterov ? g + b * momentum : b
                    }
                }
                p.addAssign(g, alpha: -lr)
            }
        }
    }
}
