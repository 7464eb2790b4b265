// log-softmax: a primitive, as PyTorch's `log_softmax`, so that cross-entropy's first half is
// one pass forward and one backward instead of a dozen small ops (Kernels/CrossEntropyKernels.swift).

extension Tensor {
    /// log(softmax(x)) along `dim`, computed stably: (x − m) − log Σ e^(x − m) with m the
    /// maximum along `dim`. Gradient g − softmax(x)·Σ g along `dim`.
    ///
    /// Shapes: any; the result has the input's shape (a 0-d tensor is one value along dim 0 or
    /// −1, as in PyTorch). An int64 input is read as float32.
    public func logSoftmax(dim: Int) -> Tensor {
        if rank == 0 {
            _ = Shape.normalize(dim, rank: 0, op: "logSoftmax")
            return reshape([1]).logSoftmax(dim: 0).reshape([])
        }
        let x = dtype == .int64 ? to(.float32) : self
        let d = Shape.normalize(dim, rank: x.rank, op: "logSoftmax")
        let out = Kernels.logSoftmax(x, dim: d)
        if Tensor.needsGrad(x) {
            let y = out.detach()
            out.record("LogSoftmaxBackward", [x]) { g in [Kernels.logSoftmaxBackward(g, y, dim: d)] }
        }
        return out
    }
}
