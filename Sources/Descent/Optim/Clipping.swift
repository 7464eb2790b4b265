import Foundation

/// Why `clipGradNorm` refused to clip: the total norm is NaN or infinite.
public struct NonFiniteGradientError: Error, CustomStringConvertible, Equatable {
    /// The total norm.
    public let norm: Double
    /// - Parameter norm: The total norm that is not finite.
    public init(norm: Double) { self.norm = norm }
    /// PyTorch's wording.
    public var description: String {
        "[clipGradNorm] the total norm of order p of the gradients is \(norm): refusing to spread it into the weights (errorIfNonfinite)"
    }
}

/// Scales the gradients of `parameters` so that their total p-norm (over all of them together)
/// is at most `maxNorm`, as PyTorch's `torch.nn.utils.clip_grad_norm_`: the remedy for
/// exploding gradients. Each gradient is multiplied by min(1, maxNorm/(total + 1e-6)).
///
/// - Parameters:
///   - parameters: The tensors whose `grad`s are clipped (those without one are skipped).
///   - maxNorm: The largest total norm allowed.
///   - normType: p of the norm (default 2; `.infinity` for the largest absolute value).
///   - errorIfNonfinite: Throw `NonFiniteGradientError`, changing nothing, when the total norm
///     is NaN or infinite (otherwise the gradients are scaled by a non-finite factor, as PyTorch does).
/// - Returns: The total norm of the gradients before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double, normType: Double = 2,
                         errorIfNonfinite: Bool = false) throws -> Double {
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let total: Double = withNoGrad {
        if normType == .infinity {
            return grads.map { $0.abs().amax().itemDouble }.max()!
        }
        let norms = grads.map { g -> Double in
            normType == 2 ? (g.to(.float64) * g.to(.float64)).sum().itemDouble.squareRoot()
                          : g.to(.float64).abs().pow(normType).sum().itemDouble
        }
        return normType == 2 ? norms.map { $0 * $0 }.reduce(0, +).squareRoot()
                             : Foundation.pow(norms.reduce(0, +), 1 / normType)
    }
    if errorIfNonfinite && !total.isFinite { throw NonFiniteGradientError(norm: total) }
    let coefficient = Swift.min(maxNorm / (total + 1e-6), 1)
    withNoGrad {
        for g in grads { g.mulAssign(Tensor(coefficient, dtype: g.dtype)) }
    }
    return total
}

/// Clamps every gradient element of `parameters` to [−clipValue, clipValue], as PyTorch's
/// `torch.nn.utils.clip_grad_value_`.
public func clipGradValue(_ parameters: [Tensor], clipValue: Double) {
    check(clipValue >= 0, "[clipGradValue] clipValue must be non-negative, got \(clipValue)")
    withNoGrad {
        for p in parameters { if let g = p.grad { g.assign(g.clamp(min: -clipValue, max: clipValue)) } }
    }
}
