// The functional forms of convolution (PyTorch's F.conv1d/2d, F.conv_transpose1d/2d) over the
// primitives of Ops/Convolution.swift: padding resolved, 1-D as 2-D with a height of 1.

/// Convolution padding: a number or pair of zeros on each side, `"same"` (output size equals
/// input size, stride 1 only; an odd total puts the extra zero after) or `"valid"` (none).
public enum ConvPadding: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByStringLiteral {
    case explicit(Size2)
    case same
    case valid

    /// `1` means one zero on every side.
    public init(integerLiteral v: Int) { self = .explicit(Size2(v)) }
    /// `[1, 2]` means 1 row above and below, 2 columns left and right.
    public init(arrayLiteral values: Int...) {
        check(values.count == 2 || values.count == 1, "[ConvPadding] expected 1 or 2 values, got \(values)")
        self = .explicit(Size2(values[0], values.count == 2 ? values[1] : values[0]))
    }
    /// `"same"` or `"valid"` (any other string stops with a message).
    public init(stringLiteral s: String) {
        switch s {
        case "same": self = .same
        case "valid": self = .valid
        default: checkFailure("[ConvPadding] padding string must be \"same\" or \"valid\", got \"\(s)\"")
        }
    }

    /// Concrete padding for a kernel, dilation and stride.
    func resolve(kernel: Size2, dilation: Size2, stride: Size2, op: String) -> Padding4 {
        switch self {
        case .explicit(let p): return Padding4(top: p.h, left: p.w, bottom: p.h, right: p.w)
        case .valid: return Padding4(top: 0, left: 0, bottom: 0, right: 0)
        case .same:
            check(stride == Size2(1), "[\(op)] padding='same' is not supported for strided convolutions")
            let th = dilation.h * (kernel.h - 1), tw = dilation.w * (kernel.w - 1)
            return Padding4(top: th / 2, left: tw / 2, bottom: th - th / 2, right: tw - tw / 2)
        }
    }

    var text: String {
        switch self {
        case .explicit(let p): return p.description
        case .same: return "same"
        case .valid: return "valid"
        }
    }
}

/// 2-D convolution as PyTorch's `F.conv2d`: input (N, C, H, W), weight (O, C/groups, kH, kW),
/// bias (O) → (N, O, H', W') with H' = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1.
public func conv2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Size2 = 1, padding: ConvPadding = 0,
                   dilation: Size2 = 1, groups: Int = 1) -> Tensor {
    let k = Size2(weight.rank == 4 ? weight.shape[2] : 1, weight.rank == 4 ? weight.shape[3] : 1)
    return Tensor.convolution2d(input, weight, bias, stride: stride.pair,
                                padding: padding.resolve(kernel: k, dilation: dilation, stride: stride, op: "conv2d"),
                                dilation: dilation.pair, groups: groups)
}

/// 1-D convolution: input (N, C, L), weight (O, C/groups, k) → (N, O, L').
public func conv1d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: ConvPadding = 0,
                   dilation: Int = 1, groups: Int = 1) -> Tensor {
    check(input.rank == 3, "[conv1d] expected input of shape (N, C, L), got \(Shape.describe(input.shape))")
    check(weight.rank == 3, "[conv1d] expected weight of shape (O, C/groups, k), got \(Shape.describe(weight.shape))")
    let p: ConvPadding
    switch padding {
    case .explicit(let s): p = .explicit(Size2(0, s.w))
    default: p = padding
    }
    return conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias: bias, stride: Size2(1, stride), padding: p,
                  dilation: Size2(1, dilation), groups: groups).squeeze(dim: 2)
}

/// 2-D transposed convolution as PyTorch's `F.conv_transpose2d`: weight (Cin, Cout/groups,
/// kH, kW); H' = (H−1)s − 2p + d(k−1) + outputPadding + 1.
public func convTranspose2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Size2 = 1, padding: Size2 = 0,
                            outputPadding: Size2 = 0, groups: Int = 1, dilation: Size2 = 1) -> Tensor {
    Tensor.convolutionTranspose2d(input, weight, bias, stride: stride.pair, padding: padding.pair,
                                  outputPadding: outputPadding.pair, dilation: dilation.pair, groups: groups)
}

/// 1-D transposed convolution: input (N, Cin, L), weight (Cin, Cout/groups, k).
public func convTranspose1d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0, groups: Int = 1, dilation: Int = 1) -> Tensor {
    check(input.rank == 3, "[convTranspose1d] expected input of shape (N, C, L), got \(Shape.describe(input.shape))")
    check(weight.rank == 3, "[convTranspose1d] expected weight of shape (Cin, Cout/groups, k), got \(Shape.describe(weight.shape))")
    return convTranspose2d(input.unsqueeze(2), weight.unsqueeze(2), bias: bias, stride: Size2(1, stride), padding: Size2(0, padding),
                           outputPadding: Size2(0, outputPadding), groups: groups, dilation: Size2(1, dilation)).squeeze(dim: 2)
}

