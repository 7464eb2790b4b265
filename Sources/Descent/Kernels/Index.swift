extension Kernels {
    /// `out[p] = x[p with p[dim] replaced by index[p]]` over the index's shape.
    static func gather(_ x: Tensor, dim: Int, index: Tensor, op: String) -> Tensor {
        let out = Tensor(uninitialized: index.shape, dtype: x.dtype)
        var xs = x.strides
        let dimStride = xs[dim], dimSize = x.shape[dim]
        xs[dim] = 0
        let loop = StridedLoop(shape: index.shape, strides: [index.strides, xs, out.strides])
        let ip = index.storage.typed(Int64.self) + index.offset
        let ii = loop.innerStride(0), ix = loop.innerStride(1), io = loop.innerStride(2)
        func go<T: TensorScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, op2 = out.storage.typed(T.self)
            loop.run(parallel: true) { o, n in
                for i in 0..<n {
                    var k = Int(ip[o[0] + i * ii])
                    if k < 0 { k += dimSize }
                    check(k >= 0 && k < dimSize, "[\(op)] index \(ip[o[0] + i * ii]) is out of bounds for dim \(dim) with size \(dimSize)")
                    op2[o[2] + i * io] = xp[o[1] + i * ix + k * dimStride]
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: go(BFloat16.self)
        case .int64: go(Int64.self)
        }
        return out
    }

    /// A copy of `base` with `src[p]` added at `p with p[dim] replaced by index[p]`.
    static func scatterAdd(_ base: Tensor, dim: Int, index: Tensor, source: Tensor, op: String) -> Tensor {
        let out = copyToContiguous(base)
        var os = out.strides
        let dimStride = os[dim], dimSize = out.shape[dim]
        os[dim] = 0
        let loop = StridedLoop(shape: index.shape, strides: [index.strides, source.strides, os])
        let ip = index.storage.typed(Int64.self) + index.offset
        func go<T: TensorScalar>(_: T.Type) {
            let sp = source.storage.typed(T.self) + source.offset, op2 = out.storage.typed(T.self)
            let ii = loop.innerStride(0), isrc = loop.innerStride(1), io = loop.innerStride(2)
            loop.run(parallel: false) { o, n in
                for i in 0..<n {
                    var k = Int(ip[o[0] + i * ii])
                    if k < 0 { k += dimSize }
                    check(k >= 0 && k < dimSize, "[\(op)] index \(ip[o[0] + i * ii]) is out of bounds for dim \(dim) with size \(dimSize)")
                    op2[o[2] + i * io + k * dimStride] += sp[o[1] + i * isrc]
                }
            }
        }
        switch out.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported(op)
        case .int64: go(Int64.self)
        }
        return out
    }
}
