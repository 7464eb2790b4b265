// Batch normalization with batch statistics as one primitive: two passes forward (moments,
// affine) and two backward (sums, input gradient), instead of the ~10 passes of the composite.
// The composite (`batchNormReference` in Functional/Normalization.swift) is its test oracle.

extension Tensor {
    /// Normalizes each channel (dim 1) with its batch mean and biased variance, then applies
    /// `weight`/`bias`. Returns the output and the batch mean and biased variance per channel.
    static func batchNormTraining(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double) -> (Tensor, [Double], [Double]) {
        let n = x.shape[0], c = x.shape[1], l = x.count / Swift.max(n * c, 1)
        let xc = x.detach().contiguousData()
        let (mean, variance) = Kernels.channelMoments(xc, n: n, c: c, l: l)
        let invstd = variance.map { 1 / ($0 + eps).squareRoot() }
        let w = weight.map { $0.toArray(Double.self) } ?? [Double](repeating: 1, count: c)
        let b = bias.map { $0.toArray(Double.self) } ?? [Double](repeating: 0, count: c)
        let scale = (0..<c).map { w[$0] * invstd[$0] }
        let shift = (0..<c).map { b[$0] - mean[$0] * scale[$0] }
        let out = Kernels.channelAffine(xc, n: n, c: c, l: l, scale: scale, shift: shift)
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        if needsGrad(inputs) {
            let needX = x.requiresGrad, m = Double(n * l)
            out.record("NativeBatchNormBackward", inputs) { g in
                let gc = g.contiguousData()
                let (sumG, sumGX) = Kernels.channelGradSums(gc, xc, mean: mean, n: n, c: c, l: l)
                var grads: [Tensor?] = []
                if needX {
                    // dx = w·invstd·(g − Σg/M − (x − μ)·invstd²·Σg(x−μ)/M)
                    let k = (0..<c).map { w[$0] * invstd[$0] }
                    let a = sumG.map { $0 / m }
                    let bb = (0..<c).map { invstd[$0] * invstd[$0] * sumGX[$0] / m }
                    // The sums are taken: dx may go over the rule's own copy of g, or over g itself
                    // where nothing else holds it.
                    let overwrite = gc !== g || Autograd.mayOverwrite(g)
                    grads.append(Kernels.batchNormInputGrad(gc, xc, mean: mean, k: k, a: a, b: bb, n: n, c: c, l: l,
                                                            overwritingG: overwrite))
                } else {
                    grads.append(nil)
                }
                if weight != nil { grads.append(Tensor(shape: [c], scalars: (0..<c).map { sumGX[$0] * invstd[$0] }).to(x.dtype)) }
                if bias != nil { grads.append(Tensor(shape: [c], scalars: sumG).to(x.dtype)) }
                return grads
            }
        }
        return (out, mean, variance)
    }
}
