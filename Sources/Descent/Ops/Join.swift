// Joining and splitting: cat is a primitive; stack, split and chunk are built on cat, unsqueeze
// and narrow. Constant padding is a primitive.

extension Tensor {
    /// Concatenates tensors along `dim`; all other sizes must match.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        check(!tensors.isEmpty, "[cat] expected a non-empty list of tensors")
        let first = tensors[0]
        let d = Shape.normalize(dim, rank: first.rank, op: "cat")
        let dtype = tensors.map(\.dtype).reduce(first.dtype, DType.promote)
        let parts = tensors.map { $0.to(dtype) }
        for (i, t) in parts.enumerated() {
            check(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == d || t.shape[$0] == first.shape[$0] },
                  "[cat] sizes of tensors must match except in dim \(d): tensor 0 has shape \(Shape.describe(first.shape)), tensor \(i) has \(Shape.describe(t.shape))")
        }
        var outShape = first.shape
        outShape[d] = parts.reduce(0) { $0 + $1.shape[d] }
        let out = Tensor(uninitialized: outShape, dtype: dtype)
        var start = 0
        var starts: [Int] = []
        for t in parts {
            starts.append(start)
            let window = Tensor(storage: out.storage, shape: t.shape, strides: out.strides, offset: start * out.strides[d])
            if t.count > 0 { Kernels.copy(t, into: window) }
            start += t.shape[d]
        }
        if needsGrad(parts) {
            let sizes = parts.map { $0.shape[d] }
            out.record("CatBackward", parts) { g in
                zip(starts, sizes).map { g.narrow(dim: d, start: $0, length: $1) }
            }
        }
        return out
    }

    /// Stacks equally shaped tensors along a new dim.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        check(!tensors.isEmpty, "[stack] expected a non-empty list of tensors")
        for (i, t) in tensors.enumerated() {
            check(t.shape == tensors[0].shape, "[stack] expects each tensor to be equal size, but got \(Shape.describe(tensors[0].shape)) at entry 0 and \(Shape.describe(t.shape)) at entry \(i)")
        }
        let d = dim < 0 ? dim + tensors[0].rank + 1 : dim
        return cat(tensors.map { $0.unsqueeze(d) }, dim: d)
    }

    /// Views of consecutive pieces of `size` along `dim` (the last may be smaller).
    public func split(_ size: Int, dim: Int = 0) -> [Tensor] {
        check(size > 0, "[split] split size must be positive, got \(size)")
        let d = Shape.normalize(dim, rank: rank, op: "split")
        return stride(from: 0, to: Swift.max(shape[d], 1), by: size).map {
            narrow(dim: d, start: $0, length: Swift.min(size, shape[d] - $0))
        }
    }

    /// Views of pieces with the given sizes along `dim` (they must add up to the dim's size).
    public func split(sizes: [Int], dim: Int = 0) -> [Tensor] {
        let d = Shape.normalize(dim, rank: rank, op: "split")
        check(sizes.reduce(0, +) == shape[d], "[split] sizes \(sizes) do not add up to \(shape[d]), the size of dim \(d)")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return narrow(dim: d, start: start, length: s)
        }
    }

    /// Splits into `chunks` views of equal size along `dim` (the last may be smaller), as PyTorch.
    public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        check(chunks > 0, "[chunk] number of chunks must be positive, got \(chunks)")
        let d = Shape.normalize(dim, rank: rank, op: "chunk")
        return split(Swift.max(1, (shape[d] + chunks - 1) / chunks), dim: d)
    }

    /// Pads with `value`: `padding` lists (before, after) pairs starting from the last dim, as
    /// PyTorch's `F.pad` (`[left, right, top, bottom]` for the last two dims). Negative
    /// amounts crop.
    public func pad(_ padding: [Int], value: Double = 0) -> Tensor {
        check(padding.count % 2 == 0 && padding.count / 2 <= rank,
              "[pad] padding length \(padding.count) must be even and at most 2 × rank (\(2 * rank))")
        var outShape = shape
        var srcStart = [Int](repeating: 0, count: rank), dstStart = srcStart, len = shape
        for k in 0..<(padding.count / 2) {
            let d = rank - 1 - k, before = padding[2 * k], after = padding[2 * k + 1]
            outShape[d] = shape[d] + before + after
            check(outShape[d] >= 0, "[pad] padding \(padding) makes dim \(d) of size \(shape[d]) negative")
            srcStart[d] = Swift.max(0, -before)
            dstStart[d] = Swift.max(0, before)
            len[d] = Swift.max(0, shape[d] - Swift.max(0, -before) - Swift.max(0, -after))
        }
        let out = Tensor.full(outShape, value, dtype: dtype)
        if Shape.count(len) > 0 {
            var src = detach(), dst = out
            for d in 0..<rank {
                src = src.narrow(dim: d, start: srcStart[d], length: len[d])
                dst = dst.narrow(dim: d, start: dstStart[d], length: len[d])
            }
            Kernels.copy(src, into: dst)
        }
        if Tensor.needsGrad(self) {
            let inShape = shape
            out.record("PadBackward", [self]) { g in
                var inner = g
                for d in 0..<inner.rank { inner = inner.narrow(dim: d, start: dstStart[d], length: len[d]) }
                var full = inner
                if len != inShape {
                    full = Tensor.zeros(inShape, dtype: g.dtype)
                    var w = full
                    for d in 0..<w.rank { w = w.narrow(dim: d, start: srcStart[d], length: len[d]) }
                    Kernels.copy(inner, into: w)
                }
                return [full]
            }
        }
        return out
    }
}
