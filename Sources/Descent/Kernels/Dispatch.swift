/// Element functions written once, generically, and run by the kernels for each dtype.
protocol UnaryFunction {
    static func apply<T: FloatScalar>(_ x: T) -> T
}

protocol BinaryFunction {
    static func apply<T: FloatScalar>(_ a: T, _ b: T) -> T
}

protocol NumericBinaryFunction {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T
}

extension Kernels {
    /// `F(x)` elementwise for a floating-point tensor.
    @inline(__always)
    static func map<F: UnaryFunction>(_ x: Tensor, _: F.Type, cost: Int = 1, op: String) -> Tensor {
        switch x.dtype {
        case .float32: return map(x, Float.self, cost: cost) { F.apply($0) }
        case .float64: return map(x, Double.self, cost: cost) { F.apply($0) }
        case .int64: preconditionFailure("[\(op)] expected a floating-point tensor, got \(x.dtype)")
        }
    }

    /// `F(a, b)` elementwise with broadcasting, for floating-point tensors of one dtype.
    @inline(__always)
    static func zip<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, _: F.Type, cost: Int = 1, op: String) -> Tensor {
        precondition(a.dtype == b.dtype, "[\(op)] dtypes differ: \(a.dtype) and \(b.dtype)")
        switch a.dtype {
        case .float32: return zip(a, b, Float.self, Float.self, op: op, cost: cost) { F.apply($0, $1) }
        case .float64: return zip(a, b, Double.self, Double.self, op: op, cost: cost) { F.apply($0, $1) }
        case .int64: preconditionFailure("[\(op)] expected floating-point tensors, got \(a.dtype)")
        }
    }

    /// `F(a, b)` elementwise with broadcasting, for tensors of one dtype (any).
    @inline(__always)
    static func zip<F: NumericBinaryFunction>(_ a: Tensor, _ b: Tensor, _: F.Type, op: String) -> Tensor {
        precondition(a.dtype == b.dtype, "[\(op)] dtypes differ: \(a.dtype) and \(b.dtype)")
        switch a.dtype {
        case .float32: return zip(a, b, Float.self, Float.self, op: op) { F.apply($0, $1) }
        case .float64: return zip(a, b, Double.self, Double.self, op: op) { F.apply($0, $1) }
        case .int64: return zip(a, b, Int64.self, Int64.self, op: op) { F.apply($0, $1) }
        }
    }
}
