import CDescentKernels

/// CPU kernels for elementwise work: copies, casts, unary and binary maps with broadcasting.
/// Outputs are new contiguous tensors; inputs may have any strides (including 0).
enum Kernels {
    /// A contiguous copy of `x` (no autograd).
    static func copyToContiguous(_ x: Tensor) -> Tensor {
        let out = Tensor(uninitialized: x.shape, dtype: x.dtype)
        copy(x, into: out)
        return out
    }

    /// Copies `src` (same dtype, shape broadcastable to `dst`) into `dst`'s elements.
    static func copy(_ src: Tensor, into dst: Tensor) {
        check(src.dtype == dst.dtype, "[copy] dtypes differ: \(src.dtype) and \(dst.dtype)")
        let s = Shape.broadcastStrides(src.shape, src.strides, to: dst.shape)
        switch src.dtype {
        case .float32: copyTyped(Float.self, src, s, dst)
        case .float64: copyTyped(Double.self, src, s, dst)
        case .bfloat16: copyTyped(BFloat16.self, src, s, dst)
        case .int64: copyTyped(Int64.self, src, s, dst)
        }
    }

    @inline(__always)
    private static func copyTyped<T>(_: T.Type, _ src: Tensor, _ srcStrides: [Int], _ dst: Tensor) {
        let loop = StridedLoop(shape: dst.shape, strides: [srcStrides, dst.strides])
        let sp = src.storage.typed(T.self) + src.offset
        let dp = dst.storage.typed(T.self) + dst.offset
        let si = loop.innerStride(0), di = loop.innerStride(1)
        loop.run(parallel: true) { o, n in
            let a = sp + o[0], b = dp + o[1]
            if si == 1 && di == 1 {
                b.update(from: a, count: n)
            } else if si == 0 && di == 1 {
                b.update(repeating: a[0], count: n)  // a broadcast value (the gradient of a sum)
            } else {
                for i in 0..<n { b[i * di] = a[i * si] }
            }
        }
    }

    /// `x` converted to `dtype` (a contiguous copy).
    static func cast(_ x: Tensor, to dtype: DType) -> Tensor {
        if x.dtype == dtype { return copyToContiguous(x) }
        switch (x.dtype, dtype) {
        case (.float32, .float64): return convert(x, Float.self, Double.self) { Double($0) }
        case (.float32, .int64): return convert(x, Float.self, Int64.self) { Float.toInt64($0) }
        case (.float64, .float32): return convert(x, Double.self, Float.self) { Float($0) }
        case (.float64, .int64): return convert(x, Double.self, Int64.self) { Double.toInt64($0) }
        case (.int64, .float32): return convert(x, Int64.self, Float.self) { Float($0) }
        case (.int64, .float64): return convert(x, Int64.self, Double.self) { Double($0) }
        case (.float32, .bfloat16): return toBFloat16(x)
        case (.float64, .bfloat16): return convert(x, Double.self, BFloat16.self) { BFloat16(Float($0)) }
        case (.int64, .bfloat16): return convert(x, Int64.self, BFloat16.self) { BFloat16(Float($0)) }
        case (.bfloat16, .float32): return convert(x, BFloat16.self, Float.self) { $0.float }
        case (.bfloat16, .float64): return convert(x, BFloat16.self, Double.self) { Double($0.float) }
        case (.bfloat16, .int64): return convert(x, BFloat16.self, Int64.self) { Float.toInt64($0.float) }
        default: checkFailure("unreachable")
        }
    }

    /// Maps each element of `x` (stored as `A`) to a `B` in a new contiguous tensor.
    @inline(__always)
    static func convert<A: TensorScalar, B: TensorScalar>(_ x: Tensor, _: A.Type, _: B.Type,
                                                          cost: Int = 1, _ f: @escaping (A) -> B) -> Tensor {
        mapLoop(x, cost: cost, ClosureFn1(f: f))
    }

    /// Maps each element of `x` with `f` (same dtype).
    @inline(__always)
    static func map<T: TensorScalar>(_ x: Tensor, _: T.Type, cost: Int = 1, _ f: @escaping (T) -> T) -> Tensor {
        mapLoop(x, cost: cost, ClosureFn1(f: f))
    }

    /// `f(a, b)` elementwise with broadcasting; `a` and `b` hold `T`, the result holds `R`.
    @inline(__always)
    static func zip<T: TensorScalar, R: TensorScalar>(_ a: Tensor, _ b: Tensor, _: T.Type, _: R.Type, op: String,
                                                      cost: Int = 1, _ f: @escaping (T, T) -> R) -> Tensor {
        zipLoop(a, b, op: op, cost: cost, ClosureFn2(f: f))
    }

