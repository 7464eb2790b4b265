import Foundation

/// Weight initializers, as `torch.nn.init`. Each fills a tensor in place (no gradient is
/// recorded) from `Descent.generator` and returns it, so it can be used on any parameter:
/// `Init.kaimingNormal(conv.weight, nonlinearity: .relu)`.
public enum Init {
    /// The non-linearities `calculateGain` knows.
    public enum Nonlinearity: String, Sendable {
        case linear, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, sigmoid, tanh, relu, leakyRelu, selu
    }

    /// Whether `kaiming*` scales by the fan-in (preserves forward variance) or fan-out (backward).
    public enum FanMode: Sendable { case fanIn, fanOut }

    /// The recommended gain for a non-linearity: 1 (linear, conv, sigmoid), 5/3 (tanh), √2
    /// (relu), √(2/(1 + slope²)) (leakyRelu, slope `param`, default 0.01), 3/4 (selu).
    public static func calculateGain(_ nonlinearity: Nonlinearity, param: Double? = nil) -> Double {
        switch nonlinearity {
        case .linear, .conv1d, .conv2d, .conv3d, .convTranspose1d, .convTranspose2d, .sigmoid: return 1
        case .tanh: return 5.0 / 3
        case .relu: return 2.0.squareRoot()
        case .leakyRelu:
            let slope = param ?? 0.01
            return (2 / (1 + slope * slope)).squareRoot()
        case .selu: return 0.75
        }
    }

    /// (fanIn, fanOut) of a weight of shape (out, in, k…): in·∏k and out·∏k.
    public static func fans(_ t: Tensor) -> (fanIn: Int, fanOut: Int) {
        check(t.rank >= 2, "[init] fan in and fan out need a tensor with at least 2 dimensions, got \(Shape.describe(t.shape))")
        let receptive = t.shape.dropFirst(2).reduce(1, *)
        return (t.shape[1] * receptive, t.shape[0] * receptive)
    }

    @discardableResult
    private static func fill(_ t: Tensor, with values: Tensor) -> Tensor {
        withNoGrad { t.assign(values) }
        return t
    }

    /// U(low, high).
    @discardableResult
    public static func uniform(_ t: Tensor, low: Double = 0, high: Double = 1) -> Tensor {
        fill(t, with: Tensor.uniform(t.shape, low: low, high: high, dtype: t.dtype))
    }

    /// N(mean, std²).
    @discardableResult
    public static func normal(_ t: Tensor, mean: Double = 0, std: Double = 1) -> Tensor {
        fill(t, with: Tensor.normal(t.shape, mean: mean, std: std, dtype: t.dtype))
    }

    /// Every element set to `value`.
    @discardableResult
    public static func constant(_ t: Tensor, _ value: Double) -> Tensor {
        withNoGrad { t.fill(value) }
        return t
    }

    /// Fills `t` with 0 (no gradient recorded); returns it.
    @discardableResult public static func zeros(_ t: Tensor) -> Tensor { constant(t, 0) }
    @discardableResult public static func ones(_ t: Tensor) -> Tensor { constant(t, 1) }

    /// U(−b, b) with b = gain·√(6 / (fanIn + fanOut)) (Glorot).
    @discardableResult
    public static func xavierUniform(_ t: Tensor, gain: Double = 1) -> Tensor {
        let (i, o) = fans(t)
        let bound = gain * (6 / Double(i + o)).squareRoot()
        return uniform(t, low: -bound, high: bound)
    }

    /// N(0, σ²) with σ = gain·√(2 / (fanIn + fanOut)) (Glorot).
    @discardableResult
    public static func xavierNormal(_ t: Tensor, gain: Double = 1) -> Tensor {
        let (i, o) = fans(t)
        return normal(t, std: gain * (2 / Double(i + o)).squareRoot())
    }

    private static func kaimingStd(_ t: Tensor, _ a: Double, _ mode: FanMode, _ nonlinearity: Nonlinearity) -> Double {
        let (i, o) = fans(t)
        let fan = mode == .fanIn ? i : o
        return calculateGain(nonlinearity, param: a) / Double(fan).squareRoot()
    }

    /// U(−b, b) with b = √3·gain/√fan (He). `a` is the leaky-ReLU slope for the gain.
    /// PyTorch's default for Linear and Conv weights is `a: √5` (which gives b = 1/√fanIn).
    @discardableResult
    public static func kaimingUniform(_ t: Tensor, a: Double = 0, mode: FanMode = .fanIn,
                                      nonlinearity: Nonlinearity = .leakyRelu) -> Tensor {
        let bound = 3.0.squareRoot() * kaimingStd(t, a, mode, nonlinearity)
        return uniform(t, low: -bound, high: bound)
    }

    /// N(0, σ²) with σ = gain/√fan (He).
    @discardableResult
    public static func kaimingNormal(_ t: Tensor, a: Double = 0, mode: FanMode = .fanIn,
                                     nonlinearity: Nonlinearity = .leakyRelu) -> Tensor {
        normal(t, std: kaimingStd(t, a, mode, nonlinearity))
    }

    /// A (semi-)orthogonal matrix (the tensor viewed as rows × the rest), scaled by `gain`:
    /// Q of the QR decomposition of a normal matrix, with signs fixed by R's diagonal.
    @discardableResult
    public static func orthogonal(_ t: Tensor, gain: Double = 1) -> Tensor {
        check(t.rank >= 2, "[orthogonal] only tensors with 2 or more dimensions are supported, got \(Shape.describe(t.shape))")
        let rows = t.shape[0], cols = t.count / max(rows, 1)
        // QR of the tall orientation: columns of `a` (n × m, n ≥ m) are orthonormalized.
        let n = max(rows, cols), m = min(rows, cols)
        var a = Tensor.randn([n, m], dtype: .float64).toArray(Double.self)
        for j in 0..<m {
            for _ in 0..<2 {  // modified Gram–Schmidt, twice for accuracy
                for p in 0..<j {
                    var dot = 0.0
                    for i in 0..<n { dot += a[i * m + p] * a[i * m + j] }
                    for i in 0..<n { a[i * m + j] -= dot * a[i * m + p] }
                }
            }
            var norm = 0.0
            for i in 0..<n { norm += a[i * m + j] * a[i * m + j] }
            norm = norm.squareRoot()
            for i in 0..<n { a[i * m + j] /= norm }
        }
        var q = Tensor(shape: [n, m], scalars: a.map { $0 * gain })
        if rows < cols { q = q.t }
        return fill(t, with: q.reshape(t.shape))
    }
}
