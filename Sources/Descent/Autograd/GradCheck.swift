/// Result of `gradcheck`: the largest difference found, and where.
public struct GradCheckResult: CustomStringConvertible {
    /// Whether every analytical gradient matched the numerical one within tolerance.
    public let passed: Bool
    /// Largest |analytical − numerical| over all inputs and elements.
    public let maxError: Double
    /// A description of the worst element.
    public let worst: String
    /// A one-line summary: passed or FAILED, and the largest error and where.
    public var description: String { "gradcheck \(passed ? "passed" : "FAILED"): max error \(maxError) at \(worst)" }
}

/// Compares the gradients that backward computes with central finite differences, as
/// PyTorch's `torch.autograd.gradcheck`. Inputs should be float64.
///
/// The function's output is reduced with a fixed random weighting (`Σ w·f(x)`) so that every
/// output element is checked. For each input element, the numerical derivative is
/// `(L(x+ε) − L(x−ε)) / 2ε`; it must match the analytical one within `atol + rtol·|numerical|`.
public func gradcheck(_ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                      _ f: ([Tensor]) -> Tensor) -> GradCheckResult {
    let xs = inputs.map { $0.detach().clone().requiringGrad() }
    var weights: Tensor?
    func loss(_ ins: [Tensor]) -> Tensor {
        let y = f(ins)
        if weights == nil {
            var g = Generator(seed: 1234)
            weights = Tensor(shape: y.shape, scalars: (0..<y.count).map { _ in g.nextUniform() + 0.5 }).to(y.dtype)
        }
        return (y * weights!).sum()
    }
    loss(xs).backward()
    var maxError = 0.0, worst = "nothing", passed = true
    for (i, x) in xs.enumerated() {
        let analytical = x.grad?.toArray(Double.self) ?? [Double](repeating: 0, count: x.count)
        for j in 0..<x.count {
            let original = x.element(at: j)
            let plus: Double = withNoGrad { x.setElement(j, original + eps); return loss(xs).itemDouble }
            let minus: Double = withNoGrad { x.setElement(j, original - eps); return loss(xs).itemDouble }
            x.setElement(j, original)
            let numerical = (plus - minus) / (2 * eps)
            let err = Swift.abs(numerical - analytical[j])
            if err > atol + rtol * Swift.abs(numerical) { passed = false }
            if err > maxError || !err.isFinite {
                maxError = err
                worst = "input \(i) element \(j): analytical \(analytical[j]), numerical \(numerical)"
            }
        }
    }
    return GradCheckResult(passed: passed, maxError: maxError, worst: worst)
}
