// The kernel of Tensor.bfloat16Rounded (Ops/BFloat16Rounding.swift).

/// Rounds a Float to the nearest bfloat16 value (kept as Float).
struct RoundToBFloat16Fn: ElementFn1 {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { BFloat16.round(x) }
}

extension Kernels {
    /// `x` (float32) with every value rounded to bfloat16 precision, in a new contiguous tensor.
    static func roundToBFloat16(_ x: Tensor) -> Tensor { mapLoop(x, cost: 1, RoundToBFloat16Fn()) }
}
