// 2-D convolution and transposed convolution primitives (im2col + GEMM), with their backward
// rules. 1-D forms and the layers are built on these (NN/Conv.swift).

/// Padding of a 2-D convolution: rows before/after, columns before/after.
struct Padding4 {
    let top: Int, left: Int, bottom: Int, right: Int
}

extension Tensor {
    /// out[n, o] = bias[o] + Σ_c Σ_ij w[o, c, i, j] · x[n, g·C/groups + c, oy·sh − pt + i·dh, ox·sw − pl + j·dw].
    static func convolution2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: Padding4,
                              dilation: (Int, Int), groups: Int, op: String = "conv2d") -> Tensor {
        precondition(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        precondition(w.rank == 4, "[\(op)] expected weight of shape (O, C/groups, kH, kW), got \(Shape.describe(w.shape))")
        precondition(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(groups >= 1 && c % groups == 0 && o % groups == 0,
                     "[\(op)] channels in \(c) and out \(o) must be divisible by groups \(groups)")
        precondition(cg == c / groups, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cg * groups) input channels (groups \(groups)), got input \(Shape.describe(x.shape))")
        precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1, "[\(op)] stride and dilation must be positive")
        let oh = (h + padding.top + padding.bottom - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + padding.left + padding.right - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        precondition(oh >= 1 && ow >= 1 && h + padding.top + padding.bottom >= dilation.0 * (kh - 1) + 1 && wd + padding.left + padding.right >= dilation.1 * (kw - 1) + 1,
                     "[\(op)] input \(Shape.describe(x.shape)) padded is smaller than the dilated kernel (\(kh), \(kw))")
        if let bias { precondition(bias.shape == [o], "[\(op)] bias must have shape (\(o),), got \(Shape.describe(bias.shape))") }
        let g = ConvGeometry(n: n, c: c, h: h, w: wd, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.top, padW: padding.left, dh: dilation.0, dw: dilation.1, oh: oh, ow: ow)
        let xd = x.detach().contiguousData(), wd2 = w.detach().contiguousData().reshape([o, cg * kh * kw])
        let og = o / groups, pixels = oh * ow
        let out = Tensor(uninitialized: [n, o, oh, ow], dtype: x.dtype)
        let outView = out.reshape([n, o, pixels])
        for grp in 0..<groups {
            let col = Kernels.im2col(xd, g, c0: grp * cg, cg: cg)
            let wg = wd2.narrow(dim: 0, start: grp * og, length: og)
            let y = Kernels.matmul(wg, col, batch: [])  // (og, n·pixels)
            Kernels.copy(y.reshape([og, n, pixels]).permute(1, 0, 2), into: outView.narrow(dim: 1, start: grp * og, length: og))
        }
        if let bias { Kernels.addInPlace(out, bias.detach().reshape([1, o, 1, 1])) }
        if Tensor.needsGrad([x, w] + (bias.map { [$0] } ?? [])) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record(op == "conv2d" ? "ConvolutionBackward" : "ConvolutionBackward(\(op))", [x, w] + (bias.map { [$0] } ?? [])) { gout in
                let gc = gout.contiguousData().reshape([n, o, pixels])
                let dx = needX ? Tensor.zeros(x.shape, dtype: x.dtype) : nil
                var dws: [Tensor] = []
                for grp in 0..<groups {
                    // The output gradient of this group as (og, n·pixels).
                    let gg = Kernels.copyToContiguous(gc.narrow(dim: 1, start: grp * og, length: og).permute(1, 0, 2)).reshape([og, n * pixels])
                    if needW {
                        let col = Kernels.im2col(xd, g, c0: grp * cg, cg: cg)
                        dws.append(Kernels.matmul(gg, col.t, batch: []))
                    }
                    if let dx {
                        let wg = wd2.narrow(dim: 0, start: grp * og, length: og)
                        Kernels.col2im(Kernels.matmul(wg.t, gg, batch: []), g, c0: grp * cg, cg: cg, into: dx)
                    }
                }
                let dw = needW ? Tensor.cat(dws, dim: 0).reshape(w.shape) : nil
                let db = bias != nil ? gout.sum(dims: [0, 2, 3]) : nil
                return [dx, dw] + (bias != nil ? [db] : [])
            }
        }
        return out
    }

    /// The transpose (adjoint) of `convolution2d` with respect to its input: weight is
    /// (Cin, Cout/groups, kH, kW); the output size is (H−1)·s − pt − pb + d·(k−1) + 1 + outputPadding.
    static func convolutionTranspose2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                                       outputPadding: (Int, Int), dilation: (Int, Int), groups: Int) -> Tensor {
        let op = "convTranspose2d"
        precondition(x.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(x.shape))")
        precondition(w.rank == 4, "[\(op)] expected weight of shape (Cin, Cout/groups, kH, kW), got \(Shape.describe(w.shape))")
        precondition(x.dtype.isFloatingPoint && x.dtype == w.dtype, "[\(op)] input \(x.dtype) and weight \(w.dtype) must be the same floating-point type")
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cinW, coutg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(groups >= 1 && cin % groups == 0, "[\(op)] input channels \(cin) must be divisible by groups \(groups)")
        precondition(cinW == cin, "[\(op)] weight \(Shape.describe(w.shape)) expects \(cinW) input channels, got input \(Shape.describe(x.shape))")
        precondition(outputPadding.0 < Swift.max(stride.0, dilation.0) && outputPadding.1 < Swift.max(stride.1, dilation.1) && outputPadding.0 >= 0 && outputPadding.1 >= 0,
                     "[\(op)] outputPadding \(outputPadding) must be smaller than either stride \(stride) or dilation \(dilation)")
        let cout = coutg * groups, cing = cin / groups
        let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + 1 + outputPadding.0
        let ow = (wd - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + 1 + outputPadding.1
        precondition(oh >= 1 && ow >= 1, "[\(op)] output size (\(oh), \(ow)) is too small for input \(Shape.describe(x.shape))")
        if let bias { precondition(bias.shape == [cout], "[\(op)] bias must have shape (\(cout),), got \(Shape.describe(bias.shape))") }
        // The large image is this op's output; its small grid is this op's input.
        let g = ConvGeometry(n: n, c: cout, h: oh, w: ow, kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                             padH: padding.0, padW: padding.1, dh: dilation.0, dw: dilation.1, oh: h, ow: wd)
        let pixels = h * wd, k = coutg * kh * kw
        let xd = x.detach().contiguousData().reshape([n, cin, pixels])
        let wm = w.detach().contiguousData().reshape([cin, k])
        let out = Tensor.zeros([n, cout, oh, ow], dtype: x.dtype)
        for grp in 0..<groups {
            let xg = Kernels.copyToContiguous(xd.narrow(dim: 1, start: grp * cing, length: cing).permute(1, 0, 2)).reshape([cing, n * pixels])
            let wg = wm.narrow(dim: 0, start: grp * cing, length: cing)
            Kernels.col2im(Kernels.matmul(wg.t, xg, batch: []), g, c0: grp * coutg, cg: coutg, into: out)
        }
        if let bias { Kernels.addInPlace(out, bias.detach().reshape([1, cout, 1, 1])) }
        if Tensor.needsGrad([x, w] + (bias.map { [$0] } ?? [])) {
            let needX = x.requiresGrad, needW = w.requiresGrad
            out.record("ConvolutionBackward(transposed)", [x, w] + (bias.map { [$0] } ?? [])) { gout in
                let gc = gout.contiguousData()
                var dxs: [Tensor] = [], dws: [Tensor] = []
                for grp in 0..<groups {
                    let col = Kernels.im2col(gc, g, c0: grp * coutg, cg: coutg)  // (k, n·pixels)
                    let wg = wm.narrow(dim: 0, start: grp * cing, length: cing)
                    if needX { dxs.append(Kernels.matmul(wg, col, batch: []).reshape([cing, n, pixels])) }
                    if needW {
                        let xg = Kernels.copyToContiguous(xd.narrow(dim: 1, start: grp * cing, length: cing).permute(1, 0, 2)).reshape([cing, n * pixels])
                        dws.append(Kernels.matmul(xg, col.t, batch: []))
                    }
                }
                let dx = needX ? Kernels.copyToContiguous(Tensor.cat(dxs, dim: 0).permute(1, 0, 2)).reshape(x.shape) : nil
                let dw = needW ? Tensor.cat(dws, dim: 0).reshape(w.shape) : nil
                let db = bias != nil ? gout.sum(dims: [0, 2, 3]) : nil
                return [dx, dw] + (bias != nil ? [db] : [])
            }
        }
        return out
    }
}
