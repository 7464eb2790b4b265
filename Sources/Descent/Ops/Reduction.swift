// Reductions. sum, prod, max/min (with indices) and amax/amin are primitives; mean, var, std
// and logsumexp are composites of them.

extension Tensor {
    /// Normalized, sorted, de-duplicated dims (all dims when `dims` is empty).
    func reductionDims(_ dims: [Int], op: String) -> [Int] {
        if dims.isEmpty { return Array(0..<rank) }
        let d = dims.map { Shape.normalize($0, rank: rank, op: op) }
        check(Set(d).count == d.count, "[\(op)] dim \(dims) appears more than once")
        return rank == 0 ? [] : d.sorted()
    }

    /// The kept-dims shape reshaped to drop reduced dims unless `keepDim`.
    private func reduced(_ t: Tensor, _ dims: [Int], keepDim: Bool) -> Tensor {
        if keepDim { return t }
        return t.reshape((0..<rank).filter { !dims.contains($0) }.map { shape[$0] })
    }

    /// Sum over `dims` (all when empty).
    public func sum(dims: [Int], keepDim: Bool = false) -> Tensor {
        let d = reductionDims(dims, op: "sum")
        let kept = Kernels.sum(self, dims: d)
        if Tensor.needsGrad(self) {
            let inShape = shape, keptShape = kept.shape
            kept.record("SumBackward", [self]) { g in [g.reshape(keptShape).expand(inShape)] }
        }
        return reduced(kept, d, keepDim: keepDim)
    }

    /// Sum of all elements (0-d).
    public func sum() -> Tensor { sum(dims: []) }
    /// Sum over `dim`.
    public func sum(dim: Int, keepDim: Bool = false) -> Tensor { sum(dims: [dim], keepDim: keepDim) }

    /// Mean over `dims` (all when empty).
    public func mean(dims: [Int], keepDim: Bool = false) -> Tensor {
        let d = reductionDims(dims, op: "mean")
        let n = d.reduce(1) { $0 * shape[$1] }
        let x = dtype == .int64 ? to(.float32) : self
        return x.sum(dims: d, keepDim: keepDim) / Double(n)
    }

    /// The mean of all elements (0-d).
    public func mean() -> Tensor { mean(dims: []) }
    /// The mean along `dim`.
    public func mean(dim: Int, keepDim: Bool = false) -> Tensor { mean(dims: [dim], keepDim: keepDim) }

    /// Variance over `dims`: Σ(x − mean)² / (N − correction). `correction: 1` (default) is
    /// the unbiased estimate, `0` the biased one.
    public func variance(dims: [Int], correction: Int = 1, keepDim: Bool = false) -> Tensor {
        let d = reductionDims(dims, op: "var")
        let n = d.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(dims: d, keepDim: true)
        return (centered * centered).sum(dims: d, keepDim: keepDim) / Double(Swift.max(n - correction, 0))
    }

    /// Variance of all elements.
    public func variance(correction: Int = 1) -> Tensor { variance(dims: [], correction: correction) }

    /// The variance along `dim` (see `variance(dims:correction:keepDim:)`).
    public func variance(dim: Int, correction: Int = 1, keepDim: Bool = false) -> Tensor {
        variance(dims: [dim], correction: correction, keepDim: keepDim)
    }

    /// Standard deviation: `variance(...).sqrt()`.
    public func std(dims: [Int], correction: Int = 1, keepDim: Bool = false) -> Tensor {
        variance(dims: dims, correction: correction, keepDim: keepDim).sqrt()
    }

    /// Standard deviation of all elements.
    public func std(correction: Int = 1) -> Tensor { std(dims: [], correction: correction) }

    /// The standard deviation along `dim`.
    public func std(dim: Int, correction: Int = 1, keepDim: Bool = false) -> Tensor {
        std(dims: [dim], correction: correction, keepDim: keepDim)
    }

