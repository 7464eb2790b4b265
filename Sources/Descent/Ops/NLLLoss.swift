// The negative log-likelihood of class indices: a primitive, as PyTorch's `nll_loss`, so that
// cross-entropy's second half is one pass forward and one backward (Kernels/CrossEntropyKernels.swift).

extension Tensor {
    /// −w_e·input[n, t_e, …] for each element e of `target`, reduced: w_e = weight[t_e] (1 without
    /// weights), 0 where t_e is `ignoreIndex`; `.mean` divides the sum by Σ w_e.
    ///
    /// Shapes: input (N, C, d…), target int64 (N, d…), weight (C) → (N, d…), or 0-d when reduced.
    /// Gradient: −w_e·g (divided by Σ w_e for `.mean`) at [n, t_e, …], 0 elsewhere.
    static func nllLoss(_ input: Tensor, _ target: Tensor, weight: Tensor?, ignoreIndex: Int, reduction: Reduction,
                        op: String) -> Tensor {
        check(target.dtype == .int64, "[\(op)] expected int64 class indices as target, got \(target.dtype); for class probabilities pass a floating-point target to crossEntropy")
        check(input.rank >= 2 && target.rank == input.rank - 1 && target.shape[0] == input.shape[0]
                && Array(input.shape.dropFirst(2)) == Array(target.shape.dropFirst()),
              "[\(op)] expected input (N, C, d…) and target (N, d…), got input \(Shape.describe(input.shape)) and target \(Shape.describe(target.shape))")
        if let weight {
            check(weight.shape == [input.shape[1]], "[\(op)] weight must have one value per class (\(input.shape[1])), got shape \(Shape.describe(weight.shape))")
        }
        let x = input.dtype == .int64 ? input.to(.float32) : input
        let terms = Kernels.nllLoss(x, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: op)
        let out = terms.loss
        if Tensor.needsGrad(x) {
            let shape = x.shape
            out.record("NllLossBackward", [x]) { g in
                [Kernels.nllLossBackward(g, target, terms, inputShape: shape, ignoreIndex: ignoreIndex, reduction: reduction)]
            }
        }
        return out
    }
}
