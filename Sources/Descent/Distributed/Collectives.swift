// Collectives inside the graph: the forward all-reduces, and so does the backward.

extension ProcessGroup {
    /// The elementwise sum of every rank's `x`, as a new tensor that records the graph
    /// (`torch.distributed.nn.functional.all_reduce`).
    ///
    /// With y = Σᵣ xᵣ seen by every rank and the job's loss L = Σᵣ Lᵣ(y, …), each rank's
    /// gradient is ∂L/∂xᵣ = Σᵣ′ ∂Lᵣ′/∂y: the backward all-reduces the incoming gradient.
    /// `SyncBatchNorm` builds its batch statistics on it. Every rank must call it, in the same
    /// order, with the same shape.
    public func allReducedSum(_ x: Tensor) -> Tensor {
        check(x.dtype.isFloatingPoint, "[allReducedSum] expected a floating-point tensor, got \(x.dtype)")
        let out = Kernels.copyToContiguous(x)
        allReduce(out)
        if Tensor.needsGrad(x) {
            out.record("AllReduceSumBackward", [x]) { [self] g in
                let sum = Kernels.copyToContiguous(g)
                allReduce(sum)
                return [sum]
            }
        }
        return out
    }
}
