/// Layer normalization over the last dims (`normalizedShape`):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β, with the biased variance. γ = 1, β = 0 initially.
public final class LayerNorm: Module {
    public let normalizedShape: [Int], eps: Double
    public let weight: Tensor?, bias: Tensor?

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

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
