/// y = x·Wᵀ + b over the last dim, as PyTorch's `F.linear`.
///
/// Shapes: input (*, in), weight (out, in), bias (out) → (*, out). Under
/// `withAutocast(.bfloat16)`: input, weight and bias rounded to bfloat16, products summed in
/// float32, the result rounded to bfloat16 (PyTorch's autocast `linear`).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    if isAutocastEnabled {
        // Where the bf16 GEMM rounds the input as it packs it and writes its gradient rounded,
        // autocast takes no pass for them (the result, bias added, is rounded as always).
        let kernelsRound = weight.rank == 2 && Kernels.matmulRoundsOperands(input, weight)
        let rounding = ProductRounding(result: false, inputGradient: kernelsRound && !Autocast.isCachedWeight(input),
                                       otherGradient: kernelsRound && !Autocast.isCachedWeight(weight))
        if let y = Autocast.lowerPrecision([input, weight, bias], roundedByKernels: kernelsRound ? .input : [], {
            linear($0[0]!, weight: $0[1]!, bias: $0[2], rounding: rounding)
        }) { return y }
    }
    return linear(input, weight: weight, bias: bias, rounding: .none)
}

/// `linear`, with what the bf16 kernels round (`ProductRounding`) inside autocast.
func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, rounding: ProductRounding) -> Tensor {
    check(weight.rank == 2, "[linear] expected a weight of shape (out, in), got \(Shape.describe(weight.shape))")
    check(input.rank >= 1 && input.shape[input.rank - 1] == weight.shape[1],
          "[linear] expected input with last dimension \(weight.shape[1]), got shape \(Shape.describe(input.shape))")
    if let bias, let y = Tensor.linearAddingBias(input, weight, bias, rounding) { return y }
    let y = input.matmul(weight.t, rounding: rounding)
    return bias.map { y + $0 } ?? y
}
