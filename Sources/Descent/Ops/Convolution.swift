// 2-D convolution and transposed convolution primitives: checks and output sizes, the kernels
// (Kernels/Convolution.swift chooses the algorithm), and the backward rules. The functional
// forms (Functional/Convolution.swift) and the layers (NN/Conv.swift) are built on these.

/// Padding of a 2-D convolution: rows before/after, columns before/after.
struct Padding4 {
    let top: Int, left: Int, bottom: Int, right: Int
}

extension Tensor {
    /// out[n, o] = bias[o] + Σ_c Σ_ij w[o, c, i, j] · x[n, g·C/groups + c, oy·sh − pt + i·dh, ox·sw − pl + j·dw].
    /// `roundsGradient`: inside autocast, the output's gradient arrives unrounded
    /// (`Autocast.lowerPrecision`'s `roundedByKernels`), so the bias's gradient sums it rounded.
    static func convolution2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: Padding4,
                              dilation: (Int, Int), groups: Int, op: String = "conv2d", roundsGradient: Bool = false) -> Tensor {
        check(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        check(w.rank == 4, "[\(op)] expected weight of shape (O, C/groups, kH, kW), got \(Shape.describe(w.shape))")
        check(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        check(groups >= 1 && c % groups == 0 && o % groups == 0,
              "[\(op)] channels in \(c) and out \(o) must be divisible by groups \(groups)")
        check(cg == c / groups, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cg * groups) input channels (groups \(groups)), got input \(Shape.describe(x.shape))")
        check(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1, "[\(op)] stride and dilation must be positive")
        let oh = (h + padding.top + padding.bottom - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + padding.left + padding.right - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        check(oh >= 1 && ow >= 1 && h + padding.top + padding.bottom >= dilation.0 * (kh - 1) + 1 && wd + padding.left + padding.right >= dilation.1 * (kw - 1) + 1,
              "[\(op)] input \(Shape.describe(x.shape)) padded is smaller than the dilated kernel (\(kh), \(kw))")
        if let bias {
            check(bias.shape == [o], "[\(op)] bias must have shape (\(o),), got \(Shape.describe(bias.shape))")
            check(bias.dtype == x.dtype, "[\(op)] bias \(bias.dtype) must have the input's type \(x.dtype)")
        }
        let g = ConvGeometry(n: n, c: c, h: h, w: wd, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.top, padW: padding.left, dh: dilation.0, dw: dilation.1, oh: oh, ow: ow)
        if isAutocastEnabled {
            let kernelsRound = Kernels.convolutionRoundsOperands(x, g, groups: groups, outChannels: o, inputGradient: Tensor.needsGrad(x),
                                                                 weightGradient: Tensor.needsGrad(w))
            if let y = Autocast.lowerPrecision([x, w, bias], roundedByKernels: kernelsRound ? .inputAndResult : [], {
                convolution2d($0[0]!, $0[1]!, $0[2], stride: stride, padding: padding, dilation: dilation, groups: groups, op: op,
                              roundsGradient: kernelsRound)
            }) { return y }
        }
        let inputs = [x, w] + (bias.map { [$0] } ?? [])
        let (out, saved) = Kernels.convolution2d(x.detach(), w.detach(), bias: bias?.detach(), g, groups: groups,
                                                 weightGradient: Tensor.needsGrad(w))
        if Tensor.needsGrad(inputs) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record(op == "conv2d" ? "ConvolutionBackward" : "ConvolutionBackward(\(op))", inputs) { gout in
                let (dx, dw) = Kernels.convolution2dBackward(gout, saved, inputGradient: needX, weightGradient: needW)
                return [dx, dw] + (bias != nil ? [(roundsGradient ? gout.bfloat16Rounded(keepingStrides: true) : gout).sum(dims: [0, 2, 3])] : [])
            }
        }
        return out
    }

    /// The transpose (adjoint) of `convolution2d` with respect to its input: weight is
    /// (Cin, Cout/groups, kH, kW); the output size is (H−1)·s − pt − pb + d·(k−1) + 1 + outputPadding.
    static func convolutionTranspose2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                                       outputPadding: (Int, Int), dilation: (Int, Int), groups: Int) -> Tensor {
        if let y = Autocast.lowerPrecision([x, w, bias], {
            convolutionTranspose2d($0[0]!, $0[1]!, $0[2], stride: stride, padding: padding, outputPadding: outputPadding,
                                   dilation: dilation, groups: groups)
        }) { return y }
        let op = "convTranspose2d"
        check(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        check(w.rank == 4, "[\(op)] expected weight of shape (Cin, Cout/groups, kH, kW), got \(Shape.describe(w.shape))")
        check(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cinW, coutg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        check(groups >= 1 && cin % groups == 0, "[\(op)] input channels \(cin) must be divisible by groups \(groups)")
        check(cinW == cin, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cinW) input channels, got input \(Shape.describe(x.shape))")
        check(outputPadding.0 < Swift.max(stride.0, dilation.0) && outputPadding.1 < Swift.max(stride.1, dilation.1) && outputPadding.0 >= 0 && outputPadding.1 >= 0,
              "[\(op)] outputPadding \(outputPadding) must be smaller than either stride \(stride) or dilation \(dilation)")
        let cout = coutg * groups
        let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + 1 + outputPadding.0
        let ow = (wd - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + 1 + outputPadding.1
        check(oh >= 1 && ow >= 1, "[\(op)] output size (\(oh), \(ow)) is too small for input \(Shape.describe(x.shape))")
        if let bias {
            check(bias.shape == [cout], "[\(op)] bias must have shape (\(cout),), got \(Shape.describe(bias.shape))")
            check(bias.dtype == x.dtype, "[\(op)] bias \(bias.dtype) must have the input's type \(x.dtype)")
        }
        // The large image is this op's output; its small grid is this op's input.
        let g = ConvGeometry(n: n, c: cout, h: oh, w: ow, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.0, padW: padding.1, dh: dilation.0, dw: dilation.1, oh: h, ow: wd)
        let inputs = [x, w] + (bias.map { [$0] } ?? [])
        let (out, saved) = Kernels.convolutionTranspose2d(x.detach(), w.detach(), bias: bias?.detach(), g, groups: groups)
        if Tensor.needsGrad(inputs) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record("ConvolutionBackward(transposed)", inputs) { gout in
                let (dx, dw) = Kernels.convolutionTranspose2dBackward(gout, saved, inputGradient: needX, weightGradient: needW)
                return [dx, dw] + (bias != nil ? [gout.sum(dims: [0, 2, 3])] : [])
            }
        }
        return out
    }
}
