// Convolution layers: parameters, PyTorch's printed form, and the functional forms of
// Functional/ConvFunctions.swift.

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
    /// Channels in and out, and the number of groups.
    public let inChannels: Int, outChannels: Int, groups: Int
    /// The kernel size, stride, padding and dilation given at creation.
    public let kernelSize: Size2, stride: Size2, padding: ConvPadding, dilation: Size2
    /// The kernel, (outChannels, inChannels/groups, kH, kW).
    public let weight: Tensor
    /// The bias (outChannels), or nil with `bias: false`.
    public let bias: Tensor?

    /// A 2-D convolution with PyTorch's default initialization.
    /// - Parameters:
    ///   - inChannels: Channels of the input (C).
    ///   - outChannels: Channels of the output.
    ///   - kernelSize: The kernel's size (kh, kw), or one number for both.
    ///   - stride: The step between windows, default 1.
    ///   - padding: Zeros added on each side (a number, a pair, `"same"` or `"valid"`), default 0.
    ///   - dilation: The spacing between kernel taps, default 1.
    ///   - groups: Channel groups convolved separately (both channel counts divisible by it), default 1.
    ///   - bias: Whether to add a learned bias (default true).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2, stride: Size2 = 1, padding: ConvPadding = 0,
                dilation: Size2 = 1, groups: Int = 1, bias: Bool = true) {
        check(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
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
        check((x.rank == 4 || x.rank == 3) && x.shape[x.rank - 3] == inChannels,
              "[Conv2d] expected input of shape (N, \(inChannels), H, W) or (\(inChannels), H, W), got \(Shape.describe(x.shape))")
        checkInputType(x, weight)
        return batchingUnbatched(x, batchedRank: 4) {
            conv2d($0, weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
    }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize.h, kernelSize.w], stride: [stride.h, stride.w],
                        padding: padding, dilation: [dilation.h, dilation.w], groups: groups, bias: bias != nil)
    }
}

/// 1-D convolution layer. Input (N, inChannels, L) → (N, outChannels, L').
/// weight (outChannels, inChannels/groups, k), bias (outChannels), initialized as Conv2d's.
public final class Conv1d: Module {
    /// Channels in and out, and the number of groups.
    public let inChannels: Int, outChannels: Int, groups: Int
    /// The kernel length, stride, padding and dilation given at creation.
    public let kernelSize: Int, stride: Int, padding: ConvPadding, dilation: Int
    /// The kernel, (outChannels, inChannels/groups, k).
    public let weight: Tensor
    /// The bias (outChannels), or nil with `bias: false`.
    public let bias: Tensor?

