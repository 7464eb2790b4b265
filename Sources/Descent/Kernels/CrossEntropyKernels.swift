// The two halves of cross-entropy: log-softmax along a dim and its backward (Ops/LogSoftmax.swift),
// and the negative log-likelihood of int64 class indices and its backward (Ops/NLLLoss.swift).
// Each is one pass over its tensor, where the composites they replace took a dozen small ops
// (an MLP step's loss, forward and backward, took 42 µs of its 0.6 ms that way).

extension Kernels {
    /// y = (x − m) − log Σ e^(x − m) along `dim`, m the row's maximum (0 where it is infinite, so
    /// that a row holding +∞ gives NaN there and −∞ elsewhere, as the stable composite did); the
    /// sums in Double. A NaN makes its row NaN. x float32 or float64.
    static func logSoftmax(_ x: Tensor, dim: Int) -> Tensor {
        let c = x.contiguousData(), out = Tensor(uninitialized: x.shape, dtype: x.dtype)
        let (n, inner) = (x.shape[dim], c.strides[dim]), rows = ReducePlan(c, dims: [dim])
        func go<T: FloatScalar>(_: T.Type) {
            // c and out are contiguous and of one shape: a row starts at the same offset in both.
            let xp = c.storage.typed(T.self) + c.offset, yp = out.storage.typed(T.self)
            rows.forEachOutput(cost: 24) { _, base in
                var m = -T.infinity
                for k in 0..<n {
                    let v = xp[base + k * inner]
                    if v > m || v != v { m = v }
                    if m != m { break }
                }
                if m.isInfinite { m = 0 }
                var s = 0.0
                for k in 0..<n { s += Double(T.exp(xp[base + k * inner] - m)) }
                let logS = T(Double.log(s))
                for k in 0..<n { yp[base + k * inner] = (xp[base + k * inner] - m) - logS }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16, .int64: checkFailure("[logSoftmax] expected a float32 or float64 tensor, got \(x.dtype)")
        }
        return out
    }

    /// dx = g − e^y · Σ g along `dim`, from the output y of `logSoftmax` (sums in Double).
    static func logSoftmaxBackward(_ g: Tensor, _ y: Tensor, dim: Int) -> Tensor {
        let gc = g.contiguousData(), dx = Tensor(uninitialized: y.shape, dtype: y.dtype)
        let (n, inner) = (y.shape[dim], dx.strides[dim]), rows = ReducePlan(dx, dims: [dim])
        func go<T: FloatScalar>(_: T.Type) {
            let gp = gc.storage.typed(T.self) + gc.offset, yp = y.storage.typed(T.self) + y.offset, dp = dx.storage.typed(T.self)
            rows.forEachOutput(cost: 24) { _, base in
                var s = 0.0
                for k in 0..<n { s += Double(gp[base + k * inner]) }
                let sum = T(s)
                for k in 0..<n {
                    let at = base + k * inner
                    dp[at] = gp[at] - T.exp(yp[at]) * sum
                }
            }
        }
        switch y.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16, .int64: checkFailure("[logSoftmax] expected a float32 or float64 gradient, got \(y.dtype)")
        }
        return dx
    }
}

/// What `Kernels.nllLoss` computes: the losses (per element, or their sum) and, for `.mean`, the
/// sum of the counted elements' weights it divides by.
struct NLLTerms {
    /// The elements' weights w_e (weight[t_e], 1 without weights, 0 where ignored), the shape of the target.
    let weights: Tensor
    /// The result: −w_e·x[n, t_e, …] per element (`.none`), or their sum, or the sum divided by Σ w_e.
    let loss: Tensor
    /// Σ w_e (`.mean`'s divisor), in the input's dtype.
    let weightSum: Double
}

extension Kernels {
    /// Negative log-likelihood of the int64 targets `t` (N, d…) under log-probabilities `x` (N,
    /// C, d…) (contiguous copies are made of strided ones). Sums in Double, in element order.
    static func nllLoss(_ x: Tensor, _ t: Tensor, weight: Tensor?, ignoreIndex: Int, reduction: Reduction, op: String) -> NLLTerms {
        let xc = x.contiguousData(), tc = t.contiguousData(), wc = weight?.to(x.dtype).contiguousData()
        let (classes, inner) = (x.shape[1], x.shape[2...].reduce(1, *))
        let weights = Tensor(uninitialized: t.shape, dtype: x.dtype)
        let losses = reduction == .none ? Tensor(uninitialized: t.shape, dtype: x.dtype) : nil
        let tp = tc.storage.typed(Int64.self) + tc.offset
        for e in 0..<t.count where tp[e] != Int64(ignoreIndex) && (tp[e] < 0 || tp[e] >= Int64(classes)) {
            checkFailure("[\(op)] target \(tp[e]) is out of bounds for \(classes) classes")
        }
        var lossSum = 0.0, weightSum = 0.0
        func go<T: FloatScalar>(_: T.Type) {
            let xp = xc.storage.typed(T.self) + xc.offset, wp = weights.storage.typed(T.self)
            let cw = wc.map { $0.storage.typed(T.self) + $0.offset }, lp = losses?.storage.typed(T.self)
            for e in 0..<t.count {
                let target = Int(tp[e])
                let w: T = target == ignoreIndex ? 0 : cw?[target] ?? 1
                // An ignored element reads class 0 and weighs nothing (−0·x, as the composite's).
                let loss = -(w * xp[(e / inner * classes + (target == ignoreIndex ? 0 : target)) * inner + e % inner])
                wp[e] = w
                lp?[e] = loss
                lossSum += Double(loss)
                weightSum += Double(w)
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16, .int64: checkFailure("[\(op)] expected float32 or float64 log-probabilities, got \(x.dtype)")
        }
        let loss: Tensor
        switch reduction {
        case .none: loss = losses!
        case .sum: loss = Tensor(lossSum, dtype: x.dtype)
        case .mean:
            // As the composite: the two sums rounded to the dtype, then divided.
            loss = x.dtype == .float32 ? Tensor(Double(Float(lossSum) / Float(weightSum)), dtype: .float32)
                                       : Tensor(lossSum / weightSum, dtype: x.dtype)
        }
        return NLLTerms(weights: weights, loss: loss, weightSum: weightSum)
    }

    /// dx (N, C, d…): −w_e·g_e at [n, t_e, …] (g_e: g's element e for `.none`, else the scalar g,
    /// divided by Σ w_e for `.mean`), 0 elsewhere.
    static func nllLossBackward(_ g: Tensor, _ t: Tensor, _ terms: NLLTerms, inputShape: [Int], ignoreIndex: Int,
                                reduction: Reduction) -> Tensor {
        let dx = Tensor.zeros(inputShape, dtype: g.dtype), gc = g.contiguousData(), tc = t.contiguousData()
        let (classes, inner) = (inputShape[1], inputShape[2...].reduce(1, *))
        let tp = tc.storage.typed(Int64.self) + tc.offset
        func go<T: FloatScalar>(_: T.Type) {
            let gp = gc.storage.typed(T.self) + gc.offset, wp = terms.weights.storage.typed(T.self), dp = dx.storage.typed(T.self)
            let scale = reduction == .mean ? gp[0] / T(terms.weightSum) : gp[0]
            for e in 0..<t.count where Int(tp[e]) != ignoreIndex {
                dp[(e / inner * classes + Int(tp[e])) * inner + e % inner] = -wp[e] * (reduction == .none ? gp[e] : scale)
            }
        }
        switch g.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16, .int64: checkFailure("[nllLoss] expected a float32 or float64 gradient, got \(g.dtype)")
        }
        return dx
    }
}
