/// Layer normalization over the last dims (`normalizedShape`):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β, with the biased variance. γ = 1, β = 0 initially.
public final class LayerNorm: Module {
    /// The trailing shape normalized over, and ε.
    public let normalizedShape: [Int], eps: Double
    /// γ and β (of `normalizedShape`), or nil.
    public let weight: Tensor?, bias: Tensor?

    /// - Parameters:
    ///   - normalizedShape: The trailing dims normalized over.
    ///   - eps: ε added to the variance, default 1e-5.
    ///   - elementwiseAffine: Whether to learn γ (and β), default true.
    ///   - bias: Whether to learn β too, default true.
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    /// Layer normalization over a last dim of `size`.
    /// - Parameters:
    ///   - size: The size of the last dim.
    ///   - eps: ε added to the variance, default 1e-5.
    ///   - elementwiseAffine: Whether to learn γ and β, default true.
    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let n = normalizedShape.count
        check(x.rank >= n && Array(x.shape.suffix(n)) == normalizedShape,
              "[LayerNorm] expected input with trailing shape \(Shape.describe(normalizedShape)), got \(Shape.describe(x.shape))")
        return layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }

    public override var extraDescription: String {
        "(\(normalizedShape.map(String.init).joined(separator: ", "))\(normalizedShape.count == 1 ? "," : "")), eps=\(eps), elementwise_affine=\(weight != nil ? "True" : "False")"
    }
}
