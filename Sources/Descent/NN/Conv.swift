/// A size per spatial dim, written as one number (`3`) or a list (`[3, 5]`).
public struct Size2: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, CustomStringConvertible {
    public let h: Int, w: Int
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    public init(_ v: Int) { self.init(v, v) }
    public init(integerLiteral v: Int) { self.init(v) }
    public init(arrayLiteral values: Int...) {
        precondition(values.count == 2 || values.count == 1, "[Size2] expected 1 or 2 values, got \(values)")
        self.init(values[0], values.count == 2 ? values[1] : values[0])
    }
    public var description: String { "(\(h), \(w))" }
    var pair: (Int, Int) { (h, w) }
}

/// Convolution padding: a number or pair of zeros on each side, `"same"` (output size equals
/// input size, stride 1 only; an odd total puts the extra zero after) or `"valid"` (none).
public enum ConvPadding: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByStringLiteral {
    case explicit(Size2)
    case same
    case valid

    public init(integerLiteral v: Int) { self = .explicit(Size2(v)) }
    public init(arrayLiteral values: Int...) {
        precondition(values.count == 2 || values.count == 1, "[ConvPadding] expected 1 or 2 values, got \(values)")
        self = .explicit(Size2(values[0], values.count == 2 ? values[1] : values[0]))
    }
    public init(stringLiteral s: String) {
        switch s {
        case "same": self = .same
        case "valid": self = .valid
        default: preconditionFailure("[ConvPadding] padding string must be \"same\" or \"valid\", got \"\(s)\"")
        }
    }

    /// Concrete padding for a kernel, dilation and stride.
    func resolve(kernel: Size2, dilation: Size2, stride: Size2, op: String) -> Padding4 {
        switch self {
        case .explicit(let p): return Padding4(top: p.h, left: p.w, bottom: p.h, right: p.w)
        case .valid: return Padding4(top: 0, left: 0, bottom: 0, right: 0)
        case .same:
            precondition(stride == Size2(1), "[\(op)] padding='same' is not supported for strided convolutions")
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
    precondition(input.rank == 3, "[conv1d] expected input of shape (N, C, L), got \(Shape.describe(input.shape))")
    precondition(weight.rank == 3, "[conv1d] expected weight of shape (O, C/groups, k), got \(Shape.describe(weight.shape))")
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
    precondition(input.rank == 3, "[convTranspose1d] expected input of shape (N, C, L), got \(Shape.describe(input.shape))")
    precondition(weight.rank == 3, "[convTranspose1d] expected weight of shape (Cin, Cout/groups, k), got \(Shape.describe(weight.shape))")
    return convTranspose2d(input.unsqueeze(2), weight.unsqueeze(2), bias: bias, stride: Size2(1, stride), padding: Size2(0, padding),
                           outputPadding: Size2(0, outputPadding), groups: groups, dilation: Size2(1, dilation)).squeeze(dim: 2)
}

/// Weight and bias for a convolution layer, U(−1/√fanIn, 1/√fanIn) as PyTorch's default.
private func convParameters(weightShape: [Int], fanIn: Int, biasCount: Int?) -> (Tensor, Tensor?) {
    let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
    return (Tensor.uniform(weightShape, low: -bound, high: bound), biasCount.map { Tensor.uniform([$0], low: -bound, high: bound) })
}

/// PyTorch's text for a convolution layer: sizes as tuples, defaults omitted.
private func convDescription(_ inC: Int, _ outC: Int, kernel: [Int], stride: [Int], padding: ConvPadding?, dilation: [Int],
                             outputPadding: [Int]? = nil, groups: Int, bias: Bool) -> String {
    func tuple(_ v: [Int]) -> String { v.count == 1 ? "(\(v[0]),)" : "(" + v.map(String.init).joined(separator: ", ") + ")" }
    let oneD = kernel.count == 1
    var text = "\(inC), \(outC), kernel_size=\(tuple(kernel)), stride=\(tuple(stride))"
    switch padding {
    case .explicit(let p)?:
        let v = oneD ? [p.w] : [p.h, p.w]
        if v.contains(where: { $0 != 0 }) { text += ", padding=\(tuple(v))" }
    case .some(let p): text += ", padding=\(p.text)"
    case nil: break
    }
    if let op = outputPadding, op.contains(where: { $0 != 0 }) { text += ", output_padding=\(tuple(op))" }
    if dilation.contains(where: { $0 != 1 }) { text += ", dilation=\(tuple(dilation))" }
    if groups != 1 { text += ", groups=\(groups)" }
    if !bias { text += ", bias=False" }
    return text
}

/// 2-D convolution layer. Input (N, inChannels, H, W) → (N, outChannels, H', W').
/// weight (outChannels, inChannels/groups, kH, kW), bias (outChannels); both initialized
/// U(−1/√fanIn, 1/√fanIn) with fanIn = inChannels/groups·kH·kW (PyTorch's default).
public final class Conv2d: Module {
    public let inChannels: Int, outChannels: Int, groups: Int
    public let kernelSize: Size2, stride: Size2, padding: ConvPadding, dilation: Size2
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2, stride: Size2 = 1, padding: ConvPadding = 0,
                dilation: Size2 = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "[Conv2d] inChannels \(inChannels) and outChannels \(outChannels) must be divisible by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.groups = groups
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding; self.dilation = dilation
        (weight, self.bias) = convParameters(weightShape: [outChannels, inChannels / groups, kernelSize.h, kernelSize.w],
                                             fanIn: inChannels / groups * kernelSize.h * kernelSize.w, biasCount: bias ? outChannels : nil)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "[Conv2d] expected input of shape (N, \(inChannels), H, W), got \(Shape.describe(x.shape))")
        return conv2d(x, weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize.h, kernelSize.w], stride: [stride.h, stride.w],
                        padding: padding, dilation: [dilation.h, dilation.w], groups: groups, bias: bias != nil)
    }
}

