// Batch and layer normalization. Batch normalization's training pass is a fused primitive
// (Ops/BatchNormOps.swift) with `batchNormReference`, composed of primitives, as its oracle;
// running statistics are updated in place outside the graph. Layer normalization is a composite.

/// Batch normalization over every dim but 1 (channels), as PyTorch's `F.batch_norm`.
///
/// Training (or without running statistics): normalizes with the batch mean and the biased
/// variance, and, when given, updates `runningMean`/`runningVar` in place as
/// new = (1 − momentum)·old + momentum·batch, using the unbiased variance for `runningVar`.
/// Evaluation: normalizes with the running statistics. y = (x − μ)/√(σ² + ε)·weight + bias.
public func batchNorm(_ input: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor? = nil, bias: Tensor? = nil,
                      training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) -> Tensor {
    check(input.rank >= 2, "[batchNorm] expected input of shape (N, C, …), got \(Shape.describe(input.shape))")
    check(input.dtype.isFloatingPoint, "[batchNorm] expected a floating-point input, got \(input.dtype)")
    let c = input.shape[1], perChannel = input.count / max(c, 1)
    for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
        if let t { check(t.shape == [c], "[batchNorm] \(name) must have shape (\(c),), got \(Shape.describe(t.shape))") }
    }
    guard training || runningMean == nil || runningVar == nil else {
        return batchNormReference(input, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                  training: false, momentum: momentum, eps: eps)
    }
    check(perChannel > 1, "[batchNorm] expected more than 1 value per channel when training, got input size \(Shape.describe(input.shape))")
    let (out, mean, variance) = Tensor.batchNormTraining(input, weight: weight?.to(input.dtype), bias: bias?.to(input.dtype), eps: eps)
    if training, let runningMean, let runningVar {
        let unbiased = variance.map { $0 * Double(perChannel) / Double(perChannel - 1) }
        withNoGrad {
            runningMean.assign(runningMean * (1 - momentum) + Tensor(shape: [c], scalars: mean) * momentum)
            runningVar.assign(runningVar * (1 - momentum) + Tensor(shape: [c], scalars: unbiased) * momentum)
        }
    }
    return out
}

/// Batch normalization composed of primitives (mean, variance, arithmetic): the oracle that
/// `batchNorm`'s fused primitive is tested against. Same arguments and results.
public func batchNormReference(_ input: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor? = nil, bias: Tensor? = nil,
                               training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) -> Tensor {
    check(input.rank >= 2, "[batchNorm] expected input of shape (N, C, …), got \(Shape.describe(input.shape))")
    let c = input.shape[1]
    let dims = [0] + Array(2..<input.rank)
    let statShape = [1, c] + [Int](repeating: 1, count: input.rank - 2)
    let perChannel = input.count / max(c, 1)
    let mean: Tensor, variance: Tensor
    if training || runningMean == nil || runningVar == nil {
        check(perChannel > 1, "[batchNorm] expected more than 1 value per channel when training, got input size \(Shape.describe(input.shape))")
        mean = input.mean(dims: dims, keepDim: true)
        let centered = input - mean
        variance = (centered * centered).mean(dims: dims, keepDim: true)
        if training, let runningMean, let runningVar {
            withNoGrad {
                let unbiased = variance.detach().reshape([c]) * (Double(perChannel) / Double(perChannel - 1))
                runningMean.assign(runningMean * (1 - momentum) + mean.detach().reshape([c]) * momentum)
                runningVar.assign(runningVar * (1 - momentum) + unbiased * momentum)
            }
        }
    } else {
        mean = runningMean!.reshape(statShape)
        variance = runningVar!.reshape(statShape)
    }
    var y = (input - mean) * (variance + eps).rsqrt()
    if let weight { y = y * weight.reshape(statShape) }
    if let bias { y = y + bias.reshape(statShape) }
    return y
}

/// Layer normalization over the trailing dims `normalizedShape`, as PyTorch's `F.layer_norm`:
/// y = (x − E[x]) / √(Var[x] + ε) · weight + bias, with the biased variance; weight and bias
/// (optional) have shape `normalizedShape`.
public func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                      eps: Double = 1e-5) -> Tensor {
    let n = normalizedShape.count
    check(input.rank >= n && Array(input.shape.suffix(n)) == normalizedShape,
          "[layerNorm] expected input with trailing shape \(Shape.describe(normalizedShape)), got \(Shape.describe(input.shape))")
    let dims = Array((input.rank - n)..<input.rank)
    let mean = input.mean(dims: dims, keepDim: true)
    let centered = input - mean
    var y = centered * ((centered * centered).mean(dims: dims, keepDim: true) + eps).rsqrt()
    if let weight { y = y * weight }
    if let bias { y = y + bias }
    return y
}
