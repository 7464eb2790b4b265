/// y = x·Wᵀ + b over the last dim, as PyTorch's `F.linear`.
///
/// Shapes: input (*, in), weight (out, in), bias (out) → (*, out).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    check(weight.rank == 2, "[linear] expected a weight of shape (out, in), got \(Shape.describe(weight.shape))")
    check(input.rank >= 1 && input.shape[input.rank - 1] == weight.shape[1],
          "[linear] expected input with last dimension \(weight.shape[1]), got shape \(Shape.describe(input.shape))")
    let y = input.matmul(weight.t)
    return bias.map { y + $0 } ?? y
}
