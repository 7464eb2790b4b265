/// A bfloat16 number: the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits),
/// so it has float32's range with about 3 significant decimal digits.
///
/// Conversion from `Float` rounds to nearest, ties to even, as PyTorch's `c10::BFloat16`
/// does; NaN stays NaN. Arithmetic converts to `Float`, computes, and rounds back.
public struct BFloat16: TensorScalar, CustomStringConvertible, Hashable {
    /// The 16 stored bits.
    public var bitPattern: UInt16

    /// The bfloat16 with these bits.
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// `value` rounded to the nearest bfloat16 (ties to even).
    @inlinable public init(_ value: Float) { bitPattern = BFloat16.roundedBits(value.bitPattern) }

    /// The upper 16 bits of float32 bits `x` rounded to nearest, ties to even; a NaN keeps its
    /// sign and becomes a quiet NaN (rounding would carry into the exponent or make it ∞).
    @inline(__always) @inlinable public static func roundedBits(_ x: UInt32) -> UInt16 {
        if x & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (x >> 16) | 0x0040) }
        return UInt16(truncatingIfNeeded: (x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }

    /// `x` rounded to the nearest bfloat16 value, kept as a Float (the rounding that autocast
    /// applies to the operands of its products).
    @inline(__always) @inlinable public static func round(_ x: Float) -> Float {
        Float(bitPattern: UInt32(roundedBits(x.bitPattern)) << 16)
    }

    /// The value as a Float (exact).
    @inlinable public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    // MARK: TensorScalar

    /// The tensor dtype of this type.
    public static var dtype: DType { .bfloat16 }
    /// Converts from Double through Float (as PyTorch's conversion from double).
    @inlinable public init(fromDouble value: Double) { self.init(Float(value)) }
    /// The value as a Double.
    @inlinable public var asDouble: Double { Double(float) }
    /// The value as text (that of the Float it holds).
    public var description: String { float.description }

    /// Converts an integer (rounded to bfloat16).
    @inlinable public init(integerLiteral value: Int) { self.init(Float(value)) }
    /// Converts an integer if it is exactly representable.
    public init?<T: BinaryInteger>(exactly source: T) {
        guard let f = Float(exactly: source), BFloat16(f).float == f else { return nil }
        self.init(f)
    }
    /// The absolute value.
    public var magnitude: BFloat16 { BFloat16(bitPattern: bitPattern & 0x7FFF) }

    /// Sum, rounded to bfloat16.
    public static func + (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(a.float + b.float) }
    /// Difference, rounded to bfloat16.
    public static func - (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(a.float - b.float) }
    /// Product, rounded to bfloat16.
    public static func * (a: BFloat16, b: BFloat16) -> BFloat16 { BFloat16(a.float * b.float) }
    /// a += b.
    public static func += (a: inout BFloat16, b: BFloat16) { a = a + b }
    /// a −= b.
    public static func -= (a: inout BFloat16, b: BFloat16) { a = a - b }
    /// a *= b.
    public static func *= (a: inout BFloat16, b: BFloat16) { a = a * b }
    /// Ordered as the Floats they hold (NaN compares false).
    public static func < (a: BFloat16, b: BFloat16) -> Bool { a.float < b.float }
    /// Equal as Floats (so +0 == −0 and NaN ≠ NaN).
    public static func == (a: BFloat16, b: BFloat16) -> Bool { a.float == b.float }
    /// Hashes the value (+0 and −0 alike).
    public func hash(into hasher: inout Hasher) { hasher.combine(float == 0 ? 0 : bitPattern) }
}
