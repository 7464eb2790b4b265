// Unary primitives. Each op: the forward kernel (an element function of
// Kernels/ElementFunctions.swift run by Kernels.map, or a vectorized activation kernel), and
// beside it the backward rule (often a fused element function of the output gradient and a
// saved tensor).

extension Tensor {
    /// Runs a float unary kernel `F`, recording `grad(g, saved)` when needed.
    @inline(__always)
    private func unary<F: UnaryFunction>(_ name: String, _ f: F.Type, cost: Int = 1,
                                         backward: ((_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor)?) -> Tensor {
        let x = dtype == .int64 ? to(.float32) : self
        let out = Kernels.map(x, F.self, cost: cost, op: name)
        if let backward, Tensor.needsGrad(x) {
            let y = out.detach()
            out.record(name, [x]) { g in [backward(g, x, y)] }
        }
        return out
    }

    /// −x.
    public func neg() -> Tensor {
        if dtype == .int64 { return Kernels.map(self, Int64.self) { -$0 } }
        return unary("NegBackward", NegFn.self) { g, _, _ in -g }
    }

    /// |x|. Gradient sign(x) (0 at 0, as PyTorch).
    public func abs() -> Tensor {
        if dtype == .int64 { return Kernels.map(self, Int64.self) { Swift.abs($0) } }
        return unary("AbsBackward", AbsFn.self) { g, x, _ in Kernels.zip(g, x, AbsGradFn.self, op: "abs") }
    }

    /// eˣ.
    public func exp() -> Tensor { unary("ExpBackward", ExpFn.self, cost: 8) { g, _, y in g * y } }
    /// Natural logarithm.
    public func log() -> Tensor { unary("LogBackward", LogFn.self, cost: 8) { g, x, _ in g / x } }
    /// Square root.
    public func sqrt() -> Tensor {
        unary("SqrtBackward", SqrtFn.self, cost: 4) { g, _, y in Kernels.zip(g, y, SqrtGradFn.self, op: "sqrt") }
    }
    /// 1/√x.
    public func rsqrt() -> Tensor {
        unary("RsqrtBackward", RsqrtFn.self, cost: 4) { g, _, y in Kernels.zip(g, y, RsqrtGradFn.self, op: "rsqrt") }
    }
    /// Sine.
    public func sin() -> Tensor { unary("SinBackward", SinFn.self, cost: 8) { g, x, _ in g * x.cos() } }
    /// Cosine.
    public func cos() -> Tensor { unary("CosBackward", CosFn.self, cost: 8) { g, x, _ in -(g * x.sin()) } }
    /// The error function erf(x); gradient 2/√π·e^(−x²).
    public func erf() -> Tensor {
        unary("ErfBackward", ErfFn.self, cost: 8) { g, x, _ in g * (x * x).neg().exp() * (2 / Double.pi.squareRoot()) }
    }
    /// log(1 + x), accurate for small x; gradient 1/(1 + x).
    public func log1p() -> Tensor { unary("Log1pBackward", Log1pFn.self, cost: 8) { g, x, _ in g / (x + 1) } }
    /// Hyperbolic tangent; gradient 1 − tanh².
    public func tanh() -> Tensor {
        let x = dtype == .int64 ? to(.float32) : self
        let out = Kernels.tanh(x)
        if Tensor.needsGrad(x) { let y = out.detach(); out.record("TanhBackward", [x]) { g in [Kernels.tanhBackward(g, y, overwritingG: Autograd.mayOverwrite(g))] } }
        return out
    }
    /// Logistic sigmoid 1/(1+e⁻ˣ), finite for any input; gradient σ(1−σ).
    public func sigmoid() -> Tensor {
        let x = dtype == .int64 ? to(.float32) : self
        let out = Kernels.sigmoid(x)
        if Tensor.needsGrad(x) { let y = out.detach(); out.record("SigmoidBackward", [x]) { g in [Kernels.sigmoidBackward(g, y, overwritingG: Autograd.mayOverwrite(g))] } }
        return out
    }
    /// max(x, 0); gradient 1 where x > 0, else 0.
    public func relu() -> Tensor {
        if dtype == .int64 { return Kernels.map(self, Int64.self) { Swift.max($0, 0) } }
        let out = Kernels.relu(self)
        if Tensor.needsGrad(self) { let y = out.detach(); out.record("ReluBackward", [self]) { g in [Kernels.reluBackward(g, y, overwritingG: Autograd.mayOverwrite(g))] } }
        return out
    }
    /// −1, 0 or 1 by the sign of each element (not differentiable: gradient 0).
    public func sign() -> Tensor {
        if dtype == .int64 { return Kernels.map(self, Int64.self) { $0.signum() } }
        return Kernels.map(self, SignFn.self, op: "sign")
    }

    /// Limits values to `[min, max]` (either may be nil). Gradient 1 strictly inside the
    /// range and 0 outside and on the bounds, as PyTorch 2 does for number bounds.
    public func clamp(min lo: Double? = nil, max hi: Double? = nil) -> Tensor {
        check(lo != nil || hi != nil, "[clamp] at least one of min or max must be given")
        let l = lo ?? -.infinity, h = hi ?? .infinity
        let out: Tensor
        switch dtype {
        case .float32:
            let fl = Float(l), fh = Float(h)
            out = Kernels.map(self, Float.self) { $0 != $0 ? $0 : Swift.min(Swift.max($0, fl), fh) }
        case .float64:
            out = Kernels.map(self, Double.self) { $0 != $0 ? $0 : Swift.min(Swift.max($0, l), h) }
        case .bfloat16: bfloat16Unsupported("clamp")
        case .int64:
            let il = lo.map { Int64($0) } ?? .min, ih = hi.map { Int64($0) } ?? .max
            return Kernels.map(self, Int64.self) { Swift.min(Swift.max($0, il), ih) }
        }
        if Tensor.needsGrad(self) {
            let x = self
            out.record("ClampBackward", [x]) { g in
                var mask = x.gt(x.scalarLike(l))
                if hi != nil { mask = mask * x.lt(x.scalarLike(h)) }
                return [g * mask]
            }
        }
        return out
    }
}
