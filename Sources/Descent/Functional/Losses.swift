// Loss functions, composed from primitives, with PyTorch's formulas, reductions and defaults.

/// How a loss combines its per-element values.
public enum Reduction: String, Sendable {
    /// The average (for weighted classification losses: divided by the sum of the weights).
    case mean
    /// The sum (the notes' sum of squared residuals for `mseLoss`).
    case sum
    /// No reduction: one value per element.
    case none
}

private func reduce(_ t: Tensor, _ reduction: Reduction) -> Tensor {
    switch reduction {
    case .mean: return t.mean()
    case .sum: return t.sum()
    case .none: return t
    }
}

private func checkSameShape(_ input: Tensor, _ target: Tensor, _ op: String) {
    check(input.shape == target.shape,
          "[\(op)] input \(Shape.describe(input.shape)) and target \(Shape.describe(target.shape)) must have the same shape")
}

/// Mean squared error: (input − target)², reduced.
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "mseLoss")
    let d = input - target
    return reduce(d * d, reduction)
}

/// Mean absolute error: |input − target|, reduced.
public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "l1Loss")
    return reduce((input - target).abs(), reduction)
}

/// Smooth L1: 0.5·d²/β where |d| < β, else |d| − 0.5·β.
public func smoothL1Loss(_ input: Tensor, _ target: Tensor, beta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "smoothL1Loss")
    check(beta >= 0, "[smoothL1Loss] beta must be non-negative, got \(beta)")
    let d = (input - target).abs()
    if beta == 0 { return reduce(d, reduction) }
    return reduce(Tensor.where(d.lt(beta), d * d * (0.5 / beta), d - 0.5 * beta), reduction)
}

/// Huber: 0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ).
public func huberLoss(_ input: Tensor, _ target: Tensor, delta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "huberLoss")
    check(delta > 0, "[huberLoss] delta must be positive, got \(delta)")
    let d = (input - target).abs()
    return reduce(Tensor.where(d.lt(delta), d * d * 0.5, (d - 0.5 * delta) * delta), reduction)
}

/// Negative log-likelihood of int64 class `target` under log-probabilities `input`.
///
/// Shapes: input (N, C) or (N, C, d…) (or (C) with a 0-d target); target (N) or (N, d…).
/// Per element: −weight[t]·input[t]; elements whose target is `ignoreIndex` count for nothing.
/// `.mean` divides by the sum of the weights of the counted elements.
public func nllLoss(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
                    reduction: Reduction = .mean) -> Tensor {
    nllLoss(input, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: "nllLoss")
}

private func nllLoss(_ input: Tensor, _ target: Tensor, weight: Tensor?, ignoreIndex: Int, reduction: Reduction, op: String) -> Tensor {
    // A (C) input and 0-d target are one element of a batch of one.
    guard input.rank == 1 else {
        return Tensor.nllLoss(input, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: op)
    }
    check(target.rank == 0, "[\(op)] expected input (N, C, d…) and target (N, d…), got input \(Shape.describe(input.shape)) and target \(Shape.describe(target.shape))")
    let loss = Tensor.nllLoss(input.unsqueeze(0), target.reshape([1]), weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: op)
    return reduction == .none ? loss.reshape([]) : loss
}

