// Activation functions, composed from primitives (no backward code here). Formulas and
// gradients at kinks follow PyTorch.

extension Tensor {
    /// max(0, x) + negativeSlope · min(0, x). Gradient at 0 is `negativeSlope`, as PyTorch.
    public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
        Tensor.where(gt(0), self, self * negativeSlope)
    }

    /// x for x > 0, α(eˣ − 1) otherwise; gradient 1 for x > 0, αeˣ otherwise (α at 0, as PyTorch).
    public func elu(alpha: Double = 1) -> Tensor {
        // The negative branch reads x where x ≤ 0 and 0 elsewhere, so that its exp stays finite
        // and its gradient at exactly 0 is αe⁰ (a clamp's gradient would vanish on its bound).
        let positive = gt(0)
        let negativePart = Tensor.where(positive, Tensor.zeros([], dtype: dtype), self)
        return Tensor.where(positive, self, (negativePart.exp() - 1) * alpha)
    }

    /// GELU: x·Φ(x) with Φ the standard normal CDF (`approximate: false`), or
    /// 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (`approximate: true`, PyTorch's "tanh").
    public func gelu(approximate: Bool = false) -> Tensor {
        if approximate {
            let inner = (self + self * self * self * 0.044715) * (2 / Double.pi).squareRoot()
            return self * 0.5 * (inner.tanh() + 1)
        }
        return self * 0.5 * ((self * (1 / 2.0.squareRoot())).erf() + 1)
    }

    /// SiLU (swish): x·σ(x).
    public func silu() -> Tensor { self * sigmoid() }

    /// Softplus: (1/β)·log(1 + e^(βx)), and x where βx > threshold (for numerical stability).
    /// Gradient σ(βx), and 1 above the threshold (σ(threshold) at it, as PyTorch).
    public func softplus(beta: Double = 1, threshold: Double = 20) -> Tensor {
        let bx = self * beta
        let linear = bx.gt(threshold)
        // The smooth branch reads βx up to the threshold and 0 above it (finite exp, and a
        // gradient at the threshold itself, where a clamp's would vanish).
        let smooth = Tensor.where(linear, Tensor.zeros([], dtype: dtype), bx).exp().log1p() / beta
        return Tensor.where(linear, self, smooth)
    }

    /// Softmax along `dim`: eˣ / Σeˣ, computed stably.
    public func softmax(dim: Int) -> Tensor {
        let shifted = self - withNoGrad { amax(dims: [dim], keepDim: true) }
        let e = shifted.exp()
        return e / e.sum(dim: dim, keepDim: true)
    }

    /// clamp(x, minValue, maxValue); gradient 1 strictly inside.
    public func hardtanh(minValue: Double = -1, maxValue: Double = 1) -> Tensor { clamp(min: minValue, max: maxValue) }

    /// PReLU: max(0, x) + w·min(0, x), with `weight` of 1 or C values (C = dim 1 of the input).
    public func prelu(_ weight: Tensor) -> Tensor {
        var w = weight
        if weight.count > 1 {
            check(rank >= 2 && shape[1] == weight.count,
                  "[prelu] weight has \(weight.count) values but the input \(Shape.describe(shape)) has \(rank >= 2 ? shape[1] : 1) channels (dim 1)")
            w = weight.reshape([weight.count] + [Int](repeating: 1, count: rank - 2))
        }
        return Tensor.where(gt(0), self, w * self)
    }
}
