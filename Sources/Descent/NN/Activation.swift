// Activation layers: parameter-free wrappers of the functions in Functional/Activations.swift
// (PReLU holds its learnable slope). Names and printed forms follow PyTorch.

/// σ(x) = 1/(1 + e⁻ˣ).
public final class Sigmoid: Module {
    public override func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// tanh(x).
public final class Tanh: Module {
    public override func forward(_ x: Tensor) -> Tensor { x.tanh() }
}

/// max(0, x).
public final class ReLU: Module {
    public override func forward(_ x: Tensor) -> Tensor { x.relu() }
}

/// max(0, x) + negativeSlope·min(0, x).
public final class LeakyReLU: Module {
    /// The slope for negative inputs.
    public let negativeSlope: Double
    /// - Parameter negativeSlope: The slope for negative inputs, default 0.01.
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.leakyRelu(negativeSlope: negativeSlope) }
    public override var extraDescription: String { "negative_slope=\(negativeSlope)" }
}

/// x for x > 0, α(eˣ − 1) otherwise.
public final class ELU: Module {
    /// α, the negative saturation value.
    public let alpha: Double
    /// - Parameter alpha: α, default 1.
    public init(alpha: Double = 1) { self.alpha = alpha; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.elu(alpha: alpha) }
    public override var extraDescription: String { "alpha=\(alpha)" }
}

/// GELU, exact (erf) or with the tanh approximation.
public final class GELU: Module {
    /// Whether the tanh approximation is used.
    public let approximate: Bool
    /// - Parameter approximate: Use the tanh approximation (PyTorch's `approximate='tanh'`), default false.
    public init(approximate: Bool = false) { self.approximate = approximate; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
    public override var extraDescription: String { "approximate='\(approximate ? "tanh" : "none")'" }
}

/// x·σ(x).
public final class SiLU: Module {
    public override func forward(_ x: Tensor) -> Tensor { x.silu() }
}

/// (1/β)·log(1 + e^(βx)), linear above the threshold.
public final class Softplus: Module {
    /// β, and the threshold of βx above which the output is x.
    public let beta: Double, threshold: Double
    /// - Parameters:
    ///   - beta: β, default 1.
    ///   - threshold: Above this value of βx the output is x, default 20.
    public init(beta: Double = 1, threshold: Double = 20) { self.beta = beta; self.threshold = threshold; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.softplus(beta: beta, threshold: threshold) }
    public override var extraDescription: String { "beta=\(beta), threshold=\(threshold)" }
}

/// Softmax along `dim`.
public final class Softmax: Module {
    /// The dim normalized over.
    public let dim: Int
    /// - Parameter dim: The dim the probabilities sum to 1 along (negative counts from the end).
    public init(dim: Int) { self.dim = dim; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.softmax(dim: dim) }
    public override var extraDescription: String { "dim=\(dim)" }
}

/// log(softmax(x)) along `dim`.
public final class LogSoftmax: Module {
    /// The dim normalized over.
    public let dim: Int
    /// - Parameter dim: The dim of the softmax (negative counts from the end).
    public init(dim: Int) { self.dim = dim; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.logSoftmax(dim: dim) }
    public override var extraDescription: String { "dim=\(dim)" }
}

/// clamp(x, minValue, maxValue).
public final class Hardtanh: Module {
    /// The bounds.
    public let minValue: Double, maxValue: Double
    /// - Parameters:
    ///   - minValue: The lower bound, default −1.
    ///   - maxValue: The upper bound, default 1 (greater than `minValue`).
    public init(minValue: Double = -1, maxValue: Double = 1) {
        check(maxValue > minValue, "[Hardtanh] maxValue \(maxValue) must be greater than minValue \(minValue)")
        self.minValue = minValue; self.maxValue = maxValue; super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { x.hardtanh(minValue: minValue, maxValue: maxValue) }
    public override var extraDescription: String { "min_val=\(minValue), max_val=\(maxValue)" }
}

/// max(0, x) + a·min(0, x) with a learned slope `a` (one, or one per channel), initialized to `initial`.
public final class PReLU: Module {
    /// The slopes, shape (numParameters).
    public let weight: Tensor
    /// - Parameters:
    ///   - numParameters: 1 (one slope for all) or the number of channels (dim 1 of the input).
    ///   - initial: The slopes' initial value, default 0.25.
    public init(numParameters: Int = 1, initial: Double = 0.25) {
        weight = Tensor.full([numParameters], initial)
        super.init()
        registerParameter("weight", weight)
    }
    public override func forward(_ x: Tensor) -> Tensor { x.prelu(weight) }
    public override var extraDescription: String { "num_parameters=\(weight.count)" }
}

/// Returns its input.
public final class Identity: Module {
    public override func forward(_ x: Tensor) -> Tensor { x }
}
