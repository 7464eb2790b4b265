// Indexing primitives: gather, scatterAdd, indexSelect, oneHot. Indices are int64; negative
// indices count from the end; an index out of range stops with the op, the index and the size.

extension Tensor {
    private func checkIndex(_ index: Tensor, _ op: String) {
        check(index.dtype == .int64, "[\(op)] expected an int64 index tensor, got \(index.dtype)")
    }

    /// `out[i][j] = self[index[i][j]][j]` for dim 0 (and likewise for other dims): the
    /// values of `self` along `dim` at `index`. `index` has the rank of `self` and, on every
    /// other dim, a size no larger than `self`'s.
    public func gather(dim: Int, index: Tensor) -> Tensor {
        checkIndex(index, "gather")
        let d = Shape.normalize(dim, rank: rank, op: "gather")
        check(index.rank == rank, "[gather] index of shape \(Shape.describe(index.shape)) must have the rank of the input \(Shape.describe(shape))")
        for i in 0..<rank where i != d {
            check(index.shape[i] <= shape[i], "[gather] index shape \(Shape.describe(index.shape)) exceeds input shape \(Shape.describe(shape)) at dim \(i)")
        }
        let out = Kernels.gather(self, dim: d, index: index, op: "gather")
        if Tensor.needsGrad(self) {
            let inShape = shape
            out.record("GatherBackward", [self]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype).scatterAdd(dim: d, index: index, source: g)]
            }
        }
        return out
    }

    /// A copy of `self` with `source[i][j]` added at `[index[i][j]][j]` (for dim 0).
    /// Gradients: `self` gets g; `source` gets `g.gather(dim, index)`.
    public func scatterAdd(dim: Int, index: Tensor, source: Tensor) -> Tensor {
        checkIndex(index, "scatterAdd")
        let d = Shape.normalize(dim, rank: rank, op: "scatterAdd")
        check(index.rank == rank && source.rank == rank,
              "[scatterAdd] index \(Shape.describe(index.shape)) and source \(Shape.describe(source.shape)) must have the rank of the input \(Shape.describe(shape))")
        for i in 0..<rank {
            check(index.shape[i] <= source.shape[i] && (i == d || index.shape[i] <= shape[i]),
                  "[scatterAdd] index shape \(Shape.describe(index.shape)) exceeds source \(Shape.describe(source.shape)) or input \(Shape.describe(shape)) at dim \(i)")
        }
        let (base, src) = Tensor.promoted(self, source)
        let out = Kernels.scatterAdd(base, dim: d, index: index, source: src, op: "scatterAdd")
        if Tensor.needsGrad(base, src) {
            let needSrc = src.requiresGrad, srcShape = src.shape
            out.record("ScatterAddBackward", [base, src]) { g in
                guard needSrc else { return [g, nil] }
                var gs = g.gather(dim: d, index: index)
                if gs.shape != srcShape {
                    gs = Tensor.zeros(srcShape, dtype: g.dtype).sliceCopy(from: gs)
                }
                return [g, gs]
            }
        }
        return out
    }

    /// Zeros of this shape with `part` written at the origin corner (part's shape fits inside).
    private func sliceCopy(from part: Tensor) -> Tensor {
        var window = self
        for (d, s) in part.shape.enumerated() { window = window.narrow(dim: d, start: 0, length: s) }
        Kernels.copy(part, into: window)
        return self
    }

    /// The entries of `self` at `index` (1-D, int64) along `dim`.
    public func indexSelect(dim: Int, index: Tensor) -> Tensor {
        checkIndex(index, "indexSelect")
        check(index.rank <= 1, "[indexSelect] index must be 0-d or 1-d, got shape \(Shape.describe(index.shape))")
        let d = Shape.normalize(dim, rank: rank, op: "indexSelect")
        var viewShape = [Int](repeating: 1, count: rank)
        viewShape[d] = index.count
        var outShape = shape
        outShape[d] = index.count
        let expanded = index.reshape(viewShape).expand(outShape)
        let x = self
        let out = Kernels.gather(x, dim: d, index: expanded, op: "indexSelect")
        if Tensor.needsGrad(x) {
            let inShape = shape
            out.record("IndexSelectBackward", [x]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype).scatterAdd(dim: d, index: expanded, source: g)]
            }
        }
        return out
    }

    /// One-hot encoding of int64 class indices: shape `self.shape + [numClasses]`, int64.
    /// `numClasses` −1 uses max + 1.
    public func oneHot(numClasses: Int = -1) -> Tensor {
        check(dtype == .int64, "[oneHot] expected an int64 tensor of class indices, got \(dtype)")
        let values = toArray(Int64.self)
        let n = numClasses >= 0 ? numClasses : Int((values.max() ?? -1) + 1)
        var out = [Int64](repeating: 0, count: values.count * n)
        for (i, v) in values.enumerated() {
            check(v >= 0 && v < n, "[oneHot] class index \(v) is out of range for \(n) classes")
            out[i * n + Int(v)] = 1
        }
        return Tensor(shape: shape + [n], scalars: out)
    }
}
