// The element functions the elementwise kernels (Kernels.map, Kernels.zip) run, written once,
// generically, for every dtype: the forward functions of the arithmetic and unary primitives,
// and the fused backward functions (output gradient, saved tensor) → input gradient.

import CDescentKernels

// MARK: Binary

enum AddFn: NumericBinaryFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b }
    static var cArithmetic: Int32? { Int32(DK_ADD) }
}
enum SubFn: NumericBinaryFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a - b }
    static var cArithmetic: Int32? { Int32(DK_SUB) }
}
enum MulFn: NumericBinaryFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * b }
    static var cArithmetic: Int32? { Int32(DK_MUL) }
}
enum DivFn: BinaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ a: T, _ b: T) -> T { a / b }
    static var cArithmetic: Int32? { Int32(DK_DIV) }
}
enum PowFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ a: T, _ b: T) -> T { T.pow(a, b) } }
enum MaxFn: NumericBinaryFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a != a ? a : (b != b ? b : (a > b ? a : b)) }
}
enum MinFn: NumericBinaryFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a != a ? a : (b != b ? b : (a < b ? a : b)) }
}

// MARK: Unary and their gradients

enum NegFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { -x } }
enum AbsFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { Swift.abs(x) } }
enum ExpFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.exp(x) } }
enum LogFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.log(x) } }
enum SqrtFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { x.squareRoot() } }
enum RsqrtFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { 1 / x.squareRoot() } }
enum SinFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.sin(x) } }
enum CosFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.cos(x) } }
enum TanhFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.fastTanh(x) } }
enum ErfFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.erf(x) } }
enum Log1pFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.log1p(x) } }
/// 0 where x < 0, else x (NaN and −0 kept, as PyTorch).
enum ReluFn: UnaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { x < 0 ? 0 : x } }
enum SignFn: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : x) }
}
/// Sigmoid, finite for any input (Float: a vectorizable exp; Double: libm with the e^x/(1+e^x) form for x < 0).
enum SigmoidFn: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.sigmoid(x) }
}

// Backward element functions: (g, saved) -> input gradient.
enum TanhGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ y: T) -> T { g * (1 - y * y) } }
enum SigmoidGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ y: T) -> T { g * y * (1 - y) } }
/// 0 where the output y ≤ 0, else g (also where y is NaN, as PyTorch's threshold_backward).
enum ReluGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ y: T) -> T { y <= 0 ? 0 : g } }
enum SqrtGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ y: T) -> T { g / (2 * y) } }
enum RsqrtGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ y: T) -> T { -g * y * y * y / 2 } }
enum AbsGradFn: BinaryFunction { @inline(__always) static func apply<T: FloatScalar>(_ g: T, _ x: T) -> T { g * SignFn.apply(x) } }