/// Cross-entropy between logits and targets, as PyTorch's `F.cross_entropy`.
///
/// - `target` int64 class indices (N) or (N, d…): −log softmax(input)[target], with `weight`,
///   `ignoreIndex` and `.mean` as in `nllLoss`.
/// - `target` floating-point class probabilities, the shape of `input`: −Σ_c weight_c·p_c·log softmax_c;
///   `.mean` divides by the number of elements N·d….
/// `labelSmoothing` ε mixes the target with the uniform distribution: (1−ε)·target + ε/C.
public func crossEntropy(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
                         reduction: Reduction = .mean, labelSmoothing: Double = 0) -> Tensor {
    check(labelSmoothing >= 0 && labelSmoothing <= 1, "[crossEntropy] labelSmoothing must be in [0, 1], got \(labelSmoothing)")
    let classDim = input.rank == 1 ? 0 : 1
    let classes = input.shape[classDim]
    let logp = input.logSoftmax(dim: classDim)
    // Class weights shaped to broadcast along the class dim.
    let wShape = (0..<input.rank).map { $0 == classDim ? classes : 1 }
    let w = weight.map { $0.to(input.dtype).reshape(wShape) }

    if target.dtype.isFloatingPoint {
        check(target.shape == input.shape, "[crossEntropy] class-probability target must have the input's shape \(Shape.describe(input.shape)), got \(Shape.describe(target.shape))")
        var p = target.to(input.dtype)
        if labelSmoothing > 0 { p = p * (1 - labelSmoothing) + labelSmoothing / Double(classes) }
        var terms = logp * p
        if let w { terms = terms * w }
        let losses = -terms.sum(dim: classDim)
        return reduce(losses, reduction)
    }

    let nll = nllLoss(logp, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: "crossEntropy")
    guard labelSmoothing > 0 else { return nll }
    // The uniform part: −Σ_c w_c log p_c per element, zero where ignored.
    var smooth = -(w.map { logp * $0 } ?? logp).sum(dim: classDim)
    let keep = target.ne(Double(ignoreIndex)).to(input.dtype)
    smooth = smooth * keep
    let uniform: Tensor
    switch reduction {
    case .none: uniform = smooth
    case .sum: uniform = smooth.sum()
    case .mean:
        if let weight {
            let safe = target * target.ne(Double(ignoreIndex))
            let wt = weight.to(input.dtype).indexSelect(dim: 0, index: safe.reshape([-1])).reshape(safe.shape) * keep
            uniform = smooth.sum() / wt.sum()
        } else {
            uniform = smooth.sum() / keep.sum()
        }
    }
    return nll * (1 - labelSmoothing) + uniform * (labelSmoothing / Double(classes))
}

/// Binary cross-entropy on probabilities: −w·(y·log p + (1−y)·log(1−p)), logs clamped at −100
/// as in PyTorch (a primitive: see Ops/BinaryCrossEntropy.swift).
public func binaryCrossEntropy(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "binaryCrossEntropy")
    var losses = Tensor.binaryCrossEntropyElementwise(input, target)
    if let weight { losses = losses * weight }
    return reduce(losses, reduction)
}

/// Binary cross-entropy on logits, stable for any logit:
/// (1−y)·x + (1 + (pw−1)·y)·(log(1 + e^(−|x|)) + max(−x, 0)), times `weight`.
/// `posWeight` (broadcast along the last dim) weighs the positive term.
public func binaryCrossEntropyWithLogits(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil,
                          reduction: Reduction = .mean) -> Tensor {
    checkSameShape(input, target, "bceWithLogits")
    // log(1 + e^(−x)) by branch, each branch fed only the inputs it is stable for, so that the
    // gradient is σ(x) − 1 everywhere (x = 0 included) and never NaN for huge logits.
    let nonNegative = input.ge(0)
    let zero = Tensor.zeros([], dtype: input.dtype)
    let xa = Tensor.where(nonNegative, input, zero), xb = Tensor.where(nonNegative, zero, input)
    let softplusNeg = Tensor.where(nonNegative, xa.neg().exp().log1p(), xb.exp().log1p() - xb)
    var losses: Tensor
    if let posWeight {
        losses = (1 - target) * input + (1 + (posWeight - 1) * target) * softplusNeg
    } else {
        losses = (1 - target) * input + softplusNeg
    }
    if let weight { losses = losses * weight }
    return reduce(losses, reduction)
}

/// The former name of `binaryCrossEntropyWithLogits`.
@available(*, deprecated, renamed: "binaryCrossEntropyWithLogits")
public func bceWithLogits(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil,
                          reduction: Reduction = .mean) -> Tensor {
    binaryCrossEntropyWithLogits(input, target, weight: weight, posWeight: posWeight, reduction: reduction)
}
