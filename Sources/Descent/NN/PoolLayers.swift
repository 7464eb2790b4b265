// Pooling layers (no parameters), wrapping the functions in Ops/Pooling.swift.

private func tuple(_ s: Size2) -> String { s.h == s.w ? "\(s.h)" : s.description }

/// 2-D max pooling. Input (N, C, H, W) → (N, C, H', W'), H' = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1
/// (⌈…⌉ with `ceilMode`, dropping a last window that would start in the right padding).
public final class MaxPool2d: Module {
    /// The window, stride, padding, dilation and rounding given at creation.
    public let kernelSize: Size2, stride: Size2, padding: Size2, dilation: Size2, ceilMode: Bool
    /// 2-D max pooling (padding counts as −∞).
    /// - Parameters:
    ///   - kernelSize: The window's size, or one number for both dims.
    ///   - stride: The step between windows (default: the kernel size).
    ///   - padding: Implicit padding on each side (at most half the kernel), default 0.
    ///   - dilation: The spacing between window taps, default 1.
    ///   - ceilMode: Round the output size up instead of down, default false.
    public init(_ kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, dilation: Size2 = 1, ceilMode: Bool = false) {
        self.kernelSize = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding
        self.dilation = dilation; self.ceilMode = ceilMode
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        batchingUnbatched(x, batchedRank: 4) { x in x.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode) }
    }
    public override var extraDescription: String {
        "kernel_size=\(tuple(kernelSize)), stride=\(tuple(stride)), padding=\(tuple(padding)), dilation=\(tuple(dilation)), ceil_mode=\(ceilMode ? "True" : "False")"
    }
}

/// 2-D average pooling. Input (N, C, H, W) → (N, C, H', W').
public final class AvgPool2d: Module {
    /// The window, stride, padding, rounding and divisor rules given at creation.
    public let kernelSize: Size2, stride: Size2, padding: Size2, ceilMode: Bool, countIncludePad: Bool, divisorOverride: Int?
    /// 2-D average pooling.
    /// - Parameters:
    ///   - kernelSize: The window's size, or one number for both dims.
    ///   - stride: The step between windows (default: the kernel size).
    ///   - padding: Implicit padding on each side (at most half the kernel), default 0.
    ///   - ceilMode: Round the output size up instead of down, default false.
    ///   - countIncludePad: Count padded zeros in the divisor, default true.
    ///   - divisorOverride: Divide every window's sum by this instead.
    public init(_ kernelSize: Size2, stride: Size2? = nil, padding: Size2 = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true, divisorOverride: Int? = nil) {
        self.kernelSize = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding
        self.ceilMode = ceilMode; self.countIncludePad = countIncludePad; self.divisorOverride = divisorOverride
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        batchingUnbatched(x, batchedRank: 4) { x in
            x.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
                        countIncludePad: countIncludePad, divisorOverride: divisorOverride)
        }
    }
    public override var extraDescription: String { "kernel_size=\(tuple(kernelSize)), stride=\(tuple(stride)), padding=\(tuple(padding))" }
}

/// 1-D max pooling. Input (N, C, L) → (N, C, L').
public final class MaxPool1d: Module {
    /// The window, stride, padding, dilation and rounding given at creation.
    public let kernelSize: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool
    /// 1-D max pooling (padding counts as −∞).
    /// - Parameters:
    ///   - kernelSize: The window's size.
    ///   - stride: The step between windows (default: the kernel size).
    ///   - padding: Implicit padding on each side (at most half the kernel), default 0.
    ///   - dilation: The spacing between window taps, default 1.
    ///   - ceilMode: Round the output length up instead of down, default false.
    public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) {
        self.kernelSize = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding
        self.dilation = dilation; self.ceilMode = ceilMode
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        batchingUnbatched(x, batchedRank: 3) { x in
            x.maxPool1d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
        }
    }
    public override var extraDescription: String {
        "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding), dilation=\(dilation), ceil_mode=\(ceilMode ? "True" : "False")"
    }
}

/// 1-D average pooling. Input (N, C, L) → (N, C, L').
public final class AvgPool1d: Module {
    /// The window, stride, padding and rules given at creation.
    public let kernelSize: Int, stride: Int, padding: Int, ceilMode: Bool, countIncludePad: Bool
    /// 1-D average pooling.
    /// - Parameters:
    ///   - kernelSize: The window's size.
    ///   - stride: The step between windows (default: the kernel size).
    ///   - padding: Implicit padding on each side (at most half the kernel), default 0.
    ///   - ceilMode: Round the output length up instead of down, default false.
    ///   - countIncludePad: Count padded zeros in the divisor, default true.
    public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = true) {
        self.kernelSize = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding
        self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        batchingUnbatched(x, batchedRank: 3) { x in
            x.avgPool1d(kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode, countIncludePad: countIncludePad)
        }
    }
    public override var extraDescription: String { "kernel_size=(\(kernelSize),), stride=(\(stride),), padding=(\(padding),)" }
}

/// Adaptive average pooling to a fixed output size.
public final class AdaptiveAvgPool2d: Module {
    /// The output's (H', W').
    public let outputSize: Size2
    /// Adaptive average pooling to `outputSize`: window i spans ⌊i·H/H'⌋ ..< ⌈(i+1)·H/H'⌉.
    /// - Parameter outputSize: The output's (H', W'), or one number for both.
    public init(_ outputSize: Size2) { self.outputSize = outputSize; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { batchingUnbatched(x, batchedRank: 4) { $0.adaptiveAvgPool2d(outputSize) } }
    public override var extraDescription: String { "output_size=\(tuple(outputSize))" }
}

/// Adaptive max pooling to a fixed output size.
public final class AdaptiveMaxPool2d: Module {
    /// The output's (H', W').
    public let outputSize: Size2
    /// Adaptive max pooling to `outputSize` (the windows of `AdaptiveAvgPool2d`).
    /// - Parameter outputSize: The output's (H', W'), or one number for both.
    public init(_ outputSize: Size2) { self.outputSize = outputSize; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { batchingUnbatched(x, batchedRank: 4) { $0.adaptiveMaxPool2d(outputSize) } }
    public override var extraDescription: String { "output_size=\(tuple(outputSize))" }
}
