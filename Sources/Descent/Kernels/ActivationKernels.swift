import CDescentKernels

// tanh, sigmoid and ReLU forward and backward: the vectorized C kernels (elementwise.c) for
// contiguous float32 tensors, the generic loops over the element functions of Ops/Unary.swift
// otherwise (float64, strided views).
extension Kernels {
    /// tanh(x) elementwise (x floating-point).
    static func tanh(_ x: Tensor) -> Tensor {
        vectorizedFloat(x, dk_tanh_f32) ?? map(x, TanhFn.self, cost: 8, op: "tanh")
    }

    /// g·(1 − y²), the gradient of tanh from its output y; written over g with `overwritingG`
    /// (where g and y are contiguous), as `reluBackward`.
    static func tanhBackward(_ g: Tensor, _ y: Tensor, overwritingG: Bool = false) -> Tensor {
        zip(g, y, TanhGradFn.self, op: "tanh", overwritingA: overwritingG)
    }

    /// σ(x) elementwise (x floating-point).
    static func sigmoid(_ x: Tensor) -> Tensor {
        vectorizedFloat(x, dk_sigmoid_f32) ?? map(x, SigmoidFn.self, cost: 8, op: "sigmoid")
    }

    /// g·y·(1 − y), the gradient of σ from its output y; written over g with `overwritingG`, as
    /// `tanhBackward`.
    static func sigmoidBackward(_ g: Tensor, _ y: Tensor, overwritingG: Bool = false) -> Tensor {
        zip(g, y, SigmoidGradFn.self, op: "sigmoid", overwritingA: overwritingG)
    }

    /// max(x, 0) elementwise (x floating-point; −0 and NaN kept).
    static func relu(_ x: Tensor) -> Tensor {
        vectorizedFloat(x, cost: 1, dk_relu_f32) ?? map(x, ReluFn.self, op: "relu")
    }

    /// g where the output y > 0 (or is NaN), else 0; written over g with `overwritingG` (float32,
    /// contiguous), which saves a buffer and its first writes.
    static func reluBackward(_ g: Tensor, _ y: Tensor, overwritingG: Bool = false) -> Tensor {
        if overwritingG && g.dtype == .float32 && y.dtype == .float32
            && g.shape == y.shape && g.isContiguous && y.isContiguous {
            let gp = g.storage.typed(Float.self) + g.offset, yp = y.storage.typed(Float.self) + y.offset
            Parallel.forRange(g.count) { r in dk_relu_grad_inplace_f32(Int64(r.count), gp + r.lowerBound, yp + r.lowerBound) }
            return g
        }
        return vectorizedFloat(g, y, dk_relu_grad_f32) ?? zip(g, y, ReluGradFn.self, op: "relu")
    }
}
