// Tensor factories: constant, ranges, identity, and random draws from `Descent.generator`.

extension Tensor {
    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        check(shape.allSatisfy { $0 >= 0 }, "[full] negative size in shape \(Shape.describe(shape))")
        let t = Tensor(uninitialized: shape, dtype: dtype)
        Kernels.fill(t, value)
        return t
    }

    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        check(shape.allSatisfy { $0 >= 0 }, "[zeros] negative size in shape \(Shape.describe(shape))")
        return Tensor(storage: Storage(zeros: Shape.count(shape), dtype: dtype), shape: shape,
                      strides: Shape.contiguousStrides(shape))
    }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 1, dtype: dtype) }

    /// Zeros with the shape and dtype of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape, dtype: other.dtype) }
    /// Ones with the shape and dtype of `other`.
    public static func ones(like other: Tensor) -> Tensor { ones(other.shape, dtype: other.dtype) }

    /// Values `start, start+step, …` below `end` (PyTorch's `arange`).
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .float32) -> Tensor {
        check(step != 0, "[arange] step must be non-zero")
        check((end - start) / step >= 0, "[arange] upper bound and step sign are inconsistent: start \(start), end \(end), step \(step)")
        let n = Int(((end - start) / step).rounded(.up))
        let t = Tensor(uninitialized: [n], dtype: dtype)
        for i in 0..<n { t.setElement(i, start + Double(i) * step) }
        return t
    }

    /// `steps` values evenly spaced from `start` to `end` inclusive.
    public static func linspace(_ start: Double, _ end: Double, steps: Int, dtype: DType = .float32) -> Tensor {
        check(steps >= 0, "[linspace] number of steps must be non-negative, got \(steps)")
        let t = Tensor(uninitialized: [steps], dtype: dtype)
        if steps == 1 { t.setElement(0, start) }
        guard steps > 1 else { return t }
        // PyTorch fills the first half from the start and the second half from the end, in the
        // tensor's own precision.
        let half = steps / 2
        if dtype == .float32 {
            let s = Float(start), e = Float(end), step = (e - s) / Float(steps - 1)
            for i in 0..<steps { t.setElement(i, Double(i < half ? s.addingProduct(step, Float(i)) : e.addingProduct(-step, Float(steps - 1 - i)))) }
        } else {
            let step = (end - start) / Double(steps - 1)
            for i in 0..<steps { t.setElement(i, i < half ? start.addingProduct(step, Double(i)) : end.addingProduct(-step, Double(steps - 1 - i))) }
        }
        return t
    }

    /// The n×m identity matrix (m defaults to n).
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .float32) -> Tensor {
        let cols = m ?? n
        let t = zeros([n, cols], dtype: dtype)
        for i in 0..<Swift.min(n, cols) { t.setElement(i * cols + i, 1) }
        return t
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        uniform(shape, low: 0, high: 1, dtype: dtype)
    }

    /// Standard normal samples.
    public static func randn(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        normal(shape, mean: 0, std: 1, dtype: dtype)
    }

    /// Uniform samples in [low, high).
    public static func uniform(_ shape: [Int], low: Double, high: Double, dtype: DType = .float32) -> Tensor {
        check(dtype.isFloatingPoint, "[uniform] expected a floating-point dtype, got \(dtype)")
        let t = Tensor(uninitialized: shape, dtype: dtype)
        var g = Descent.generator
        for i in 0..<t.count { t.setElement(i, low + (high - low) * g.nextUniform()) }
        Descent.generator = g
        return t
    }

    /// Normal samples with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Double, std: Double, dtype: DType = .float32) -> Tensor {
        check(dtype.isFloatingPoint, "[normal] expected a floating-point dtype, got \(dtype)")
        check(std >= 0, "[normal] std must be >= 0, got \(std)")
        let t = Tensor(uninitialized: shape, dtype: dtype)
        var g = Descent.generator
        for i in 0..<t.count { t.setElement(i, mean + std * g.nextNormal()) }
        Descent.generator = g
        return t
    }

    /// Random integers in [low, high) of `shape` (int64 by default), as PyTorch's `randint`.
    public static func randint(_ shape: [Int], low: Int = 0, high: Int, dtype: DType = .int64) -> Tensor {
        check(high > low, "[randint] expected low < high, got \(low) and \(high)")
        let t = Tensor(uninitialized: shape, dtype: dtype)
        let span = UInt64(high - low)
        var g = Descent.generator
        for i in 0..<t.count { t.setElement(i, Double(low + Int(g.next(upperBound: span)))) }
        Descent.generator = g
        return t
    }

    /// A random permutation of 0..<n (int64).
    public static func randperm(_ n: Int) -> Tensor {
        var values = (0..<Int64(n)).map { $0 }
        values.shuffle(using: &Descent.generator)
        return Tensor(shape: [n], scalars: values)
    }

    /// Writes element `i` of a contiguous tensor from a Double.
    @inline(__always) func setElement(_ i: Int, _ v: Double) {
        switch dtype {
        case .float32: storage.typed(Float.self)[offset + i] = Float(v)
        case .float64: storage.typed(Double.self)[offset + i] = v
        case .int64: storage.typed(Int64.self)[offset + i] = Int64(v)
        case .bfloat16: storage.typed(BFloat16.self)[offset + i] = BFloat16(fromDouble: v)
        }
    }
}
