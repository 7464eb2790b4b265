// Binary arithmetic primitives: add, sub, mul, div, pow, maximum, minimum.
// Each op: forward kernel (an element function of Kernels/ElementFunctions.swift), then its
// backward rule. Broadcast gradients are summed back to the
// inputs' shapes by the engine (Autograd.run), not here.

extension Tensor {
    /// The two tensors converted to their common dtype (int64 < float32 < float64).
    static func promoted(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
        if a.dtype == b.dtype { return (a, b) }
        let t = DType.promote(a.dtype, b.dtype)
        return (a.to(t), b.to(t))
    }

    /// A 0-d tensor holding `value` in this tensor's dtype (float32 for an int64 tensor and a
    /// non-integral value), as PyTorch treats a Python number in an expression.
    func scalarLike(_ value: Double) -> Tensor {
        if dtype == .int64 && value.rounded() != value { return Tensor(value, dtype: .float32) }
        return Tensor(value, dtype: dtype)
    }

    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (a, b) = promoted(a, b)
        let out = Kernels.zip(a, b, AddFn.self, op: "add")
        if needsGrad(a, b) { out.record("AddBackward", [a, b]) { g in [g, g] } }
        return out
    }

    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (a, b) = promoted(a, b)
        let out = Kernels.zip(a, b, SubFn.self, op: "sub")
        if needsGrad(a, b) {
            let needB = b.requiresGrad
            out.record("SubBackward", [a, b]) { g in [g, needB ? -g : nil] }
        }
        return out
    }

    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (a, b) = promoted(a, b)
        let out = Kernels.zip(a, b, MulFn.self, op: "mul")
        if needsGrad(a, b) {
            let needA = a.requiresGrad, needB = b.requiresGrad
            out.record("MulBackward", [a, b]) { g in
                // One side's gradient, g times the other (a dropout mask, a gate), goes over g where
                // nothing else holds it and nothing broadcasts.
                if needA != needB && a.shape == b.shape {
                    let d = Kernels.zip(g, needA ? b : a, MulFn.self, op: "mul", overwritingA: Autograd.mayOverwrite(g))
                    return needA ? [d, nil] : [nil, d]
                }
                return [needA ? g * b : nil, needB ? g * a : nil]
            }
        }
        return out
    }

    /// Elementwise true division with broadcasting (integers divide as float32, as in PyTorch).
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        var (a, b) = promoted(a, b)
        if a.dtype == .int64 { (a, b) = (a.to(.float32), b.to(.float32)) }
        let out = Kernels.zip(a, b, DivFn.self, op: "div")
        if needsGrad(a, b) {
            let needA = a.requiresGrad, needB = b.requiresGrad
            out.record("DivBackward", [a, b]) { g in
                [needA ? g / b : nil, needB ? -(g * a) / (b * b) : nil]
            }
        }
        return out
    }

    /// `self` raised to `exponent`, elementwise with broadcasting.
    ///
    /// Gradients: d/da = b·a^(b−1); d/db = a^b·log(a).
    public func pow(_ exponent: Tensor) -> Tensor {
        var (a, b) = Tensor.promoted(self, exponent)
        if a.dtype == .int64 { (a, b) = (a.to(.float32), b.to(.float32)) }
        let out = Kernels.zip(a, b, PowFn.self, op: "pow")
        if Tensor.needsGrad(a, b) {
            let needA = a.requiresGrad, needB = b.requiresGrad
            let y = out.detach()
            out.record("PowBackward", [a, b]) { g in
                [needA ? g * b * a.pow(b - 1) : nil,
                 needB ? g * y * a.log() : nil]
            }
        }
        return out
    }

    /// `self` raised to a constant power.
    public func pow(_ exponent: Double) -> Tensor {
        if exponent == 2 { return self * self }
        return pow(scalarLike(exponent))
    }

    /// Elementwise maximum with broadcasting (NaN propagates). Ties split the gradient evenly.
    public func maximum(_ other: Tensor) -> Tensor { extremum(other, max: true) }

    /// Elementwise minimum with broadcasting (NaN propagates). Ties split the gradient evenly.
    public func minimum(_ other: Tensor) -> Tensor { extremum(other, max: false) }

    private func extremum(_ other: Tensor, max: Bool) -> Tensor {
        let (a, b) = Tensor.promoted(self, other)
        let out = max ? Kernels.zip(a, b, MaxFn.self, op: "maximum") : Kernels.zip(a, b, MinFn.self, op: "minimum")
        if Tensor.needsGrad(a, b) {
            out.record(max ? "MaximumBackward" : "MinimumBackward", [a, b]) { g in
                // Share of the gradient that goes to a: 1 where a wins, 0.5 on ties, 0 where b wins.
                let wins = max ? a.gt(b) : a.lt(b)
                let share = wins + a.eq(b) * 0.5
                return [g * share, g * (1 - share)]
            }
        }
        return out
    }

    // MARK: Scalar forms

    /// a + b with a number, in a's dtype (PyTorch's scalar promotion).
    public static func + (a: Tensor, b: Double) -> Tensor { a + a.scalarLike(b) }
    /// a + b with a number, in b's dtype.
    public static func + (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) + b }
    /// a − b with a number, in a's dtype.
    public static func - (a: Tensor, b: Double) -> Tensor { a - a.scalarLike(b) }
    /// a − b with a number, in b's dtype.
    public static func - (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) - b }
    /// a · b with a number, in a's dtype.
    public static func * (a: Tensor, b: Double) -> Tensor { a * a.scalarLike(b) }
    /// a · b with a number, in b's dtype.
    public static func * (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) * b }
    /// a / b with a number, in a's dtype.
    public static func / (a: Tensor, b: Double) -> Tensor { a / a.scalarLike(b) }
    /// a / b with a number, in b's dtype.
    public static func / (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) / b }
    /// a = a + b (a new tensor, recorded by autograd; not in place).
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// a = a − b (a new tensor; not in place).
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// a = a · b (a new tensor; not in place).
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// a = a / b (a new tensor; not in place).
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// Elementwise negation.
    public static prefix func - (x: Tensor) -> Tensor { x.neg() }
}
