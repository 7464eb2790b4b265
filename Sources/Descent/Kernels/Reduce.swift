import CDescentKernels

/// A reduction over a set of dims: the kept dims enumerate output elements (row-major), the
/// reduced dims form the inner walk for each output.
struct ReducePlan {
    /// Output shape with the reduced dims kept as size 1.
    let keptShape: [Int]
    let outCount: Int
    let kept: StridedLoop
    let reduced: StridedLoop
    let reducedCount: Int

    init(_ x: Tensor, dims: [Int]) {
        var keptShape = x.shape
        var keptSizes: [Int] = [], keptStrides: [Int] = []
        var redSizes: [Int] = [], redStrides: [Int] = []
        for d in 0..<x.rank {
            if dims.contains(d) {
                keptShape[d] = 1
                redSizes.append(x.shape[d]); redStrides.append(x.strides[d])
            } else {
                keptSizes.append(x.shape[d]); keptStrides.append(x.strides[d])
            }
        }
        self.keptShape = keptShape
        outCount = Shape.count(keptSizes)
        reducedCount = Shape.count(redSizes)
        kept = StridedLoop(shape: keptSizes, strides: [keptStrides])
        reduced = StridedLoop(shape: redSizes, strides: [redStrides])
    }

    /// Calls `body(outIndex, xOffset)` for every output element, in parallel when worthwhile.
    @inline(__always)
    func forEachOutput(cost: Int = 1, _ body: (_ out: Int, _ base: Int) -> Void) {
        guard outCount > 0 else { return }
        let inner = kept.innerCount, s = kept.innerStride(0)
        let runs = kept.outerCount
        let work = max(reducedCount, 1) * cost
        if runs == 1 {
            // One run of outputs (e.g. per-channel statistics): split it across threads.
            Parallel.forRange(inner, cost: work) { r in for i in r { body(i, i * s) } }
            return
        }
        Parallel.forRange(runs, cost: inner * work) { r in
            var run = r.lowerBound
            kept.forEachRun(r) { o, n in
                let first = run * inner
                for i in 0..<n { body(first + i, o[0] + i * s) }
                run += 1
            }
        }
    }

    /// Calls `body(xOffset, count, stride)` for each run of the reduced walk from `base`.
    @inline(__always)
    func forEachReducedRun(_ base: Int, _ body: (_ offset: Int, _ count: Int, _ stride: Int) -> Void) {
        let s = reduced.innerStride(0)
        if reduced.sizes.count == 1 {
            if reducedCount > 0 { body(base, reduced.innerCount, s) }
            return
        }
        reduced.forEachRun(0..<reduced.outerCount) { o, n in body(base + o[0], n, s) }
    }
}