/// 1-D convolution layer. Input (N, inChannels, L) → (N, outChannels, L').
/// weight (outChannels, inChannels/groups, k), bias (outChannels), initialized as Conv2d's.
public final class Conv1d: Module {
    public let inChannels: Int, outChannels: Int, groups: Int
    public let kernelSize: Int, stride: Int, padding: ConvPadding, dilation: Int
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: ConvPadding = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "[Conv1d] inChannels \(inChannels) and outChannels \(outChannels) must be divisible by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.groups = groups
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding; self.dilation = dilation
        (weight, self.bias) = convParameters(weightShape: [outChannels, inChannels / groups, kernelSize],
                                             fanIn: inChannels / groups * kernelSize, biasCount: bias ? outChannels : nil)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == inChannels,
                     "[Conv1d] expected input of shape (N, \(inChannels), L), got \(Shape.describe(x.shape))")
        return conv1d(x, weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize], stride: [stride], padding: padding,
                        dilation: [dilation], groups: groups, bias: bias != nil)
    }
}

/// 2-D transposed convolution (learnable upsampling). Input (N, inChannels, H, W) →
/// (N, outChannels, H', W') with H' = (H−1)·stride − 2·padding + dilation·(k−1) + outputPadding + 1.
/// weight (inChannels, outChannels/groups, kH, kW), bias (outChannels), initialized
/// U(−1/√fanIn, 1/√fanIn) with fanIn = outChannels/groups·kH·kW (PyTorch's convention).
public final class ConvTranspose2d: Module {
    public let inChannels: Int, outChannels: Int, groups: Int
    public let kernelSize: Size2, stride: Size2, padding: Size2, outputPadding: Size2, dilation: Size2
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2, stride: Size2 = 1, padding: Size2 = 0,
                outputPadding: Size2 = 0, groups: Int = 1, bias: Bool = true, dilation: Size2 = 1) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "[ConvTranspose2d] inChannels \(inChannels) and outChannels \(outChannels) must be divisible by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.groups = groups
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.outputPadding = outputPadding; self.dilation = dilation
        (weight, self.bias) = convParameters(weightShape: [inChannels, outChannels / groups, kernelSize.h, kernelSize.w],
                                             fanIn: outChannels / groups * kernelSize.h * kernelSize.w, biasCount: bias ? outChannels : nil)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor { forward(x, outputSize: nil) }

    /// Runs the layer; `outputSize` (H', W') picks the output padding that gives that size,
    /// as PyTorch's `output_size` argument.
    public func forward(_ x: Tensor, outputSize: [Int]?) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "[ConvTranspose2d] expected input of shape (N, \(inChannels), H, W), got \(Shape.describe(x.shape))")
        var op = outputPadding
        if let outputSize {
            let size = Array(outputSize.suffix(2))
            op = Size2(transposedOutputPadding(x.shape[2], size[0], kernelSize.h, stride.h, padding.h, dilation.h, "ConvTranspose2d"),
                       transposedOutputPadding(x.shape[3], size[1], kernelSize.w, stride.w, padding.w, dilation.w, "ConvTranspose2d"))
        }
        return convTranspose2d(x, weight, bias: bias, stride: stride, padding: padding, outputPadding: op,
                               groups: groups, dilation: dilation)
    }

    public func callAsFunction(_ x: Tensor, outputSize: [Int]) -> Tensor { forward(x, outputSize: outputSize) }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize.h, kernelSize.w], stride: [stride.h, stride.w],
                        padding: .explicit(padding), dilation: [dilation.h, dilation.w],
                        outputPadding: [outputPadding.h, outputPadding.w], groups: groups, bias: bias != nil)
    }
}

