// The one generic place where a broadcast's gradient is summed back to its input's shape: the
// engine (Backward.swift) applies it to every gradient whose shape differs from its input's.

extension Tensor {
    /// Sums a gradient of a broadcast result back to `shape` (leading dims and size-1 dims).
    func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        check(lead >= 0, "[autograd] cannot reduce gradient of shape \(Shape.describe(shape)) to \(Shape.describe(target))")
        var dims = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { dims.append(lead + i) }
        let s = dims.isEmpty ? self : Kernels.sum(self, dims: dims)
        return s.reshape(target)
    }
}
