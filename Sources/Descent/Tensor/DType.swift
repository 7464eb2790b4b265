import Foundation

/// The element type of a tensor.
///
/// `float32` is the working type, `float64` is for gradient checks, `int64` holds labels,
/// indices and counters (as in PyTorch). `bfloat16` (8 exponent bits as float32, 7 mantissa
/// bits) stores data at half the size: tensors of it are made by casts (`to(.bfloat16)`) and
/// read from or written to safetensors files; arithmetic runs on float32 (cast back with
/// `float()`, or compute bf16 products inside `withAutocast(.bfloat16) { … }`).
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, int64, bfloat16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float64, .int64: return 8
        case .bfloat16: return 2
        }
    }
    /// Whether the type is a floating-point type (the only kind that can require a gradient).
    public var isFloatingPoint: Bool { self != .int64 }
    /// The name, e.g. `float32` (PyTorch's `torch.float32` without the module).
    public var description: String { rawValue }

    /// Type promotion as PyTorch does for two tensors: int64 < bfloat16 < float32 < float64.
    static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a == .float64 || b == .float64 { return .float64 }
        if a == .float32 || b == .float32 { return .float32 }
        return .bfloat16
    }
}

/// A Swift type that can be stored in a tensor: `Float`, `Double` or `Int64`.
public protocol TensorScalar: Numeric, Comparable, Sendable {
    /// The tensor dtype of this Swift type.
    static var dtype: DType { get }
    /// Converts from Double (truncating toward zero for integers).
    init(fromDouble value: Double)
    /// The value as a Double.
    var asDouble: Double { get }
}

/// A floating-point tensor element (`Float` or `Double`) with the math the kernels need.
public protocol FloatScalar: TensorScalar, BinaryFloatingPoint {
    /// eˣ.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm.
    static func log(_ x: Self) -> Self
    /// The hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// The sine.
    static func sin(_ x: Self) -> Self
    /// The cosine.
    static func cos(_ x: Self) -> Self
    /// x raised to the power y.
    static func pow(_ x: Self, _ y: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func log1p(_ x: Self) -> Self
    /// eˣ − 1, accurate for small x.
    static func expm1(_ x: Self) -> Self
    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.
    static func erf(_ x: Self) -> Self
    /// σ(x) = 1/(1 + e⁻ˣ), vectorizable (no library call) for Float.
    static func sigmoid(_ x: Self) -> Self
    /// tanh(x), vectorizable (no library call) for Float.
    static func fastTanh(_ x: Self) -> Self
}

extension Float: FloatScalar {
    /// The tensor dtype of this type.
    public static var dtype: DType { .float32 }
    /// Converts from Double (truncating toward zero for integers).
    @inlinable public init(fromDouble value: Double) { self = Float(value) }
    /// The value as a Double.
    @inlinable public var asDouble: Double { Double(self) }
    /// eˣ.
    @inlinable public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    /// The natural logarithm.
    @inlinable public static func log(_ x: Float) -> Float { Foundation.log(x) }
    /// The hyperbolic tangent (the C library's).
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    /// The sine.
    @inlinable public static func sin(_ x: Float) -> Float { Foundation.sin(x) }
    /// The cosine.
    @inlinable public static func cos(_ x: Float) -> Float { Foundation.cos(x) }
    /// x raised to the power y.
    @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
    /// log(1 + x), accurate for small x.
    @inlinable public static func log1p(_ x: Float) -> Float { Foundation.log1p(x) }
    /// eˣ − 1, accurate for small x.
    @inlinable public static func expm1(_ x: Float) -> Float { Foundation.expm1(x) }
    /// The error function.
    @inlinable public static func erf(_ x: Float) -> Float { Foundation.erf(x) }

    /// eˣ without a library call (Cephes' polynomial after Cody–Waite range reduction; about
    /// 1 ulp), so that loops over it vectorize. Inputs are clamped to [−87.3, 88.3].
    @inline(__always) @usableFromInline static func vectorExp(_ x: Float) -> Float {
        let v = Swift.min(Swift.max(x, -87.3), 88.3)
        // Round to nearest by adding and subtracting 1.5·2^23 (no library call, so it vectorizes);
        // the integer n is then in the low mantissa bits of t.
        let t = v * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = v - n * 0.693_359_375 + n * 2.121_944_40e-4
        var p: Float = 1.987_569_150_0e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * r * r + r + 1
        let e = (Int32(bitPattern: t.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
        return y * Float(bitPattern: UInt32(bitPattern: e))
    }

    /// σ(x) = 1/(1 + e⁻ˣ), vectorizable (no library call).
    @inline(__always) public static func sigmoid(_ x: Float) -> Float { 1 / (1 + vectorExp(-x)) }

    /// tanh(x), vectorizable (no library call; about 1 ulp).
    @inline(__always) public static func fastTanh(_ x: Float) -> Float {
        let a = Swift.abs(x), z = x * x
        // |x| < 0.625: Cephes' odd polynomial; otherwise 1 − 2/(e^{2|x|} + 1) with the sign of x.
        var q: Float = -5.704_988_727_45e-3
        q = q * z + 2.063_908_879_54e-2
        q = q * z - 5.373_971_555_31e-2
        q = q * z + 1.333_144_220_36e-1
        q = q * z - 3.333_328_194_22e-1
        let small = q * z * x + x
        let large = 1 - 2 / (vectorExp(2 * a) + 1)
        return a < 0.625 ? small : (x < 0 ? -large : large)
    }
}

extension Double: FloatScalar {
    /// The tensor dtype of this type.
    public static var dtype: DType { .float64 }
    /// Converts from Double (truncating toward zero for integers).
    @inlinable public init(fromDouble value: Double) { self = value }
    /// The value as a Double.
    @inlinable public var asDouble: Double { self }
    /// eˣ.
    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    /// The natural logarithm.
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    /// The hyperbolic tangent (the C library's).
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    /// The sine.
    @inlinable public static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    /// The cosine.
    @inlinable public static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    /// x raised to the power y.
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
    /// log(1 + x), accurate for small x.
    @inlinable public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    /// eˣ − 1, accurate for small x.
    @inlinable public static func expm1(_ x: Double) -> Double { Foundation.expm1(x) }
    /// The error function.
    @inlinable public static func erf(_ x: Double) -> Double { Foundation.erf(x) }
    /// σ(x) = 1/(1 + e⁻ˣ), finite for any x (e^x/(1 + e^x) for x < 0).
    @inlinable public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }
    /// tanh(x) (the C library's).
    @inlinable public static func fastTanh(_ x: Double) -> Double { Foundation.tanh(x) }
}

extension Int64: TensorScalar {
    /// The tensor dtype of this type.
    public static var dtype: DType { .int64 }
    /// Converts from Double (truncating toward zero for integers).
    @inlinable public init(fromDouble value: Double) { self = Int64(value) }
    /// The value as a Double.
    @inlinable public var asDouble: Double { Double(self) }
}

extension BinaryFloatingPoint {
    /// Truncated toward zero and clamped to ±9.2e18; NaN and ±∞ give 0 (a cast to int64).
    @inline(__always) static func toInt64(_ x: Self) -> Int64 {
        x.isFinite ? Int64(Swift.max(Swift.min(x.rounded(.towardZero), 9.2e18), -9.2e18)) : 0
    }
}