extension Kernels {
    /// Sum over `dims` (output keeps them as size 1), accumulating in Double.
    static func sum(_ x: Tensor, dims: [Int]) -> Tensor {
        if x.dtype == .float32 && x.isContiguous && !dims.isEmpty && dims == Array(0..<dims.count) && dims.count < x.rank {
            return sumLeadingRows(x, dims: dims)
        }
        let plan = ReducePlan(x, dims: dims)
        let out = Tensor(uninitialized: plan.keptShape, dtype: x.dtype)
        func go<T: TensorScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, op = out.storage.typed(T.self)
            plan.forEachOutput { o, base in
                var acc = 0.0
                plan.forEachReducedRun(base) { off, n, s in
                    let p = xp + off
                    if s == 1 { for i in 0..<n { acc += p[i].asDouble } } else { for i in 0..<n { acc += p[i * s].asDouble } }
                }
                op[o] = T(fromDouble: acc)
            }
        }
        switch x.dtype {
        case .float32: sumFloat(x, plan, out)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("sum")
        case .int64:
            let xp = x.storage.typed(Int64.self) + x.offset, op = out.storage.typed(Int64.self)
            plan.forEachOutput { o, base in
                var acc: Int64 = 0
                plan.forEachReducedRun(base) { off, n, s in for i in 0..<n { acc &+= xp[off + i * s] } }
                op[o] = acc
            }
        }
        return out
    }

    /// Sum of the rows of a contiguous (R, K) float32 layout (leading dims reduced): rows are
    /// added into Double accumulators, vectorized along K (`dk_sum_rows_f32`) and split across
    /// threads by columns.
    private static func sumLeadingRows(_ x: Tensor, dims: [Int]) -> Tensor {
        var keptShape = x.shape
        for d in dims { keptShape[d] = 1 }
        let rows = dims.reduce(1) { $0 * x.shape[$1] }, cols = x.shape[dims.count...].reduce(1, *)
        let out = Tensor(uninitialized: keptShape, dtype: .float32)
        let xp = x.storage.typed(Float.self) + x.offset, op = out.storage.typed(Float.self)
        Parallel.forRange(cols, cost: rows) { r in
            dk_sum_rows_f32(Int64(rows), Int64(r.count), Int64(cols), xp + r.lowerBound, op + r.lowerBound)
        }
        return out
    }

    private static func sumFloat(_ x: Tensor, _ plan: ReducePlan, _ out: Tensor) {
        let xp = x.storage.typed(Float.self) + x.offset, op = out.storage.typed(Float.self)
        plan.forEachOutput { o, base in
            var acc = 0.0
            plan.forEachReducedRun(base) { off, n, s in
                let p = xp + off
                if s == 1 {
                    acc += sumRun(n, p)
                } else if s == 0 {
                    acc += Double(p[0]) * Double(n)  // a broadcast value (the gradient of a sum)
                } else {
                    for i in 0..<n { acc += Double(p[i * s]) }
                }
            }
            op[o] = Float(acc)
        }
    }

    /// Elements of a run that one task of `sumRun` adds.
    static let sumChunk = 1 << 16

    /// Σ p[0..<n]: `dk_sum_f32` (vector accumulators, blocks added in double) over chunks of
    /// `sumChunk` elements, their sums added in order. The chunks are the same on any number of
    /// threads, so the sum is too; a long run (a loss's `sum()` of a whole activation) splits
    /// across threads rather than leaving the others idle.
    private static func sumRun(_ n: Int, _ p: UnsafePointer<Float>) -> Double {
        let chunks = (n + sumChunk - 1) / sumChunk
        if chunks == 1 { return dk_sum_f32(Int64(n), p) }
        let parts = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
        defer { parts.deallocate() }
        Parallel.forRange(chunks, cost: sumChunk) { r in
            for c in r { parts[c] = dk_sum_f32(Int64(min(sumChunk, n - c * sumChunk)), p + c * sumChunk) }
        }
        var total = 0.0
        for c in 0..<chunks { total += parts[c] }
        return total
    }

    /// Product over `dims` (kept as size 1).
    static func prod(_ x: Tensor, dims: [Int]) -> Tensor {
        let plan = ReducePlan(x, dims: dims)
        let out = Tensor(uninitialized: plan.keptShape, dtype: x.dtype)
        func go<T: TensorScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, op = out.storage.typed(T.self)
            plan.forEachOutput { o, base in
                var acc: T = 1
                plan.forEachReducedRun(base) { off, n, s in for i in 0..<n { acc *= xp[off + i * s] } }
                op[o] = acc
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("prod")
        case .int64: go(Int64.self)
        }
        return out
    }

    /// Max (or min) along one dim with the index of the first extreme element (NaN wins, as
    /// in PyTorch). Returns values and int64 indices, the dim kept as size 1.
    static func extreme(_ x: Tensor, dim: Int, max: Bool) -> (Tensor, Tensor) {
        let plan = ReducePlan(x, dims: [dim])
        let values = Tensor(uninitialized: plan.keptShape, dtype: x.dtype)
        let indices = Tensor(uninitialized: plan.keptShape, dtype: .int64)
        let ip = indices.storage.typed(Int64.self)
        let n = x.shape[dim], s = x.strides[dim]
        func go<T: TensorScalar>(_: T.Type) {
            let xp = x.storage.typed(T.self) + x.offset, vp = values.storage.typed(T.self)
            plan.forEachOutput { o, base in
                let p = xp + base
                var best = p[0], bi = 0
                if best == best {
                    for i in 1..<Swift.max(n, 1) {
                        let v = p[i * s]
                        if v != v { best = v; bi = i; break }
                        if max ? v > best : v < best { best = v; bi = i }
                    }
                }
                vp[o] = best
                ip[o] = Int64(bi)
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("max")
        case .int64: go(Int64.self)
        }
        return (values, indices)
    }
}

extension Kernels {
    /// For `prod` along `dim`: the product of all other elements of each slice, computed
    /// exactly (prefix × suffix products, so zeros are handled).
    static func productOfOthers(_ x: Tensor, dim: Int) -> Tensor {
        let plan = ReducePlan(x, dims: [dim])
        let xc = x
        let out = Tensor.zeros(x.shape, dtype: x.dtype)
        let n = x.shape[dim], s = x.strides[dim], so = out.strides[dim]
        let outPlan = ReducePlan(out, dims: [dim])
        // Map output element index -> base offset in `out` (same enumeration order as `plan`).
        var outBases = [Int](repeating: 0, count: plan.outCount)
        outBases.withUnsafeMutableBufferPointer { ob in
            let obp = ob.baseAddress!
            outPlan.forEachOutput { o, base in obp[o] = base }
        }
        func go<T: FloatScalar>(_: T.Type) {
            let xp = xc.storage.typed(T.self) + xc.offset, op = out.storage.typed(T.self)
            outBases.withUnsafeBufferPointer { ob in
                plan.forEachOutput { o, base in
                    let p = xp + base, q = op + ob[o]
                    var prefix: T = 1
                    for i in 0..<n { q[i * so] = prefix; prefix *= p[i * s] }
                    var suffix: T = 1
                    for i in stride(from: n - 1, through: 0, by: -1) { q[i * so] *= suffix; suffix *= p[i * s] }
                }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("prod")
        case .int64: checkFailure("[prod] gradients need a floating-point tensor")
        }
        return out
    }
}
