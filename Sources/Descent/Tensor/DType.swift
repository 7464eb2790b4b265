import Foundation

/// The element type of a tensor.
///
/// `float32` is the working type, `float64` is for gradient checks, `int64` holds labels,
/// indices and counters (as in PyTorch).
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, int64

    /// Bytes per element.
    public var byteSize: Int { self == .float32 ? 4 : 8 }
    /// Whether the type is a floating-point type (the only kind that can require a gradient).
    public var isFloatingPoint: Bool { self != .int64 }
    /// PyTorch's spelling, e.g. `torch.float32`.
    public var description: String { "torch.\(rawValue)" }

    /// Type promotion as PyTorch does for two tensors: int64 < float32 < float64.
    static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a == .float64 || b == .float64 { return .float64 }
        return .float32
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
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
}

extension Float: FloatScalar {
    public static var dtype: DType { .float32 }
    @inlinable public init(fromDouble value: Double) { self = Float(value) }
    @inlinable public var asDouble: Double { Double(self) }
    @inlinable public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    @inlinable public static func log(_ x: Float) -> Float { Foundation.log(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    @inlinable public static func sin(_ x: Float) -> Float { Foundation.sin(x) }
    @inlinable public static func cos(_ x: Float) -> Float { Foundation.cos(x) }
    @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
    @inlinable public static func log1p(_ x: Float) -> Float { Foundation.log1p(x) }
    @inlinable public static func expm1(_ x: Float) -> Float { Foundation.expm1(x) }
    @inlinable public static func erf(_ x: Float) -> Float { Foundation.erf(x) }
}

extension Double: FloatScalar {
    public static var dtype: DType { .float64 }
    @inlinable public init(fromDouble value: Double) { self = value }
    @inlinable public var asDouble: Double { self }
    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable public static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    @inlinable public static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
    @inlinable public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inlinable public static func expm1(_ x: Double) -> Double { Foundation.expm1(x) }
    @inlinable public static func erf(_ x: Double) -> Double { Foundation.erf(x) }
}

extension Int64: TensorScalar {
    public static var dtype: DType { .int64 }
    @inlinable public init(fromDouble value: Double) { self = Int64(value) }
    @inlinable public var asDouble: Double { Double(self) }
}