    /// A 1-D convolution with PyTorch's default initialization.
    /// - Parameters:
    ///   - inChannels: Channels of the input (C).
    ///   - outChannels: Channels of the output.
    ///   - kernelSize: The kernel's size length k.
    ///   - stride: The step between windows, default 1.
    ///   - padding: Zeros added on each side (a number, `"same"` or `"valid"`), default 0.
    ///   - dilation: The spacing between kernel taps, default 1.
    ///   - groups: Channel groups convolved separately (both channel counts divisible by it), default 1.
    ///   - bias: Whether to add a learned bias (default true).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: ConvPadding = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        check(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
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
        check((x.rank == 3 || x.rank == 2) && x.shape[x.rank - 2] == inChannels,
              "[Conv1d] expected input of shape (N, \(inChannels), L) or (\(inChannels), L), got \(Shape.describe(x.shape))")
        checkInputType(x, weight)
        return batchingUnbatched(x, batchedRank: 3) {
            conv1d($0, weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
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
    /// Channels in and out, and the number of groups.
    public let inChannels: Int, outChannels: Int, groups: Int
    /// The kernel size, stride, padding, output padding and dilation given at creation.
    public let kernelSize: Size2, stride: Size2, padding: Size2, outputPadding: Size2, dilation: Size2
    /// The kernel, (inChannels, outChannels/groups, kH, kW) (PyTorch's transposed layout).
    public let weight: Tensor
    /// The bias (outChannels), or nil with `bias: false`.
    public let bias: Tensor?

    /// A 2-D transposed convolution with PyTorch's default initialization.
    /// - Parameters:
    ///   - inChannels: Channels of the input.
    ///   - outChannels: Channels of the output.
    ///   - kernelSize: The kernel's size (kh, kw), or one number for both.
    ///   - stride: The upsampling factor, default 1.
    ///   - padding: Rows and columns removed from each side of the full output, default 0.
    ///   - outputPadding: Rows and columns added at the end (smaller than the stride), default 0.
    ///   - groups: Channel groups, default 1.
    ///   - bias: Whether to add a learned bias (default true).
    ///   - dilation: The spacing between kernel taps, default 1.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2, stride: Size2 = 1, padding: Size2 = 0,
                outputPadding: Size2 = 0, groups: Int = 1, bias: Bool = true, dilation: Size2 = 1) {
        check(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
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
        check((x.rank == 4 || x.rank == 3) && x.shape[x.rank - 3] == inChannels,
              "[ConvTranspose2d] expected input of shape (N, \(inChannels), H, W) or (\(inChannels), H, W), got \(Shape.describe(x.shape))")
        checkInputType(x, weight)
        if x.rank == 3 { return forward(x.unsqueeze(0), outputSize: outputSize).squeeze(dim: 0) }
        var op = outputPadding
        if let outputSize {
            let size = Array(outputSize.suffix(2))
            op = Size2(transposedOutputPadding(x.shape[2], size[0], kernelSize.h, stride.h, padding.h, dilation.h, "ConvTranspose2d"),
                       transposedOutputPadding(x.shape[3], size[1], kernelSize.w, stride.w, padding.w, dilation.w, "ConvTranspose2d"))
        }
        return convTranspose2d(x, weight, bias: bias, stride: stride, padding: padding, outputPadding: op,
                               groups: groups, dilation: dilation)
    }

    /// Runs the layer to the output size (H', W'): `forward(_:outputSize:)`.
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
    /// Channels in and out, and the number of groups.
    public let inChannels: Int, outChannels: Int, groups: Int
    /// The kernel length, stride, padding, output padding and dilation given at creation.
    public let kernelSize: Int, stride: Int, padding: Int, outputPadding: Int, dilation: Int
    /// The kernel, (inChannels, outChannels/groups, k).
    public let weight: Tensor
    /// The bias (outChannels), or nil with `bias: false`.
    public let bias: Tensor?

    /// A 1-D transposed convolution with PyTorch's default initialization.
    /// - Parameters:
    ///   - inChannels: Channels of the input.
    ///   - outChannels: Channels of the output.
    ///   - kernelSize: The kernel length k.
    ///   - stride: The upsampling factor, default 1.
    ///   - padding: Positions removed from each end of the full output, default 0.
    ///   - outputPadding: Positions added at the end (smaller than the stride), default 0.
    ///   - groups: Channel groups, default 1.
    ///   - bias: Whether to add a learned bias (default true).
    ///   - dilation: The spacing between kernel taps, default 1.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1) {
        check(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
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
        check((x.rank == 3 || x.rank == 2) && x.shape[x.rank - 2] == inChannels,
              "[ConvTranspose1d] expected input of shape (N, \(inChannels), L) or (\(inChannels), L), got \(Shape.describe(x.shape))")
        checkInputType(x, weight)
        if x.rank == 2 { return forward(x.unsqueeze(0), outputSize: outputSize).squeeze(dim: 0) }
        var op = outputPadding
        if let outputSize, let l = outputSize.last {
            op = transposedOutputPadding(x.shape[2], l, kernelSize, stride, padding, dilation, "ConvTranspose1d")
        }
        return convTranspose1d(x, weight, bias: bias, stride: stride, padding: padding, outputPadding: op,
                               groups: groups, dilation: dilation)
    }

    /// Runs the layer to the output length L': `forward(_:outputSize:)`.
    public func callAsFunction(_ x: Tensor, outputSize: [Int]) -> Tensor { forward(x, outputSize: outputSize) }

    public override var extraDescription: String {
        convDescription(inChannels, outChannels, kernel: [kernelSize], stride: [stride], padding: .explicit(Size2(0, padding)),
                        dilation: [dilation], outputPadding: [outputPadding], groups: groups, bias: bias != nil)
    }
}

/// The output padding that makes a transposed convolution produce `wanted` from `input`.
private func transposedOutputPadding(_ input: Int, _ wanted: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int, _ op: String) -> Int {
    let minimum = (input - 1) * s - 2 * p + d * (k - 1) + 1
    check(wanted >= minimum && wanted < minimum + s,
          "[\(op)] requested output size \(wanted) is not between \(minimum) and \(minimum + s - 1) for input size \(input)")
    return wanted - minimum
}