    /// The unary loop: `fn` is a functor type, so each use is specialized and inlined.
    static func mapLoop<Fn: ElementFn1>(_ x: Tensor, cost: Int, _ fn: Fn) -> Tensor {
        let out = Tensor(uninitialized: x.shape, dtype: Fn.R.dtype)
        let loop = StridedLoop(shape: x.shape, strides: [x.strides, out.strides])
        let xp = x.storage.typed(Fn.A.self) + x.offset
        let op = out.storage.typed(Fn.R.self)
        let sx = loop.innerStride(0), so = loop.innerStride(1)
        loop.run(parallel: true, cost: cost) { o, n in
            let a = xp + o[0], b = op + o[1]
            if sx == 1 && so == 1 {
                for i in 0..<n { b[i] = fn(a[i]) }
            } else {
                for i in 0..<n { b[i * so] = fn(a[i * sx]) }
            }
        }
        return out
    }

    /// The binary loop with broadcasting, specialized per functor type.
    static func zipLoop<Fn: ElementFn2>(_ a: Tensor, _ b: Tensor, op: String, cost: Int, _ fn: Fn) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : Shape.broadcast(a.shape, b.shape, op: op)
        let out = Tensor(uninitialized: shape, dtype: Fn.R.dtype)
        let sa = Shape.broadcastStrides(a.shape, a.strides, to: shape)
        let sb = Shape.broadcastStrides(b.shape, b.strides, to: shape)
        let loop = StridedLoop(shape: shape, strides: [sa, sb, out.strides])
        let ap = a.storage.typed(Fn.A.self) + a.offset
        let bp = b.storage.typed(Fn.A.self) + b.offset
        let op = out.storage.typed(Fn.R.self)
        let ia = loop.innerStride(0), ib = loop.innerStride(1), io = loop.innerStride(2)
        let kernel = Fn.float32Kernel
        loop.run(parallel: true, cost: cost) { o, n in
            let x = ap + o[0], y = bp + o[1], z = op + o[2]
            if let kernel, io == 1 && (ia == 0 || ia == 1) && (ib == 0 || ib == 1) && ia + ib > 0 {
                // float32 arithmetic in C, vectorized for this CPU (the same IEEE results).
                dk_binary_f32(kernel, Int64(n), UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Int64(ia),
                              UnsafeRawPointer(y).assumingMemoryBound(to: Float.self), Int64(ib),
                              UnsafeMutableRawPointer(z).assumingMemoryBound(to: Float.self))
            } else if ia == 1 && ib == 1 && io == 1 {
                for i in 0..<n { z[i] = fn(x[i], y[i]) }
            } else if ia == 1 && ib == 0 && io == 1 {
                let v = y[0]
                for i in 0..<n { z[i] = fn(x[i], v) }
            } else if ia == 0 && ib == 1 && io == 1 {
                let v = x[0]
                for i in 0..<n { z[i] = fn(v, y[i]) }
            } else {
                for i in 0..<n { z[i * io] = fn(x[i * ia], y[i * ib]) }
            }
        }
        return out
    }

    /// `f(a, b, c)` elementwise with broadcasting over three operands of type `T`.
    @inline(__always)
    static func zip3<T: TensorScalar>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _: T.Type, op: String,
                                      _ f: (T, T, T) -> T) -> Tensor {
        let shape = Shape.broadcast(Shape.broadcast(a.shape, b.shape, op: op), c.shape, op: op)
        let out = Tensor(uninitialized: shape, dtype: T.dtype)
        let loop = StridedLoop(shape: shape, strides: [
            Shape.broadcastStrides(a.shape, a.strides, to: shape),
            Shape.broadcastStrides(b.shape, b.strides, to: shape),
            Shape.broadcastStrides(c.shape, c.strides, to: shape), out.strides,
        ])
        let ap = a.storage.typed(T.self) + a.offset, bp = b.storage.typed(T.self) + b.offset
        let cp = c.storage.typed(T.self) + c.offset, op = out.storage.typed(T.self)
        let ia = loop.innerStride(0), ib = loop.innerStride(1), ic = loop.innerStride(2), io = loop.innerStride(3)
        loop.run(parallel: true) { o, n in
            let x = ap + o[0], y = bp + o[1], z = cp + o[2], w = op + o[3]
            for i in 0..<n { w[i * io] = f(x[i * ia], y[i * ib], z[i * ic]) }
        }
        return out
    }

    /// Fills every element of `x` (any strides) with `value`.
    static func fill(_ x: Tensor, _ value: Double) {
        let loop = StridedLoop(shape: x.shape, strides: [x.strides])
        func go<T: TensorScalar>(_: T.Type) {
            let p = x.storage.typed(T.self) + x.offset
            let v = T(fromDouble: value), s = loop.innerStride(0)
            loop.run(parallel: true) { o, n in
                let q = p + o[0]
                for i in 0..<n { q[i * s] = v }
            }
        }
        switch x.dtype {
        case .float32: go(Float.self)
        case .float64: go(Double.self)
        case .bfloat16: go(BFloat16.self)
        case .int64: go(Int64.self)
        }
    }
}

