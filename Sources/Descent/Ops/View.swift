// View primitives: results share storage with the input. Backward rules map the gradient
// back to the input's layout.

extension Tensor {
    /// A view with new shape/strides/offset over the same storage, recording `backward`.
    private func makeView(_ name: String, shape: [Int], strides: [Int], offset: Int,
                          backward: @escaping (Tensor) -> Tensor) -> Tensor {
        let out = Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
        // A view of a kernel's output marked rounded (autocast) holds rounded values too.
        out.holdsBFloat16Values = holdsBFloat16Values
        if Tensor.needsGrad(self) { out.record(name, [self]) { g in [backward(g)] } }
        return out
    }

    /// Resolves one −1 in `shape` against `count`, stopping with a message on a mismatch.
    private func inferShape(_ shape: [Int], op: String) -> [Int] {
        var out = shape
        let unknown = shape.indices.filter { shape[$0] == -1 }
        check(unknown.count <= 1, "[\(op)] only one dimension can be -1, got \(Shape.describe(shape))")
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        if let u = unknown.first {
            check(known != 0 && count % known == 0,
                  "[\(op)] shape \(Shape.describe(shape)) is invalid for input of size \(count) \(Shape.describe(self.shape))")
            out[u] = count / known
        }
        check(out.allSatisfy { $0 >= 0 } && Shape.count(out) == count,
              "[\(op)] shape \(Shape.describe(shape)) is invalid for input of size \(count) \(Shape.describe(self.shape))")
        return out
    }

    /// The same data with a new shape (one size may be −1); a view when the data is
    /// contiguous, else a copy.
    public func reshape(_ shape: [Int]) -> Tensor {
        let newShape = inferShape(shape, op: "reshape")
        if newShape == self.shape { return self }
        let src = isContiguous ? self : contiguous()
        let inShape = self.shape
        return src.makeView("ViewBackward", shape: newShape, strides: Shape.contiguousStrides(newShape),
                            offset: src.offset) { g in g.reshape(inShape) }
    }

    /// `reshape([…])` with the sizes as arguments: `x.reshape(2, -1)`.
    public func reshape(_ shape: Int...) -> Tensor { reshape(shape) }

    /// Like `reshape`, but stops unless the data is contiguous (never copies).
    public func view(_ shape: [Int]) -> Tensor {
        check(isContiguous, "[view] size \(Shape.describe(shape)) is not compatible with the input's strides \(strides) (shape \(Shape.describe(self.shape))); use reshape or contiguous() first")
        return reshape(shape)
    }

    /// `view([…])` with the sizes as arguments.
    public func view(_ shape: Int...) -> Tensor { view(shape) }

