// Matrix products in all of PyTorch's forms. The primitive is a batched product with
// broadcast batch dims (`bmm`); 1-D forms are composites that add and remove a dim.

extension Tensor {
    /// Matrix product with PyTorch's `matmul` semantics:
    /// 1-D·1-D → dot product (0-d); 2-D·2-D → matrix product; 1-D·2-D and 2-D·1-D → a 1 is
    /// prepended/appended and removed; ≥3-D → batched, batch dims broadcast.
    ///
    /// Under `withAutocast(.bfloat16)` float32 operands are multiplied as bfloat16 (float32
    /// accumulation, result rounded to bfloat16). Two bfloat16 tensors give a bfloat16
    /// product, accumulated in float32 as PyTorch's.
    public func matmul(_ other: Tensor) -> Tensor {
        if isAutocastEnabled {
            // Where the bf16 GEMM rounds the input and the result's gradient as it packs them, and
            // writes the result and the input's gradient rounded, autocast takes no pass for them.
            let kernelsRound = Kernels.matmulRoundsOperands(self, other)
            let rounding = ProductRounding(result: kernelsRound, inputGradient: kernelsRound && !Autocast.isCachedWeight(self),
                                           otherGradient: kernelsRound && !Autocast.isCachedWeight(other))
            if let y = Autocast.lowerPrecision([self, other], roundedByKernels: kernelsRound ? .inputAndResult : [], {
                $0[0]!.matmul($0[1]!, rounding: rounding)
            }) { return y }
        }
        return matmul(other, rounding: .none)
    }

    /// `matmul`, with what the bf16 kernels round (`ProductRounding`) inside autocast.
    func matmul(_ other: Tensor, rounding: ProductRounding) -> Tensor {
        // Two bfloat16 tensors: on the bf16 dot-product kernel where the CPU has one (not for
        // gradients, which are float32 products of the float32 copies), else on those copies.
        if dtype == .bfloat16 && other.dtype == .bfloat16 && (!Kernels.bfloat16DotProducts || Tensor.needsGrad(self, other)) {
            return float().matmul(other.float()).to(.bfloat16)
        }
        let (a, b) = Tensor.promoted(self, other)
        check(a.rank >= 1 && b.rank >= 1,
              "[matmul] both arguments need at least 1 dimension, got shapes \(Shape.describe(a.shape)) and \(Shape.describe(b.shape))")
        let ka = a.shape[a.rank - 1], kb = b.shape[b.rank == 1 ? 0 : b.rank - 2]
        check(ka == kb, "[matmul] cannot multiply \(Shape.describe(a.shape)) by \(Shape.describe(b.shape)): inner sizes \(ka) and \(kb) differ")
        switch (a.rank, b.rank) {
        case (1, 1): return a.unsqueeze(0).batchedProduct(b.unsqueeze(1), rounding).reshape([])
        case (1, _): return a.unsqueeze(0).batchedProduct(b, rounding).squeeze(dim: -2)
        case (_, 1): return a.batchedProduct(b.unsqueeze(1), rounding).squeeze(dim: -1)
        default: return a.batchedProduct(b, rounding)
        }
    }

    /// The primitive: (..., m, k) · (..., k, n) with broadcast batch dims.
    private func batchedProduct(_ b: Tensor, _ rounding: ProductRounding) -> Tensor {
        let a = self
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = Shape.broadcast(batchA, batchB, op: "matmul")
        let r = batch.count + 2
        let a3 = a.rank == r ? a : a.reshape([Int](repeating: 1, count: r - a.rank) + a.shape)
        let b3 = b.rank == r ? b : b.reshape([Int](repeating: 1, count: r - b.rank) + b.shape)
        let out = Kernels.matmul(a3.detach(), b3.detach(), batch: batch, roundsResult: rounding.result)
        if Tensor.needsGrad(a, b) {
            let needA = a.requiresGrad, needB = b.requiresGrad
            // Gradients the engine sums over broadcast batch dims are left to be rounded after the sum.
            let roundA: ProductRounding = rounding.inputGradient && batchA == batch ? .result : .none
            let roundB: ProductRounding = rounding.otherGradient && (b.rank == 2 || batchB == batch) ? .result : .none
            out.record("MmBackward", [a, b]) { g in
                let ga = needA ? g.batchedProduct(b.transpose(-1, -2), roundA) : nil
                var gb: Tensor? = nil
                if needB {
                    if b.rank == 2 && a.rank == 2 && b.strides == [1, b.shape[0]] && b.shape[0] > 1 {
                        // b is the transpose of a contiguous matrix (a Linear layer's weight.t):
                        // form (gᵀ·a)ᵀ, so that the gradient reaching the matrix is contiguous.
                        gb = g.t.batchedProduct(a, roundB).t
                    } else if b.rank == 2 && a.rank > 2 {
                        // Shared weight: fold the batch into rows, one product instead of a sum of many.
                        let k = a.shape[a.rank - 1], n = b.shape[1]
                        gb = a.reshape([-1, k]).t.batchedProduct(g.reshape([-1, n]), roundB)
                    } else {
                        gb = a.transpose(-1, -2).batchedProduct(g, roundB)
                    }
                }
                return [ga, gb]
            }
        }
        return out
    }

