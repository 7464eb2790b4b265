// Comparisons and selection. Descent has no bool dtype: a comparison gives 1 or 0 in the
// promoted dtype of its inputs, and `where` selects where the condition is non-zero.
// Comparisons are not differentiable (their results never require a gradient).

enum EqFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a == b ? 1 : 0 } }
enum NeFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a != b ? 1 : 0 } }
enum LtFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a < b ? 1 : 0 } }
enum LeFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a <= b ? 1 : 0 } }
enum GtFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a > b ? 1 : 0 } }
enum GeFn: NumericBinaryFunction { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a >= b ? 1 : 0 } }

extension Tensor {
    private func compare<F: NumericBinaryFunction>(_ other: Tensor, _ f: F.Type, _ name: String) -> Tensor {
        let (a, b) = Tensor.promoted(self, other)
        return Kernels.zip(a, b, F.self, op: name)
    }

    /// 1 where `self == other`, else 0 (broadcasting).
    public func eq(_ other: Tensor) -> Tensor { compare(other, EqFn.self, "eq") }
    /// 1 where `self != other`, else 0.
    public func ne(_ other: Tensor) -> Tensor { compare(other, NeFn.self, "ne") }
    /// 1 where `self < other`, else 0.
    public func lt(_ other: Tensor) -> Tensor { compare(other, LtFn.self, "lt") }
    /// 1 where `self <= other`, else 0.
    public func le(_ other: Tensor) -> Tensor { compare(other, LeFn.self, "le") }
    /// 1 where `self > other`, else 0.
    public func gt(_ other: Tensor) -> Tensor { compare(other, GtFn.self, "gt") }
    /// 1 where `self >= other`, else 0.
    public func ge(_ other: Tensor) -> Tensor { compare(other, GeFn.self, "ge") }

    /// 1 where x = v, else 0 (see `eq(_:)`).
    public func eq(_ v: Double) -> Tensor { eq(scalarLike(v)) }
    /// 1 where x ≠ v, else 0.
    public func ne(_ v: Double) -> Tensor { ne(scalarLike(v)) }
    /// 1 where x < v, else 0.
    public func lt(_ v: Double) -> Tensor { lt(scalarLike(v)) }
    /// 1 where x ≤ v, else 0.
    public func le(_ v: Double) -> Tensor { le(scalarLike(v)) }
    /// 1 where x > v, else 0.
    public func gt(_ v: Double) -> Tensor { gt(scalarLike(v)) }
    /// 1 where x ≥ v, else 0.
    public func ge(_ v: Double) -> Tensor { ge(scalarLike(v)) }

    /// Elements of `a` where `condition` is non-zero, else of `b` (all three broadcast).
    /// Gradients flow to `a` where the condition holds and to `b` elsewhere.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let (x, y) = promoted(a, b)
        let c = condition.dtype == x.dtype ? condition : condition.to(x.dtype)
        let out: Tensor
        switch x.dtype {
        case .float32: out = Kernels.zip3(c, x, y, Float.self, op: "where") { $0 != 0 ? $1 : $2 }
        case .float64: out = Kernels.zip3(c, x, y, Double.self, op: "where") { $0 != 0 ? $1 : $2 }
        case .bfloat16: bfloat16Unsupported("where")
        case .int64: out = Kernels.zip3(c, x, y, Int64.self, op: "where") { $0 != 0 ? $1 : $2 }
        }
        if needsGrad(x, y) {
            let mask = c.ne(0)
            out.record("WhereBackward", [x, y]) { g in [g * mask, g * (1 - mask)] }
        }
        return out
    }
}
