/// Per output index along one axis: the two source indices and their weights (nearest uses
/// one index with weight 1 twice-free: i1 == i0 and w1 == 0).
struct ResampleAxis {
    var i0: [Int], i1: [Int], w0: [Double], w1: [Double]

    /// PyTorch's nearest-neighbour rule: src = min(⌊dst·scale⌋, in − 1), in `T`'s precision,
    /// with scale = 1/scaleFactor when one was given, else in/out.
    static func nearest<T: FloatScalar>(_: T.Type, input: Int, output: Int, scaleFactor: Double?) -> ResampleAxis {
        let scale: T = scaleFactor.map { T(1.0 / $0) } ?? T(input) / T(output)
        let idx = (0..<output).map { o -> Int in
            if output == input { return o }
            return Swift.min(Int((T(o) * scale).rounded(.down)), input - 1)
        }
        return ResampleAxis(i0: idx, i1: idx, w0: [Double](repeating: 1, count: output), w1: [Double](repeating: 0, count: output))
    }

    /// PyTorch's linear rule: src = dst·(in−1)/(out−1) with alignCorners, else
    /// max(0, (dst + 0.5)·scale − 0.5) with scale = 1/scaleFactor or in/out; computed in `T`.
    static func linear<T: FloatScalar>(_: T.Type, input: Int, output: Int, scaleFactor: Double?, alignCorners: Bool) -> ResampleAxis {
        let scale: T
        if alignCorners {
            scale = output > 1 ? T(input - 1) / T(output - 1) : 0
        } else {
            scale = scaleFactor.map { T(1.0 / $0) } ?? T(input) / T(output)
        }
        var a = ResampleAxis(i0: [], i1: [], w0: [], w1: [])
        for o in 0..<output {
            var src: T = alignCorners ? scale * T(o) : scale * (T(o) + 0.5) - 0.5
            if !alignCorners && src < 0 { src = 0 }
            let i0 = Swift.min(Int(src), input - 1)
            let i1 = i0 + (i0 < input - 1 ? 1 : 0)
            let l1 = src - T(i0)
            a.i0.append(i0); a.i1.append(i1); a.w0.append(Double(1 - l1)); a.w1.append(Double(l1))
        }
        return a
    }
}

extension Kernels {
    /// Separable 2-D resampling of contiguous planes (planes × H × W → planes × oh × ow), or its
    /// adjoint when `backward` (planes × oh × ow gradients spread back to planes × H × W).
    static func resample(_ src: Tensor, planes: Int, h: Int, w: Int, rows: ResampleAxis, cols: ResampleAxis, backward: Bool) -> Tensor {
        let oh = rows.i0.count, ow = cols.i0.count
        let out = backward ? Tensor.zeros([planes, h, w], dtype: src.dtype) : Tensor(uninitialized: [planes, oh, ow], dtype: src.dtype)
        let s = src.contiguousData()
        func go<T: FloatScalar>(_: T.Type) {
            let sp = s.storage.typed(T.self) + s.offset, op = out.storage.typed(T.self)
            let rw0 = rows.w0.map { T($0) }, rw1 = rows.w1.map { T($0) }, cw0 = cols.w0.map { T($0) }, cw1 = cols.w1.map { T($0) }
            Parallel.forRange(planes, cost: oh * ow * 4) { range in
                for c in range {
                    let big = (backward ? op : sp) + c * h * w
                    let small = (backward ? sp : op) + c * oh * ow
                    for oy in 0..<oh {
                        let r0 = big + rows.i0[oy] * w, r1 = big + rows.i1[oy] * w
                        let a0 = rw0[oy], a1 = rw1[oy]
                        for ox in 0..<ow {
                            let x0 = cols.i0[ox], x1 = cols.i1[ox], b0 = cw0[ox], b1 = cw1[ox]
                            if backward {
                                let g = small[oy * ow + ox]
                                r0[x0] += a0 * b0 * g; r0[x1] += a0 * b1 * g
                                r1[x0] += a1 * b0 * g; r1[x1] += a1 * b1 * g
                            } else {
                                small[oy * ow + ox] = a0 * (b0 * r0[x0] + b1 * r0[x1]) + a1 * (b0 * r1[x0] + b1 * r1[x1])
                            }
                        }
                    }
                }
            }
        }
        switch src.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("interpolate")
        case .int64: checkFailure("[interpolate] expected a floating-point tensor")
        }
        return out
    }
}
