/// Shape arithmetic shared by ops and kernels.
enum Shape {
    @inline(__always) static func count(_ shape: [Int]) -> Int {
        var n = 1
        for s in shape { n *= s }
        return n
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1, overflow = false
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = acc
            (acc, overflow) = acc.multipliedReportingOverflow(by: max(shape[d], 1))
            check(!overflow || d == 0, "[Tensor] shape \(describe(shape)) is too large to index: its strides overflow")
        }
        return strides
    }

    /// The product of the dims, counting a 0 as 1 (what the strides of a contiguous tensor of
    /// this shape reach); nil when it overflows, so that no tensor of this shape can exist.
    /// Readers check it before making a tensor from a file's header.
    static func extent(_ shape: [Int]) -> Int? {
        var n = 1
        for s in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: max(s, 1))
            if overflow { return nil }
            n = p
        }
        return n
    }

    static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if shape[d] == 0 { return true }
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// PyTorch-style shape text: `(3, 4)`, `()` for a scalar, `(5,)` for 1-D.
    static func describe(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// Wraps a possibly negative dim into `0..<rank`, stopping with a message otherwise.
    static func normalize(_ dim: Int, rank: Int, op: String) -> Int {
        let r = max(rank, 1)
        let d = dim < 0 ? dim + r : dim
        check(d >= 0 && d < r, "[\(op)] dim \(dim) out of range for a tensor of rank \(rank) (expected -\(r)...\(r - 1))")
        return d
    }

    /// The broadcast shape of two shapes, as PyTorch does (align right, sizes equal or 1).
    static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        if a == b { return a }
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            check(x == y || x == 1 || y == 1,
                  "[\(op)] shapes \(describe(a)) and \(describe(b)) cannot be broadcast: sizes \(x) and \(y) differ at dim \(i)")
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// Strides that read a tensor of `shape`/`strides` broadcast to `target` (0 on broadcast dims).
    static func broadcastStrides(_ shape: [Int], _ strides: [Int], to target: [Int]) -> [Int] {
        let lead = target.count - shape.count
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[lead + i] == 1 {
            out[lead + i] = shape[i] == 1 ? 0 : strides[i]
        }
        return out
    }
}

/// A size per spatial dim, written as one number (`3`) or a list (`[3, 5]`).
public struct Size2: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The height and width (rows and columns).
    public let h: Int, w: Int
    /// A size of `h` rows and `w` columns.
    /// - Parameters:
    ///   - h: The size along the height (rows).
    ///   - w: The size along the width (columns).
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    /// The same size `v` along both dims.
    /// - Parameter v: The size along both dims.
    public init(_ v: Int) { self.init(v, v) }
    /// `3` means (3, 3).
    public init(integerLiteral v: Int) { self.init(v) }
    /// `[3, 5]` means (3, 5); `[3]` means (3, 3).
    public init(arrayLiteral values: Int...) {
        check(values.count == 2 || values.count == 1, "[Size2] expected 1 or 2 values, got \(values)")
        self.init(values[0], values.count == 2 ? values[1] : values[0])
    }
    /// PyTorch's tuple text, `(3, 5)`.
    public var description: String { "(\(h), \(w))" }
    var pair: (Int, Int) { (h, w) }
}