extension Kernels {
    /// `x[i] = f(x[i], y[i])` in place, `y` broadcast to `x`'s shape; both hold `T`.
    @inline(__always)
    static func update<T: TensorScalar>(_ x: Tensor, _ y: Tensor, _: T.Type, _ f: @escaping (T, T) -> T) {
        updateLoop(x, y, ClosureFn2(f: f))
    }

    /// The in-place loop, specialized per functor type (`cost`: work per element, for the split
    /// across threads).
    static func updateLoop<Fn: ElementFn2>(_ x: Tensor, _ y: Tensor, cost: Int = 1, _ fn: Fn) where Fn.R == Fn.A {
        let sy = Shape.broadcastStrides(y.shape, y.strides, to: x.shape)
        let loop = StridedLoop(shape: x.shape, strides: [x.strides, sy])
        let xp = x.storage.typed(Fn.A.self) + x.offset, yp = y.storage.typed(Fn.A.self) + y.offset
        let ix = loop.innerStride(0), iy = loop.innerStride(1)
        let kernel = Fn.float32Kernel
        loop.run(parallel: true, cost: cost) { o, n in
            let a = xp + o[0], b = yp + o[1]
            if let kernel, ix == 1 && (iy == 0 || iy == 1) {
                let p = UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self)
                dk_binary_f32(kernel, Int64(n), p, 1, UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int64(iy), p)
            } else if ix == 1 && iy == 1 {
                for i in 0..<n { a[i] = fn(a[i], b[i]) }
            } else if ix == 1 && iy == 0 {
                let v = b[0]
                for i in 0..<n { a[i] = fn(a[i], v) }
            } else {
                for i in 0..<n { a[i * ix] = fn(a[i * ix], b[i * iy]) }
            }
        }
    }
}

extension Kernels {
    /// Runs a C float32 kernel `f(n, x, y)` over a contiguous float32 tensor in parallel chunks;
    /// nil for other dtypes or layouts (the caller then uses the generic loop).
    static func vectorizedFloat(_ x: Tensor, cost: Int = 8, _ f: (Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor? {
        guard x.dtype == .float32 && x.isContiguous else { return nil }
        let out = Tensor(uninitialized: x.shape, dtype: .float32)
        let xp = x.storage.typed(Float.self) + x.offset, op = out.storage.typed(Float.self)
        Parallel.forRange(x.count, cost: cost) { r in f(Int64(r.count), xp + r.lowerBound, op + r.lowerBound) }
        return out
    }

    /// x += α·y for contiguous float32 tensors of one shape by the C kernel (`dk_add_scaled_f32`,
    /// vectorized for the CPU; the optimizers' updates), in parallel chunks as `updateLoop`
    /// splits them; false (nothing done) otherwise.
    static func addScaledVectorized(_ x: Tensor, _ y: Tensor, alpha: Float) -> Bool {
        guard x.dtype == .float32 && y.dtype == .float32 && x.shape == y.shape && x.isContiguous && y.isContiguous else { return false }
        let xp = x.storage.typed(Float.self) + x.offset, yp = y.storage.typed(Float.self) + y.offset
        Parallel.forRange(x.count) { r in dk_add_scaled_f32(Int64(r.count), alpha, yp + r.lowerBound, xp + r.lowerBound) }
        return true
    }

    /// Runs a C float32 kernel `f(n, a, b, out)` over two contiguous float32 tensors of one shape in
    /// parallel chunks; nil otherwise (the caller then uses the generic loop).
    static func vectorizedFloat(_ a: Tensor, _ b: Tensor,
                                _ f: (Int64, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor? {
        guard a.dtype == .float32 && b.dtype == .float32 && a.shape == b.shape && a.isContiguous && b.isContiguous else { return nil }
        let out = Tensor(uninitialized: a.shape, dtype: .float32)
        let ap = a.storage.typed(Float.self) + a.offset, bp = b.storage.typed(Float.self) + b.offset, op = out.storage.typed(Float.self)
        Parallel.forRange(a.count) { r in f(Int64(r.count), ap + r.lowerBound, bp + r.lowerBound, op + r.lowerBound) }
        return out
    }

    /// `x += y` in place (y broadcast to x), for kernels building a fresh output.
    static func addInPlace(_ x: Tensor, _ y: Tensor) {
        switch x.dtype {
        case .float32: updateLoop(x, y, NumericFn<Float, AddFn>())
        case .float64: updateLoop(x, y, NumericFn<Double, AddFn>())
        case .bfloat16: bfloat16Unsupported("add")
        case .int64: updateLoop(x, y, NumericFn<Int64, AddFn>())
        }
    }
}
