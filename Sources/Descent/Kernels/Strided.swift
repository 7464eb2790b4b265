/// Iteration over strided layouts: the one place that walks n-d index spaces.
///
/// Dims are collapsed where every operand is contiguous across them, size-1 dims dropped, and
/// the walk calls `body` once per innermost run with each operand's starting offset.
struct StridedLoop {
    /// Collapsed sizes (innermost last); at least one entry.
    let sizes: [Int]
    /// Collapsed strides per operand.
    let strides: [[Int]]

    init(shape: [Int], strides operandStrides: [[Int]]) {
        var sizes: [Int] = []
        var strides = [[Int]](repeating: [], count: operandStrides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = sizes.last {
                var mergeable = true
                for k in 0..<operandStrides.count where strides[k][strides[k].count - 1] != operandStrides[k][d] * shape[d] {
                    mergeable = false
                    break
                }
                if mergeable {
                    sizes[sizes.count - 1] = last * shape[d]
                    for k in 0..<operandStrides.count { strides[k][strides[k].count - 1] = operandStrides[k][d] }
                    continue
                }
            }
            sizes.append(shape[d])
            for k in 0..<operandStrides.count { strides[k].append(operandStrides[k][d]) }
        }
        if sizes.isEmpty {
            sizes = [1]
            for k in 0..<operandStrides.count { strides[k] = [0] }
        }
        self.sizes = sizes
        self.strides = strides
    }

    var innerCount: Int { sizes[sizes.count - 1] }
    var outerCount: Int { Shape.count(sizes) / max(innerCount, 1) }
    func innerStride(_ k: Int) -> Int { strides[k][strides[k].count - 1] }

    /// Calls `body(offsets, innerCount)` for the outer runs in `range`; offsets are relative
    /// to each operand's base.
    @inline(__always)
    func forEachRun(_ range: Range<Int>, _ body: (_ offsets: UnsafeMutablePointer<Int>, _ count: Int) -> Void) {
        let inner = innerCount
        let nOps = strides.count
        let outerDims = sizes.count - 1
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: max(nOps, 1))
        let index = UnsafeMutablePointer<Int>.allocate(capacity: max(outerDims, 1))
        defer { offsets.deallocate(); index.deallocate() }
        // Decode range.lowerBound into an outer multi-index.
        var rem = range.lowerBound
        for d in stride(from: outerDims - 1, through: 0, by: -1) {
            index[d] = rem % sizes[d]
            rem /= sizes[d]
        }
        for k in 0..<nOps {
            var o = 0
            for d in 0..<outerDims { o += index[d] * strides[k][d] }
            offsets[k] = o
        }
        for _ in range {
            body(offsets, inner)
            // Advance the outer index.
            var d = outerDims - 1
            while d >= 0 {
                index[d] += 1
                for k in 0..<nOps { offsets[k] += strides[k][d] }
                if index[d] < sizes[d] { break }
                for k in 0..<nOps { offsets[k] -= strides[k][d] * sizes[d] }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Runs all runs, in parallel when `parallel` and the work is large (splitting the single
    /// run of a contiguous layout too).
    @inline(__always)
    func run(parallel: Bool, cost: Int = 1, _ body: (_ offsets: UnsafeMutablePointer<Int>, _ count: Int) -> Void) {
        let outer = outerCount
        if parallel && outer == 1 && innerCount * cost >= 2 * Parallel.grain && Parallel.threads > 1 {
            let nOps = strides.count
            Parallel.forRange(innerCount, cost: cost) { r in
                let offsets = UnsafeMutablePointer<Int>.allocate(capacity: nOps)
                defer { offsets.deallocate() }
                for k in 0..<nOps { offsets[k] = r.lowerBound * innerStride(k) }
                body(offsets, r.count)
            }
        } else if parallel && outer > 1 {
            Parallel.forRange(outer, cost: innerCount * cost) { r in forEachRun(r, body) }
        } else if Shape.count(sizes) > 0 {
            forEachRun(0..<outer, body)
        }
    }
}
