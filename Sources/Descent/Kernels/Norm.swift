import CDescentKernels

extension Kernels {
    /// Per-channel mean and biased variance of contiguous x viewed as (N, C, L), in Double.
    static func channelMoments(_ x: Tensor, n: Int, c: Int, l: Int) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        func go<T: FloatScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset
            mean.withUnsafeMutableBufferPointer { mb in
                variance.withUnsafeMutableBufferPointer { vb in
                    let mp = mb.baseAddress!, vp = vb.baseAddress!
                    Parallel.forRange(c, cost: n * l * 2) { range in
                        for ch in range {
                            // Two passes (mean, then centered squares) for accuracy.
                            var s = 0.0
                            for b in 0..<n { s += rowSum(xp + (b * c + ch) * l, l) }
                            let m = s / Double(n * l)
                            let mt = T(fromDouble: m)
                            var q = 0.0
                            for b in 0..<n { q += rowSquaredDeviation(xp + (b * c + ch) * l, l, mt) }
                            mp[ch] = m
                            vp[ch] = q / Double(n * l)
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("batchNorm")
        case .int64: checkFailure("[batchNorm] expected a floating-point tensor")
        }
        return (mean, variance)
    }

    /// y = x·scale[c] + shift[c] over contiguous (N, C, L).
    static func channelAffine(_ x: Tensor, n: Int, c: Int, l: Int, scale: [Double], shift: [Double]) -> Tensor {
        let out = Tensor(uninitialized: x.shape, dtype: x.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, op = out.storage.typed(T.self)
            let sc = scale.map { T(fromDouble: $0) }, sh = shift.map { T(fromDouble: $0) }
            Parallel.forRange(n * c, cost: l) { range in
                for bc in range {
                    let ch = bc % c, a = sc[ch], b = sh[ch]
                    let p = xp + bc * l, q = op + bc * l
                    for i in 0..<l { q[i] = p[i] * a + b }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("batchNorm")
        case .int64: checkFailure("[batchNorm] expected a floating-point tensor")
        }
        return out
    }

    /// Per channel: Σg and Σg·(x − mean), over contiguous (N, C, L) x and g.
    static func channelGradSums(_ g: Tensor, _ x: Tensor, mean: [Double], n: Int, c: Int, l: Int) -> (sumG: [Double], sumGX: [Double]) {
        var sg = [Double](repeating: 0, count: c), sgx = [Double](repeating: 0, count: c)
        func go<T: FloatScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, gp = g.storage.typed(T.self) + g.offset
            sg.withUnsafeMutableBufferPointer { a in
                sgx.withUnsafeMutableBufferPointer { b in
                    let ap = a.baseAddress!, bp = b.baseAddress!
                    // Each channel's rows summed in image order, as one sum; the images outer, so
                    // that a part reads its channels' rows of an image as one run (rows of a
                    // channel alone are a page apart, which the prefetchers do not cross).
                    Parallel.forRange(c, cost: n * l * 2) { range in
                        let means = range.map { T(fromDouble: mean[$0]) }
                        for ch in range { ap[ch] = 0; bp[ch] = 0 }
                        for bb in 0..<n {
                            for (k, ch) in range.enumerated() {
                                let p = xp + (bb * c + ch) * l, q = gp + (bb * c + ch) * l
                                let (a, b) = rowSumAndProductDeviation(q, p, l, means[k])
                                ap[ch] += a
                                bp[ch] += b
                            }
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("batchNorm")
        case .int64: checkFailure("[batchNorm] expected a floating-point tensor")
        }
        return (sg, sgx)
    }

    /// dx = k[c]·(g − a[c] − (x − mean[c])·b[c]) over contiguous (N, C, L); written over g with
    /// `overwritingG` (the caller's own copy, or where `Autograd.mayOverwrite`), each element of g
    /// read before it is written.
    static func batchNormInputGrad(_ g: Tensor, _ x: Tensor, mean: [Double], k: [Double], a: [Double], b: [Double],
                                   n: Int, c: Int, l: Int, overwritingG: Bool = false) -> Tensor {
        let inPlace = overwritingG && g.dtype == x.dtype && g.shape == x.shape && g.isContiguous
        let out = inPlace ? g : Tensor(uninitialized: x.shape, dtype: x.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, gp = g.storage.typed(T.self) + g.offset, op = out.storage.typed(T.self)
            let mt = mean.map { T(fromDouble: $0) }, kt = k.map { T(fromDouble: $0) }
            let at = a.map { T(fromDouble: $0) }, bt = b.map { T(fromDouble: $0) }
            Parallel.forRange(n * c, cost: l * 2) { range in
                for bc in range {
                    let ch = bc % c, m = mt[ch], kk = kt[ch], aa = at[ch], bb = bt[ch]
                    let p = xp + bc * l, q = gp + bc * l, r = op + bc * l
                    if inPlace {
                        // One pointer for g and dx: the loop then vectorizes (with two, their overlap
                        // check would send it to the scalar loop).
                        for i in 0..<l { q[i] = kk * (q[i] - aa - (p[i] - m) * bb) }
                    } else {
                        for i in 0..<l { r[i] = kk * (q[i] - aa - (p[i] - m) * bb) }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("batchNorm")
        case .int64: checkFailure("[batchNorm] expected a floating-point tensor")
        }
        return out
    }

    // Sums over one contiguous row, float32 on the vectorized C kernels (reduce.c).

    @inline(__always) private static func rowSum<T: FloatScalar>(_ p: UnsafeMutablePointer<T>, _ l: Int) -> Double {
        if T.self == Float.self { return dk_sum_f32(Int64(l), UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)) }
        var part: T = 0
        for i in 0..<l { part += p[i] }
        return part.asDouble
    }

    /// Σ (p[i] − m)².
    @inline(__always) private static func rowSquaredDeviation<T: FloatScalar>(_ p: UnsafeMutablePointer<T>, _ l: Int, _ m: T) -> Double {
        if T.self == Float.self {
            return dk_sum_squared_deviation_f32(Int64(l), UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), Float(m.asDouble))
        }
        var part: T = 0
        for i in 0..<l { let d = p[i] - m; part += d * d }
        return part.asDouble
    }

    /// Σ g[i] and Σ g[i]·(x[i] − m): for float32 in one pass (the values of the two kernels).
    @inline(__always) private static func rowSumAndProductDeviation<T: FloatScalar>(_ g: UnsafeMutablePointer<T>,
                                                                                   _ x: UnsafeMutablePointer<T>, _ l: Int,
                                                                                   _ m: T) -> (Double, Double) {
        if T.self == Float.self {
            var sums = (0.0, 0.0)
            withUnsafeMutableBytes(of: &sums) { s in
                dk_sum_and_product_deviation_f32(Int64(l), UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
                                                 UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Float(m.asDouble),
                                                 s.baseAddress!.assumingMemoryBound(to: Double.self))
            }
            return sums
        }
        return (rowSum(g, l), rowProductDeviation(g, x, l, m))
    }

    /// Σ g[i]·(x[i] − m).
    @inline(__always) private static func rowProductDeviation<T: FloatScalar>(_ g: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>,
                                                                             _ l: Int, _ m: T) -> Double {
        if T.self == Float.self {
            return dk_sum_product_deviation_f32(Int64(l), UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
                                                UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Float(m.asDouble))
        }
        var part: T = 0
        for i in 0..<l { part += g[i] * (x[i] - m) }
        return part.asDouble
    }
}
