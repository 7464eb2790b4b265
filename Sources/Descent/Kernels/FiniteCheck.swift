extension Kernels {
    /// The first value of `t` that is NaN or infinite, in memory order (nil when every value is
    /// finite; an integer tensor has none). For anomaly detection.
    static func firstNonFinite(_ t: Tensor) -> Double? {
        switch t.dtype {
        case .float32:
            let c = t.contiguousData(), p = c.storage.typed(Float.self) + c.offset
            for i in 0..<c.count where !p[i].isFinite { return Double(p[i]) }
            return nil
        case .float64:
            let c = t.contiguousData(), p = c.storage.typed(Double.self) + c.offset
            for i in 0..<c.count where !p[i].isFinite { return p[i] }
            return nil
        case .bfloat16:
            let c = t.contiguousData(), p = c.storage.typed(BFloat16.self) + c.offset
            for i in 0..<c.count where !p[i].float.isFinite { return p[i].asDouble }
            return nil
        case .int64:
            return nil
        }
    }
}
