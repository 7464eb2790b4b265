extension Tensor {
    /// Inverted dropout: zero with probability `p`, scale the rest by 1/(1−p), when `training`.
    public func dropout(p: Double, training: Bool = true) -> Tensor {
        check(p >= 0 && p <= 1, "[dropout] probability has to be between 0 and 1, but got \(p)")
        guard training && p > 0 else { return self }
        if p == 1 { return self * Tensor.zeros(shape, dtype: dtype) }
        let keep = Tensor.rand(shape, dtype: dtype).ge(p)
        return self * (keep / (1 - p))
    }
}