    /// Product over `dim`; the gradient is exact when elements are zero.
    public func prod(dim: Int, keepDim: Bool = false) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "prod")
        let kept = Kernels.prod(self, dims: rank == 0 ? [] : [d])
        if Tensor.needsGrad(self) {
            let x = self, keptShape = kept.shape
            kept.record("ProdBackward", [x]) { g in [g.reshape(keptShape) * Kernels.productOfOthers(x, dim: d)] }
        }
        return rank == 0 ? kept : reduced(kept, [d], keepDim: keepDim)
    }

    /// Product of all elements.
    public func prod() -> Tensor { rank == 0 ? self : reshape([-1]).prod(dim: 0) }

    /// Maximum along `dim` and the index of the (first) maximum; the gradient flows to that index.
    public func max(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) { extreme(dim, keepDim, max: true) }

    /// Minimum along `dim` and the index of the (first) minimum.
    public func min(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) { extreme(dim, keepDim, max: false) }

    private func extreme(_ dim: Int, _ keepDim: Bool, max: Bool) -> (values: Tensor, indices: Tensor) {
        let name = max ? "max" : "min"
        if rank == 0 { return (self, Tensor.zeros([], dtype: .int64)) }
        let d = Shape.normalize(dim, rank: rank, op: name)
        check(shape[d] > 0, "[\(name)] cannot reduce over dim \(d) of size 0 (shape \(Shape.describe(shape)))")
        let (values, indices) = Kernels.extreme(self, dim: d, max: max)
        if Tensor.needsGrad(self) {
            let inShape = shape
            values.record(max ? "MaxBackward" : "MinBackward", [self]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype).scatterAdd(dim: d, index: indices, source: g.reshape(indices.shape))]
            }
        }
        return (reduced(values, [d], keepDim: keepDim), reduced(indices, [d], keepDim: keepDim))
    }

    /// Maximum over `dims` (all when empty). The gradient is shared evenly among ties.
    public func amax(dims: [Int] = [], keepDim: Bool = false) -> Tensor { extremeAll(dims, keepDim, max: true) }
    /// Minimum over `dims` (all when empty). The gradient is shared evenly among ties.
    public func amin(dims: [Int] = [], keepDim: Bool = false) -> Tensor { extremeAll(dims, keepDim, max: false) }

    /// Maximum of all elements (0-d).
    public func max() -> Tensor { amax() }
    /// Minimum of all elements (0-d).
    public func min() -> Tensor { amin() }

    private func extremeAll(_ dims: [Int], _ keepDim: Bool, max: Bool) -> Tensor {
        let d = reductionDims(dims, op: max ? "amax" : "amin")
        check(count > 0 || d.isEmpty, "[\(max ? "amax" : "amin")] cannot reduce an empty tensor")
        var kept = detach()
        for dim in d { kept = Kernels.extreme(kept, dim: dim, max: max).0 }
        if Tensor.needsGrad(self) {
            let x = self, k = kept
            kept.record(max ? "AmaxBackward" : "AminBackward", [x]) { g in
                let mask = x.eq(k)
                return [g * mask / mask.sum(dims: d, keepDim: true)]
            }
        }
        return reduced(kept, d, keepDim: keepDim)
    }

    /// Index of the maximum along `dim` (of the flattened tensor when nil), int64.
    public func argmax(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        guard let dim else { return reshape([-1]).max(dim: 0).indices }
        return withNoGrad { max(dim: dim, keepDim: keepDim).indices }
    }

    /// Index of the minimum along `dim` (of the flattened tensor when nil), int64.
    public func argmin(dim: Int? = nil, keepDim: Bool = false) -> Tensor {
        guard let dim else { return reshape([-1]).min(dim: 0).indices }
        return withNoGrad { min(dim: dim, keepDim: keepDim).indices }
    }

    /// log Σ exp(x) over `dims`, computed stably (finite for inputs of ±1000).
    public func logsumexp(dims: [Int], keepDim: Bool = false) -> Tensor {
        let d = reductionDims(dims, op: "logsumexp")
        let m = withNoGrad { () -> Tensor in
            let m = amax(dims: d, keepDim: true)
            return Tensor.where(m.abs().eq(.infinity), Tensor.zeros(like: m), m)
        }
        let s = (self - m).exp().sum(dims: d, keepDim: true).log() + m
        return keepDim ? s : reduced(s, d, keepDim: false)
    }

    /// log Σ eˣ along `dim`, computed stably.
    public func logsumexp(dim: Int, keepDim: Bool = false) -> Tensor { logsumexp(dims: [dim], keepDim: keepDim) }
}
