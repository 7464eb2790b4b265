/// y = x·Wᵀ + b over the last dim, as PyTorch's `F.linear`.
///
/// Shapes: input (*, in), weight (out, in), bias (out) → (*, out). Under
/// `withAutocast(.bfloat16)`: input, weight and bias rounded to bfloat16, products summed in
/// float32, the result rounded to bfloat16 (PyTorch's autocast `linear`).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    if let y = Autocast.lowerPrecision([input, weight, bias], { linear($0[0]!, weight: $0[1]!, bias: $0[2]) }) { return y }
    check(weight.rank == 2, "[linear] expected a weight of shape (out, in), got \(Shape.describe(weight.shape))")
    check(input.rank >= 1 && input.shape[input.rank - 1] == weight.shape[1],
          "[linear] expected input with last dimension \(weight.shape[1]), got shape \(Shape.describe(input.shape))")
    let y = input.matmul(weight.t)
    return bias.map { y + $0 } ?? y
}
