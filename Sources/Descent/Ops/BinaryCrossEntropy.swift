// Elementwise binary cross-entropy: a primitive (as in PyTorch) because its gradient at
// p ∈ {0, 1} is defined by PyTorch's formula, not by the clamped logs of the forward.

enum BCEFn: BinaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ p: T, _ y: T) -> T {
        let logP = Swift.max(T.log(p), -100), logQ = Swift.max(T.log(1 - p), -100)
        return -(y * logP + (1 - y) * logQ)
    }
}

/// d/dp: (p − y) / max(p(1 − p), 1e−12).
enum BCEGradInputFn: BinaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ p: T, _ y: T) -> T {
        (p - y) / Swift.max((1 - p) * p, T(1e-12))
    }
}

/// d/dy: log(1 − p) − log(p) (unclamped, as PyTorch).
enum BCEGradTargetFn: BinaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ p: T, _ y: T) -> T { T.log(1 - p) - T.log(p) }
}

extension Tensor {
    /// −(y·log p + (1−y)·log(1−p)) per element, logs clamped at −100.
    static func binaryCrossEntropyElementwise(_ input: Tensor, _ target: Tensor) -> Tensor {
        let (p, y) = promoted(input, target)
        check(p.dtype.isFloatingPoint, "[binaryCrossEntropy] expected floating-point tensors, got \(p.dtype)")
        let out = Kernels.zip(p, y, BCEFn.self, cost: 16, op: "binaryCrossEntropy")
        if needsGrad(p, y) {
            let needP = p.requiresGrad, needY = y.requiresGrad
            out.record("BinaryCrossEntropyBackward", [p, y]) { g in
                [needP ? g * Kernels.zip(p, y, BCEGradInputFn.self, op: "binaryCrossEntropy") : nil,
                 needY ? g * Kernels.zip(p, y, BCEGradTargetFn.self, op: "binaryCrossEntropy") : nil]
            }
        }
        return out
    }
}
