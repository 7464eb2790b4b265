/// Element functions written once, generically, and run by the kernels for each dtype.
protocol UnaryFunction {
    static func apply<T: FloatScalar>(_ x: T) -> T
}

protocol BinaryFunction {
    static func apply<T: FloatScalar>(_ a: T, _ b: T) -> T
    /// The same arithmetic in the C kernel `dk_binary_f32` (its op code), if it has it.
    static var cArithmetic: Int32? { get }
}

protocol NumericBinaryFunction {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T
    /// The same arithmetic in the C kernel `dk_binary_f32` (its op code), if it has it.
    static var cArithmetic: Int32? { get }
}

extension BinaryFunction {
    static var cArithmetic: Int32? { nil }
}

extension NumericBinaryFunction {
    static var cArithmetic: Int32? { nil }
}

/// An element function of one argument, as a value whose type the loops are specialized on.
protocol ElementFn1 {
    associatedtype A: TensorScalar
    associatedtype R: TensorScalar
    func callAsFunction(_ x: A) -> R
}

/// An element function of two arguments, as a value whose type the loops are specialized on.
protocol ElementFn2 {
    associatedtype A: TensorScalar
    associatedtype R: TensorScalar
    func callAsFunction(_ a: A, _ b: A) -> R
    /// The C kernel's op code (`dk_binary_f32`) for this function on float32, if it has one:
    /// the binary loops then run it, vectorized for the CPU (Swift is compiled for baseline x86-64).
    static var float32Kernel: Int32? { get }
}

extension ElementFn2 {
    static var float32Kernel: Int32? { nil }
}

struct ClosureFn1<A: TensorScalar, R: TensorScalar>: ElementFn1 {
    let f: (A) -> R
    @inline(__always) func callAsFunction(_ x: A) -> R { f(x) }
}

struct ClosureFn2<A: TensorScalar, R: TensorScalar>: ElementFn2 {
    let f: (A, A) -> R
    @inline(__always) func callAsFunction(_ a: A, _ b: A) -> R { f(a, b) }
}

struct UnaryFn<T: FloatScalar, F: UnaryFunction>: ElementFn1 {
    @inline(__always) func callAsFunction(_ x: T) -> T { F.apply(x) }
}

struct BinaryFn<T: FloatScalar, F: BinaryFunction>: ElementFn2 {
    @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { F.apply(a, b) }
    static var float32Kernel: Int32? { T.self == Float.self ? F.cArithmetic : nil }
}

struct NumericFn<T: TensorScalar, F: NumericBinaryFunction>: ElementFn2 {
    @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { F.apply(a, b) }
    static var float32Kernel: Int32? { T.self == Float.self ? F.cArithmetic : nil }
}

/// a + α·b, for in-place updates.
struct AddScaledFn<T: TensorScalar>: ElementFn2 {
    let alpha: T
    @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { a + alpha * b }
}

extension Kernels {
    /// `F(x)` elementwise for a floating-point tensor (bfloat16 computed in float32 and rounded,
    /// as PyTorch's bfloat16 ops).
    @inline(__always)
    static func map<F: UnaryFunction>(_ x: Tensor, _: F.Type, cost: Int = 1, op: String) -> Tensor {
        switch x.dtype {
        case .float32: return mapLoop(x, cost: cost, UnaryFn<Float, F>())
        case .float64: return mapLoop(x, cost: cost, UnaryFn<Double, F>())
        case .bfloat16: return cast(map(cast(x, to: .float32), F.self, cost: cost, op: op), to: .bfloat16)
        case .int64: checkFailure("[\(op)] expected a floating-point tensor, got \(x.dtype)")
        }
    }

    /// `F(a, b)` elementwise with broadcasting, for floating-point tensors of one dtype. With
    /// `overwritingA` (a backward rule's incoming gradient that `Autograd.mayOverwrite`) the
    /// result is written over `a` (`updateLoop`) where `a` and `b` are contiguous and of one shape.
    @inline(__always)
    static func zip<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, _: F.Type, cost: Int = 1, op: String,
                                       overwritingA: Bool = false) -> Tensor {
        check(a.dtype == b.dtype, "[\(op)] dtypes differ: \(a.dtype) and \(b.dtype)")
        if overwritingA && a.shape == b.shape && a.isContiguous && b.isContiguous {
            switch a.dtype {
            case .float32: updateLoop(a, b, cost: cost, BinaryFn<Float, F>()); return a
            case .float64: updateLoop(a, b, cost: cost, BinaryFn<Double, F>()); return a
            default: break
            }
        }
        switch a.dtype {
        case .float32: return zipLoop(a, b, op: op, cost: cost, BinaryFn<Float, F>())
        case .float64: return zipLoop(a, b, op: op, cost: cost, BinaryFn<Double, F>())
        case .bfloat16: return cast(zip(cast(a, to: .float32), cast(b, to: .float32), F.self, cost: cost, op: op), to: .bfloat16)
        case .int64: checkFailure("[\(op)] expected floating-point tensors, got \(a.dtype)")
        }
    }

    /// `F(a, b)` elementwise with broadcasting, for tensors of one dtype (any); written over `a`
    /// with `overwritingA`, as the floating-point `zip`.
    @inline(__always)
    static func zip<F: NumericBinaryFunction>(_ a: Tensor, _ b: Tensor, _: F.Type, op: String, overwritingA: Bool = false) -> Tensor {
        check(a.dtype == b.dtype, "[\(op)] dtypes differ: \(a.dtype) and \(b.dtype)")
        if overwritingA && a.shape == b.shape && a.isContiguous && b.isContiguous {
            switch a.dtype {
            case .float32: updateLoop(a, b, NumericFn<Float, F>()); return a
            case .float64: updateLoop(a, b, NumericFn<Double, F>()); return a
            default: break
            }
        }
        switch a.dtype {
        case .float32: return zipLoop(a, b, op: op, cost: 1, NumericFn<Float, F>())
        case .float64: return zipLoop(a, b, op: op, cost: 1, NumericFn<Double, F>())
        case .bfloat16: return cast(zip(cast(a, to: .float32), cast(b, to: .float32), F.self, op: op), to: .bfloat16)
        case .int64: return zipLoop(a, b, op: op, cost: 1, NumericFn<Int64, F>())
        }
    }
}
