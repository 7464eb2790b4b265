// Rounding float32 values to bfloat16 precision: the primitive under autocast
// (Autocast/Autocast.swift), which rounds the operands and results of its products with it.

extension Tensor {
    /// Each value rounded to the nearest bfloat16 (ties to even; NaN stays NaN), kept as
    /// float32: `x.to(.bfloat16).float()` in one pass.
    ///
    /// Differentiable: the gradient is rounded the same way, as the gradient reaching a
    /// bfloat16 tensor in PyTorch is a bfloat16 tensor. Shape: any → same; float32 only.
    public func bfloat16Rounded() -> Tensor { bfloat16Rounded(keepingStrides: false) }

    /// `bfloat16Rounded()`; with `keepingStrides`, a view that spans less storage than it has
    /// elements (a broadcast gradient) comes back as the same view of its storage rounded, for
    /// results that only ops read (gradients), never written in place.
    func bfloat16Rounded(keepingStrides: Bool) -> Tensor {
        check(dtype == .float32, "[bfloat16Rounded] expected a float32 tensor, got \(dtype)")
        // A kernel's output already rounded (`holdsBFloat16Values`): the same values, no pass.
        let out = holdsBFloat16Values ? Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
                                      : Kernels.roundToBFloat16(self, keepingStrides: keepingStrides)
        if Tensor.needsGrad(self) { out.record("BFloat16RoundBackward", [self]) { g in [g.bfloat16Rounded(keepingStrides: true)] } }
        return out
    }
}