/// 1-D transposed convolution. Input (N, inChannels, L) → (N, outChannels, L').
/// weight (inChannels, outChannels/groups, k).
public final class ConvTranspose1d: Module {
    public let inChannels: Int, outChannels: Int, groups: Int
    public let kernelSize: Int, stride: Int, padding: Int, outputPadding: Int, dilation: Int
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "[ConvTranspose1d] inChannels \(inChannels) and outChannels \(outChannels) must be divisible by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.groups = groups
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.outputPadding = outputPadding; self.dilation = dilation
        (weight, self.bias) = convParameters(weightShape: [inChannels, outChannels / groups, kernelSize],
                                             fanIn: outChannels / groups * kernelSize, biasCount: bias ? outChannels : nil)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor { forward(x, outputSize: nil) }

    /// Runs the layer; `outputSize` (L') picks the output padding that gives that length.
    public func forward(_ x: Tensor, outputSize: [Int]?) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == inChannels,
                     "[ConvTranspose1d] expected input of shape (N, \(inChannels), L), got \(Shape.describe(x.shape))")
        var op = outputPadding
        if let outputSize, let l = outputSize.last {
            op = transposedOutputPadding(x.shape[2], l, kernelSize, stride, padding, dilation, "ConvTranspose1d")
        }
        return convTranspose1d(x, weight, bias: bias, stride: stride, padding: padding, outputPadding: op,
                               groups: groups, dilation: dilation)
    }

    public func callAsFunction(_ x: Tensor, outputSize: [Int]) -> Tensor { forward(x, outputSize: outputSize) }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize], stride: [stride], padding: .explicit(Size2(0, padding)),
                        dilation: [dilation], outputPadding: [outputPadding], groups: groups, bias: bias != nil)
    }
}

/// The output padding that makes a transposed convolution produce `wanted` from `input`.
private func transposedOutputPadding(_ input: Int, _ wanted: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int, _ op: String) -> Int {
    let minimum = (input - 1) * s - 2 * p + d * (k - 1) + 1
    precondition(wanted >= minimum && wanted < minimum + s,
                 "[\(op)] requested output size \(wanted) is not between \(minimum) and \(minimum + s - 1) for input size \(input)")
    return wanted - minimum
}
