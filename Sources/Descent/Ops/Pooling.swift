// Pooling primitives over (N, C, H, W): max (with indices) and average pooling with kernel,
// stride, padding, dilation and ceil mode, and their adaptive forms. 1-D forms add H = 1.

extension Tensor {
    /// PyTorch's pooling output size, including the ceil-mode rule that the last window must
    /// start inside the input or its left padding.
    static func poolOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool, op: String) -> Int {
        check(kernel >= 1 && stride >= 1 && dilation >= 1, "[\(op)] kernel, stride and dilation must be positive")
        check(padding >= 0 && padding <= kernel / 2,
              "[\(op)] pad should be at most half of effective kernel size, but got pad=\(padding), kernel_size=\(kernel)")
        let span = input + 2 * padding - dilation * (kernel - 1) - 1
        var out = (ceilMode ? (span + stride - 1) : span)
        out = (out >= 0 ? out / stride : -((-out + stride - 1) / stride)) + 1
        if ceilMode && (out - 1) * stride >= input + padding { out -= 1 }
        check(out >= 1, "[\(op)] output size is too small for input size \(input) with kernel \(kernel)")
        return out
    }

    private func checkPoolInput(_ op: String) -> (Int, Int, Int, Int) {
        check(rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(shape))")
        check(dtype.isFloatingPoint, "[\(op)] expected a floating-point tensor, got \(dtype)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// The max-pooling primitive over windows `p`; records its backward (scatter to the argmax).
    /// The indices are formed when returned or needed for the backward (nil otherwise).
    private func maxPoolPrimitive(_ p: PoolWindows, returnIndices: Bool, op: String) -> (Tensor, Tensor?) {
        let (n, c, h, w) = checkPoolInput(op)
        let needsGrad = Tensor.needsGrad(self)
        let (values, indices) = Kernels.maxPool(contiguousData(), planes: n * c, p, indices: returnIndices || needsGrad)
        let out = values.reshape([n, c, p.oh, p.ow]).detach()
        if needsGrad, let indices {
            out.record("MaxPool2DWithIndicesBackward", [self]) { g in
                [Kernels.maxPoolBackward(g, indices, planes: n * c, h: h, w: w).reshape([n, c, h, w])]
            }
        }
        return (out, indices?.reshape([n, c, p.oh, p.ow]))
    }

    private func avgPoolPrimitive(_ p: PoolWindows, countIncludePad: Bool, divisorOverride: Int?, op: String) -> Tensor {
        let (n, c, h, w) = checkPoolInput(op)
        let out = Kernels.avgPool(self, planes: n * c, p, countIncludePad: countIncludePad, divisorOverride: divisorOverride,
                                  backward: false).reshape([n, c, p.oh, p.ow]).detach()
        if Tensor.needsGrad(self) {
            out.record("AvgPool2DBackward", [self]) { g in
                [Kernels.avgPool(g, planes: n * c, p, countIncludePad: countIncludePad, divisorOverride: divisorOverride,
                                 backward: true).reshape([n, c, h, w])]
            }
        }
        return out
    }

    private func windows(kernel: Size2, stride: Size2?, padding: Size2, dilation: Size2, ceilMode: Bool, op: String) -> PoolWindows {
        let s = stride ?? kernel
        let oh = Tensor.poolOutputSize(shape[2], kernel: kernel.h, stride: s.h, padding: padding.h, dilation: dilation.h, ceilMode: ceilMode, op: op)
        let ow = Tensor.poolOutputSize(shape[3], kernel: kernel.w, stride: s.w, padding: padding.w, dilation: dilation.w, ceilMode: ceilMode, op: op)
        return PoolWindows(h: shape[2], w: shape[3], oh: oh, ow: ow, kh: kernel.h, kw: kernel.w, sh: s.h, sw: s.w,
                           ph: padding.h, pw: padding.w, dh: dilation.h, dw: dilation.w, adaptive: false)
    }

    /// 2-D max pooling of (N, C, H, W); `stride` defaults to the kernel. Returns the values
    /// and the flat index (y·W + x) of each maximum in its plane, as PyTorch's
    /// `return_indices=True`.
    public func maxPool2dWithIndices(kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, dilation: Size2 = 1,
                                     ceilMode: Bool = false) -> (values: Tensor, indices: Tensor) {
        _ = checkPoolInput("maxPool2d")
        let (values, indices) = maxPoolPrimitive(windows(kernel: kernelSize, stride: stride, padding: padding, dilation: dilation,
                                                         ceilMode: ceilMode, op: "maxPool2d"), returnIndices: true, op: "maxPool2d")
        return (values, indices!)
    }

    /// 2-D max pooling of (N, C, H, W); `stride` defaults to the kernel. (Without a gradient to
    /// form, as in inference, no indices are kept.)
    public func maxPool2d(kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, dilation: Size2 = 1, ceilMode: Bool = false) -> Tensor {
        _ = checkPoolInput("maxPool2d")
        return maxPoolPrimitive(windows(kernel: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode,
                                        op: "maxPool2d"), returnIndices: false, op: "maxPool2d").0
    }

    /// 2-D average pooling of (N, C, H, W). The divisor counts padding zeros when
    /// `countIncludePad` (PyTorch's default) and is `divisorOverride` when given.
    public func avgPool2d(kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, ceilMode: Bool = false,
                          countIncludePad: Bool = true, divisorOverride: Int? = nil) -> Tensor {
        _ = checkPoolInput("avgPool2d")
        if let d = divisorOverride { check(d != 0, "[avgPool2d] divisorOverride must be non-zero") }
        return avgPoolPrimitive(windows(kernel: kernelSize, stride: stride, padding: padding, dilation: 1, ceilMode: ceilMode, op: "avgPool2d"),
                                countIncludePad: countIncludePad, divisorOverride: divisorOverride, op: "avgPool2d")
    }

    private func adaptiveWindows(_ outputSize: Size2, op: String) -> PoolWindows {
        let (_, _, h, w) = checkPoolInput(op)
        check(outputSize.h >= 1 && outputSize.w >= 1, "[\(op)] output size must be positive, got \(outputSize)")
        return PoolWindows(h: h, w: w, oh: outputSize.h, ow: outputSize.w, kh: (h + outputSize.h - 1) / outputSize.h + 1,
                           kw: (w + outputSize.w - 1) / outputSize.w + 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, adaptive: true)
    }

    /// Adaptive average pooling to `outputSize`: window i spans [⌊i·H/out⌋, ⌈(i+1)·H/out⌉).
    public func adaptiveAvgPool2d(_ outputSize: Size2) -> Tensor {
        avgPoolPrimitive(adaptiveWindows(outputSize, op: "adaptiveAvgPool2d"), countIncludePad: false, divisorOverride: nil, op: "adaptiveAvgPool2d")
    }

    /// Adaptive max pooling to `outputSize` (windows as in `adaptiveAvgPool2d`).
    public func adaptiveMaxPool2d(_ outputSize: Size2) -> Tensor {
        maxPoolPrimitive(adaptiveWindows(outputSize, op: "adaptiveMaxPool2d"), returnIndices: false, op: "adaptiveMaxPool2d").0
    }

    /// 1-D max pooling of (N, C, L).
    public func maxPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) -> Tensor {
        check(rank == 3, "[maxPool1d] expected input of shape (N, C, L), got \(Shape.describe(shape))")
        return unsqueeze(2).maxPool2d(kernelSize: Size2(1, kernelSize), stride: Size2(1, stride ?? kernelSize), padding: Size2(0, padding),
                                      dilation: Size2(1, dilation), ceilMode: ceilMode).squeeze(dim: 2)
    }

    /// 1-D average pooling of (N, C, L).
    public func avgPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
        check(rank == 3, "[avgPool1d] expected input of shape (N, C, L), got \(Shape.describe(shape))")
        return unsqueeze(2).avgPool2d(kernelSize: Size2(1, kernelSize), stride: Size2(1, stride ?? kernelSize), padding: Size2(0, padding),
                                      ceilMode: ceilMode, countIncludePad: countIncludePad).squeeze(dim: 2)
    }
}
