import CDescentKernels

/// Windows of a 2-D pooling: for output row oy, input rows [rowStart(oy), rowEnd(oy)) with
/// step `dh` (and likewise for columns). Covers fixed windows (max/avg pooling with stride,
/// padding and dilation) and adaptive ones.
struct PoolWindows {
    let h: Int, w: Int, oh: Int, ow: Int
    /// Fixed windows: kernel, stride, padding, dilation. Adaptive when `adaptive`.
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
    let adaptive: Bool

    @inline(__always) func rows(_ oy: Int) -> (start: Int, end: Int) {
        adaptive ? (oy * h / oh, ((oy + 1) * h + oh - 1) / oh) : (oy * sh - ph, oy * sh - ph + (kh - 1) * dh + 1)
    }
    @inline(__always) func cols(_ ox: Int) -> (start: Int, end: Int) {
        adaptive ? (ox * w / ow, ((ox + 1) * w + ow - 1) / ow) : (ox * sw - pw, ox * sw - pw + (kw - 1) * dw + 1)
    }
    var stepH: Int { adaptive ? 1 : dh }
    var stepW: Int { adaptive ? 1 : dw }
}

extension Kernels {
    /// Max over each window of each (H, W) plane of contiguous `x` (planes × H × W); returns
    /// values and the flat index (y·W + x) of the maximum in its plane. NaN wins (the last
    /// one), as in PyTorch. Without `indices` (inference) the indices may be left out (nil).
    static func maxPool(_ x: Tensor, planes: Int, _ p: PoolWindows, indices wanted: Bool = true) -> (Tensor, Tensor?) {
        let values = Tensor(uninitialized: [planes, p.oh, p.ow], dtype: x.dtype)
        // Windows that never leave the image (no padding, no overhang, no dilation): plain loops.
        let interior = !p.adaptive && p.ph == 0 && p.pw == 0 && p.dh == 1 && p.dw == 1
            && (p.oh - 1) * p.sh + p.kh <= p.h && (p.ow - 1) * p.sw + p.kw <= p.w
        if interior && x.dtype == .float32 {
            // The vectorized C kernel (pooling.c).
            var g = dk_pool_geometry(h: Int64(p.h), w: Int64(p.w), kh: Int64(p.kh), kw: Int64(p.kw), sh: Int64(p.sh),
                                     sw: Int64(p.sw), oh: Int64(p.oh), ow: Int64(p.ow))
            let indices = wanted || dk_maxpool2d_values_only(&g) == 0 ? Tensor(uninitialized: [planes, p.oh, p.ow], dtype: .int64) : nil
            let ip = indices?.storage.typed(Int64.self)
            let xp = x.storage.typed(Float.self) + x.offset, vp = values.storage.typed(Float.self), per = p.oh * p.ow
            Parallel.forRange(planes, cost: per * p.kh * p.kw) { r in
                dk_maxpool2d_f32(Int64(r.count), &g, xp + r.lowerBound * p.h * p.w, vp + r.lowerBound * per,
                                 ip.map { $0 + r.lowerBound * per })
            }
            return (values, indices)
        }
        let indices = Tensor(uninitialized: [planes, p.oh, p.ow], dtype: .int64)
        let ip = indices.storage.typed(Int64.self)
        func go<T: FloatScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, vp = values.storage.typed(T.self)
            Parallel.forRange(planes, cost: p.oh * p.ow * p.kh * p.kw) { range in
                if interior {
                    for c in range {
                        let plane = xp + c * p.h * p.w
                        var o = c * p.oh * p.ow
                        for oy in 0..<p.oh {
                            for ox in 0..<p.ow {
                                let start = oy * p.sh * p.w + ox * p.sw
                                var best = plane[start], bi = start
                                for i in 0..<p.kh {
                                    let row = start &+ i &* p.w
                                    for j in 0..<p.kw {
                                        // Branch-free select: random data would defeat branch prediction.
                                        let v = plane[row &+ j]
                                        let take = v > best || v != v
                                        best = take ? v : best
                                        bi = take ? row &+ j : bi
                                    }
                                }
                                vp[o] = best
                                ip[o] = Int64(bi)
                                o += 1
                            }
                        }
                    }
                    return
                }
                for c in range {
                    let plane = xp + c * p.h * p.w
                    var o = c * p.oh * p.ow
                    for oy in 0..<p.oh {
                        let (y0, y1) = p.rows(oy)
                        for ox in 0..<p.ow {
                            let (x0, x1) = p.cols(ox)
                            var best = -T.infinity, bi = -1
                            // Clip the window to the image once (respecting the dilation step).
                            let sy = p.stepH, sx = p.stepW
                            let ya = y0 < 0 ? y0 + (-y0 + sy - 1) / sy * sy : y0, yb = Swift.min(y1, p.h)
                            let xa = x0 < 0 ? x0 + (-x0 + sx - 1) / sx * sx : x0, xb = Swift.min(x1, p.w)
                            var y = ya
                            while y < yb {
                                let row = plane + y * p.w
                                var xx = xa
                                while xx < xb {
                                    let v = row[xx]
                                    if v > best || v != v || bi < 0 { best = v; bi = y * p.w + xx }
                                    xx += sx
                                }
                                y += sy
                            }
                            vp[o] = best
                            ip[o] = Int64(bi)
                            o += 1
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("maxPool")
        case .int64: checkFailure("[maxPool] expected a floating-point tensor")
        }
        return (values, indices)
    }

    /// Adds each output gradient to the input position its maximum came from.
    static func maxPoolBackward(_ g: Tensor, _ indices: Tensor, planes: Int, h: Int, w: Int) -> Tensor {
        let gc = g.contiguousData()
        let per = indices.count / max(planes, 1)
        let ip = indices.storage.typed(Int64.self) + indices.offset
        if g.dtype == .float32 {
            let dx = Tensor(uninitialized: [planes, h * w], dtype: .float32)
            let gp = gc.storage.typed(Float.self) + gc.offset, dp = dx.storage.typed(Float.self)
            Parallel.forRange(planes, cost: per + h * w) { r in
                dk_maxpool2d_backward_f32(Int64(r.lowerBound), Int64(r.upperBound), Int64(h * w), Int64(per), gp, ip, dp)
            }
            return dx
        }
        let dx = Tensor.zeros([planes, h * w], dtype: g.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let gp = gc.storage.typed(T.self) + gc.offset, dp = dx.storage.typed(T.self)
            Parallel.forRange(planes, cost: per) { range in
                for c in range {
                    for o in (c * per)..<((c + 1) * per) where ip[o] >= 0 { dp[c * h * w + Int(ip[o])] += gp[o] }
                }
            }
        }
        switch g.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("maxPool")
        case .int64: checkFailure("[maxPool] expected a floating-point gradient")
        }
        return dx
    }

    /// The divisor of each window of an average pool, PyTorch's rule: the window clipped to
    /// the padded input (countIncludePad) or to the input itself, or `divisorOverride`.
    @inline(__always)
    static func avgDivisor(_ p: PoolWindows, _ y0: Int, _ y1: Int, _ x0: Int, _ x1: Int, countIncludePad: Bool, divisorOverride: Int?) -> Int {
        if let d = divisorOverride { return d }
        if p.adaptive { return (y1 - y0) * (x1 - x0) }
        if countIncludePad { return (Swift.min(y1, p.h + p.ph) - y0) * (Swift.min(x1, p.w + p.pw) - x0) }
        return (Swift.min(y1, p.h) - Swift.max(y0, 0)) * (Swift.min(x1, p.w) - Swift.max(x0, 0))
    }

    /// Average pool (forward) or its adjoint (backward: spreads each output gradient evenly
    /// over its window), on contiguous planes.
    static func avgPool(_ src: Tensor, planes: Int, _ p: PoolWindows, countIncludePad: Bool, divisorOverride: Int?,
                        backward: Bool) -> Tensor {
        let out = backward ? Tensor.zeros([planes, p.h, p.w], dtype: src.dtype) : Tensor(uninitialized: [planes, p.oh, p.ow], dtype: src.dtype)
        let s = src.contiguousData()
        func go<T: FloatScalar>(_: T.Type) {
            let sp = s.storage.typed(T.self) + s.offset, op = out.storage.typed(T.self)
            Parallel.forRange(planes, cost: p.oh * p.ow * p.kh * p.kw) { range in
                for c in range {
                    let big = (backward ? op : sp) + c * p.h * p.w
                    let small = (backward ? sp : op) + c * p.oh * p.ow
                    for oy in 0..<p.oh {
                        let (y0, y1) = p.rows(oy)
                        for ox in 0..<p.ow {
                            let (x0, x1) = p.cols(ox)
                            let div = avgDivisor(p, y0, y1, x0, x1, countIncludePad: countIncludePad, divisorOverride: divisorOverride)
                            let ya = Swift.max(y0, 0), yb = Swift.min(y1, p.h), xa = Swift.max(x0, 0), xb = Swift.min(x1, p.w)
                            if backward {
                                let share = small[oy * p.ow + ox] / T(div)
                                if ya < yb && xa < xb { for y in ya..<yb { for xx in xa..<xb { big[y * p.w + xx] += share } } }
                            } else {
                                var acc: T = 0
                                if ya < yb && xa < xb { for y in ya..<yb { for xx in xa..<xb { acc += big[y * p.w + xx] } } }
                                small[oy * p.ow + ox] = ya < yb && xa < xb ? acc / T(div) : 0
                            }
                        }
                    }
                }
            }
        }
        switch src.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("avgPool")
        case .int64: checkFailure("[avgPool] expected a floating-point tensor")
        }
        return out
    }
}