    /// Collapses dims `startDim...endDim` into one.
    public func flatten(startDim: Int = 0, endDim: Int = -1) -> Tensor {
        if rank == 0 { return reshape([1]) }
        let s = Shape.normalize(startDim, rank: rank, op: "flatten"), e = Shape.normalize(endDim, rank: rank, op: "flatten")
        check(s <= e, "[flatten] startDim \(startDim) comes after endDim \(endDim)")
        return reshape(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions: result dim i is input dim `dims[i]`.
    public func permute(_ dims: [Int]) -> Tensor {
        check(dims.count == rank, "[permute] expected \(rank) dims for shape \(Shape.describe(shape)), got \(dims)")
        let d = dims.map { Shape.normalize($0, rank: rank, op: "permute") }
        check(Set(d).count == rank, "[permute] dims \(dims) repeat a dimension")
        var inverse = [Int](repeating: 0, count: rank)
        for (i, j) in d.enumerated() { inverse[j] = i }
        return makeView("PermuteBackward", shape: d.map { shape[$0] }, strides: d.map { strides[$0] },
                        offset: offset) { g in g.permute(inverse) }
    }

    /// `permute([…])` with the dims as arguments.
    public func permute(_ dims: Int...) -> Tensor { permute(dims) }

    /// Swaps two dimensions.
    public func transpose(_ dim0: Int, _ dim1: Int) -> Tensor {
        if rank < 2 { return self }
        var p = Array(0..<rank)
        p.swapAt(Shape.normalize(dim0, rank: rank, op: "transpose"), Shape.normalize(dim1, rank: rank, op: "transpose"))
        return permute(p)
    }

    /// The transpose of a matrix (a 0-d or 1-d tensor is returned as is).
    public var t: Tensor {
        check(rank <= 2, "[t] expects a tensor with <= 2 dimensions, got shape \(Shape.describe(shape))")
        return transpose(0, 1)
    }

    /// A view repeating size-1 dims (and new leading dims) to `shape`; −1 keeps a size.
    /// The gradient is summed back over the repeated dims.
    public func expand(_ shape: [Int]) -> Tensor {
        check(shape.count >= rank, "[expand] the number of sizes \(shape.count) must be >= the tensor's rank \(rank)")
        let lead = shape.count - rank
        var target = shape
        for i in 0..<rank where shape[lead + i] == -1 { target[lead + i] = self.shape[i] }
        for i in 0..<rank {
            check(self.shape[i] == target[lead + i] || self.shape[i] == 1,
                  "[expand] the size \(self.shape[i]) at dim \(i) must match \(target[lead + i]) or be 1 (expanding \(Shape.describe(self.shape)) to \(Shape.describe(shape)))")
        }
        if target == self.shape { return self }
        return makeView("ExpandBackward", shape: target, strides: Shape.broadcastStrides(self.shape, strides, to: target),
                        offset: offset) { g in g }
    }

    /// `expand([…])` with the sizes as arguments.
    public func expand(_ shape: Int...) -> Tensor { expand(shape) }

    /// Expands to `other`'s shape.
    public func expand(as other: Tensor) -> Tensor { expand(other.shape) }

    /// The elements `start..<start+length` along `dim`, as a view.
    public func narrow(dim: Int, start: Int, length: Int) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "narrow")
        let s = start < 0 ? start + shape[d] : start
        check(s >= 0 && length >= 0 && s + length <= shape[d],
              "[narrow] start \(start) and length \(length) exceed dim \(d) of size \(shape[d]) (shape \(Shape.describe(shape)))")
        var newShape = shape
        newShape[d] = length
        let out = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + s * strides[d])
        if Tensor.needsGrad(self) {
            // The engine adds the window's gradient into the input's gradient (GradNode.window).
            out.record("NarrowBackward", [self]) { g in [g] }
            out.gradNode!.window = (d, s)
        }
        return out
    }

    /// The slice `range` along `dim` (a view), like `x[:, a:b]`.
    public func slice(dim: Int, _ range: Range<Int>) -> Tensor {
        narrow(dim: dim, start: range.lowerBound, length: range.count)
    }

    /// The sub-tensor at `index` along `dim`, with that dim removed (a view).
    public func select(dim: Int, index: Int) -> Tensor {
        let d = Shape.normalize(dim, rank: rank, op: "select")
        let i = index < 0 ? index + shape[d] : index
        check(i >= 0 && i < shape[d], "[select] index \(index) is out of range for dim \(d) of size \(shape[d])")
        return narrow(dim: d, start: i, length: 1).squeeze(dim: d)
    }

    /// `select(dim: 0, index:)`: `x[i]`.
    public subscript(i: Int) -> Tensor { select(dim: 0, index: i) }

    /// Removes size-1 dims (all of them, or only `dim`).
    public func squeeze(dim: Int? = nil) -> Tensor {
        var keep = Array(0..<rank)
        if let dim {
            if rank == 0 { return self }
            let d = Shape.normalize(dim, rank: rank, op: "squeeze")
            if shape[d] != 1 { return self }
            keep.remove(at: d)
        } else {
            keep = keep.filter { shape[$0] != 1 }
        }
        if keep.count == rank { return self }
        let inShape = shape
        return makeView("SqueezeBackward", shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] },
                        offset: offset) { g in g.reshape(inShape) }
    }

    /// Inserts a size-1 dim at `dim` (−1 appends).
    public func unsqueeze(_ dim: Int) -> Tensor {
        let d = dim < 0 ? dim + rank + 1 : dim
        check(d >= 0 && d <= rank, "[unsqueeze] dim \(dim) out of range for a tensor of rank \(rank)")
        var s = shape, st = strides
        s.insert(1, at: d)
        st.insert(d < rank ? strides[d] * shape[d] : 1, at: d)
        let inShape = shape
        return makeView("UnsqueezeBackward", shape: s, strides: st, offset: offset) { g in g.reshape(inShape) }
    }

    /// This tensor if its data is contiguous, else a contiguous copy (differentiable).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Kernels.copyToContiguous(self)
        if Tensor.needsGrad(self) { out.record("CloneBackward", [self]) { g in [g] } }
        return out
    }

    /// A contiguous copy with its own storage (differentiable).
    public func clone() -> Tensor {
        let out = Kernels.copyToContiguous(self)
        if Tensor.needsGrad(self) { out.record("CloneBackward", [self]) { g in [g] } }
        return out
    }

    /// A copy converted to `dtype` (differentiable between floating-point types).
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let out = Kernels.cast(self, to: dtype)
        if dtype.isFloatingPoint && Tensor.needsGrad(self) {
            let from = self.dtype
            out.record("ToCopyBackward", [self]) { g in [g.to(from)] }
        }
        return out
    }

    /// `to(.float32)`.
    public func float() -> Tensor { to(.float32) }
    /// `to(.float64)`.
    public func double() -> Tensor { to(.float64) }
    /// `to(.int64)`.
    public func long() -> Tensor { to(.int64) }
}