    /// bias + x·Wᵀ over the last dim as one primitive (PyTorch's `addmm`, which its `linear`
    /// runs): the GEMM adds the product to rows that start as the bias (`Kernels.matmulAddingBias`).
    /// x (*, in) (a matrix in any layout, more dims contiguous), W (out, in), bias (out), one
    /// float dtype; nil otherwise, and the
    /// caller runs the product and the addition apart. Gradients: dx = g·W, dW = gᵀ·x, dbias =
    /// Σ g over the rows, with `rounding` as `matmul`'s (x the input, W the other operand).
    static func linearAddingBias(_ x: Tensor, _ w: Tensor, _ bias: Tensor, _ rounding: ProductRounding) -> Tensor? {
        guard x.rank >= 2 && (x.rank == 2 || x.isContiguous) && w.rank == 2 && w.shape[1] > 0 && bias.rank == 1 && bias.count == w.shape[0]
                && x.shape[x.rank - 1] == w.shape[1] && (x.dtype == .float32 || x.dtype == .float64)
                && w.dtype == x.dtype && bias.dtype == x.dtype else { return nil }
        let (inFeatures, outFeatures) = (w.shape[1], w.shape[0])
        let x2 = x.rank == 2 ? x : x.reshape([-1, inFeatures]), rows = x2.detach()
        let out = Kernels.matmulAddingBias(rows, w.detach().t, bias: bias.detach())
        if Tensor.needsGrad([x2, w, bias]) {
            let needX = x2.requiresGrad, needW = w.requiresGrad, needBias = bias.requiresGrad, weight = w.detach()
            out.record("AddmmBackward", [x2, w, bias]) { g in
                [needX ? g.matmul(weight, rounding: rounding.inputGradient ? .result : .none) : nil,
                 needW ? g.t.matmul(rows, rounding: rounding.otherGradient ? .result : .none) : nil,
                 needBias ? g.sum(dim: 0) : nil]
            }
        }
        return x.rank == 2 ? out : out.reshape(Array(x.shape.dropLast()) + [outFeatures])
    }

    /// `matmul` of two matrices (2-D only).
    public func mm(_ other: Tensor) -> Tensor {
        check(rank == 2 && other.rank == 2, "[mm] expected 2-D tensors, got \(Shape.describe(shape)) and \(Shape.describe(other.shape))")
        return matmul(other)
    }

    /// Dot product of two 1-D tensors.
    public func dot(_ other: Tensor) -> Tensor {
        check(rank == 1 && other.rank == 1, "[dot] expected 1-D tensors, got \(Shape.describe(shape)) and \(Shape.describe(other.shape))")
        return matmul(other)
    }
}

/// What the bf16 GEMM rounds to bfloat16 values as it writes, inside autocast
/// (`Kernels.matmul`'s `roundsResult`, where `Kernels.matmulRoundsOperands`): the product's
/// result, and the gradients its backward computes for the input (the first operand) and for
/// the other operand. Each rounded gradient is one its operand's rounding then takes no pass
/// for, or (an input passed unrounded) one that must be rounded. Never the gradient of a weight
/// rounded once per region (`Autocast.isCachedWeight`): its uses' gradients are summed first.
struct ProductRounding {
    var result: Bool, inputGradient: Bool, otherGradient: Bool
    static let none = ProductRounding(result: false, inputGradient: false, otherGradient: false)
    static let result = ProductRounding(result: true, inputGradient: false, otherGradient: false)
}
