/// y = x·Wᵀ + b over the last dim.
///
/// Shapes: input (*, inFeatures) → output (*, outFeatures). `weight` is (outFeatures,
/// inFeatures), `bias` (outFeatures). Default initialization (PyTorch's): weight and bias
/// U(−1/√inFeatures, 1/√inFeatures).
public final class Linear: Module {
    /// The sizes of the input's and output's last dim.
    public let inFeatures: Int, outFeatures: Int
    /// W, (outFeatures, inFeatures).
    public let weight: Tensor
    /// b (outFeatures), or nil with `bias: false`.
    public let bias: Tensor?

    /// - Parameters:
    ///   - inFeatures: The size of the input's last dim.
    ///   - outFeatures: The size of the output's last dim.
    ///   - bias: Whether to add a learned bias (default true).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        check(inFeatures >= 0 && outFeatures >= 0, "[Linear] sizes must be non-negative, got \(inFeatures) and \(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = inFeatures > 0 ? 1 / Double(inFeatures).squareRoot() : 0
        weight = Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound)
        self.bias = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        check(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures,
              "[Linear] expected input with last dimension \(inFeatures), got shape \(Shape.describe(x.shape))")
        check(x.dtype == weight.dtype, "[Linear] expected input of dtype \(weight.dtype) (the layer's), got \(x.dtype)")
        return linear(x, weight: weight, bias: bias)
    }

    public override var extraDescription: String {
        "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(bias != nil ? "True" : "False")"
    }
}
