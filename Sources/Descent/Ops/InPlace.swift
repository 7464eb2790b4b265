// In-place updates, for optimizers and initializers. They are not recorded by autograd: on a
// tensor that requires a gradient they are allowed only with gradient recording off
// (`withNoGrad`), as in PyTorch.

extension Tensor {
    private func checkInPlace(_ op: String, _ other: Tensor? = nil) {
        check(!(GradMode.enabled && requiresGrad),
              "[\(op)] a tensor that requires grad is being used in an in-place operation; wrap the update in withNoGrad { }")
        if let other {
            check(Shape.broadcast(shape, other.shape, op: op) == shape,
                  "[\(op)] cannot write a tensor of shape \(Shape.describe(other.shape)) into one of shape \(Shape.describe(shape))")
        }
    }

    /// Copies `source`'s values (broadcast, converted to this dtype) into this tensor's elements.
    public func assign(_ source: Tensor) {
        checkInPlace("assign", source)
        Kernels.copy(source.dtype == dtype ? source : source.to(dtype), into: self)
    }

    /// `self += alpha * other`, in place.
    public func addAssign(_ other: Tensor, alpha: Double = 1) {
        checkInPlace("addAssign", other)
        let o = other.dtype == dtype ? other : other.to(dtype)
        switch dtype {
        case .float32:
            if !Kernels.addScaledVectorized(self, o, alpha: Float(alpha)) { Kernels.updateLoop(self, o, AddScaledFn(alpha: Float(alpha))) }
        case .float64: Kernels.updateLoop(self, o, AddScaledFn(alpha: alpha))
        case .bfloat16: bfloat16Unsupported("addAssign")
        case .int64: Kernels.updateLoop(self, o, AddScaledFn(alpha: Int64(alpha)))
        }
    }

    /// `self *= other`, in place.
    public func mulAssign(_ other: Tensor) {
        checkInPlace("mulAssign", other)
        let o = other.dtype == dtype ? other : other.to(dtype)
        switch dtype {
        case .float32: Kernels.updateLoop(self, o, NumericFn<Float, MulFn>())
        case .float64: Kernels.updateLoop(self, o, NumericFn<Double, MulFn>())
        case .bfloat16: bfloat16Unsupported("mulAssign")
        case .int64: Kernels.updateLoop(self, o, NumericFn<Int64, MulFn>())
        }
    }

    /// Sets every element to `value`, in place.
    public func fill(_ value: Double) {
        checkInPlace("fill")
        Kernels.fill(self, value)
    }
}
