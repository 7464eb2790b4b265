/// Flattens dims `startDim...endDim` (by default all but the batch dim).
public final class Flatten: Module {
    /// The first and last dims flattened.
    public let startDim: Int, endDim: Int
    /// - Parameters:
    ///   - startDim: The first dim to flatten, default 1 (keeping the batch dim).
    ///   - endDim: The last dim to flatten, default −1 (the last).
    public init(startDim: Int = 1, endDim: Int = -1) { self.startDim = startDim; self.endDim = endDim; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.flatten(startDim: startDim, endDim: endDim) }
    public override var extraDescription: String { "start_dim=\(startDim), end_dim=\(endDim)" }
}

/// Expands dim `dim` into `sizes` (the inverse of Flatten).
public final class Unflatten: Module {
    /// The dim expanded and the sizes it becomes.
    public let dim: Int, sizes: [Int]
    /// - Parameters:
    ///   - dim: The dim to expand (negative counts from the end).
    ///   - sizes: Its new sizes, multiplying to its size (one may be −1).
    public init(dim: Int, sizes: [Int]) { self.dim = dim; self.sizes = sizes; super.init() }
    public override func forward(_ x: Tensor) -> Tensor {
        let d = Shape.normalize(dim, rank: x.rank, op: "Unflatten")
        check(sizes.reduce(1, *) == x.shape[d] || sizes.contains(-1),
              "[Unflatten] sizes \(sizes) do not multiply to \(x.shape[d]), the size of dim \(d) of \(Shape.describe(x.shape))")
        return x.reshape(Array(x.shape[..<d]) + sizes + Array(x.shape[(d + 1)...]))
    }
    public override var extraDescription: String { "dim=\(dim), unflattened_size=(\(sizes.map(String.init).joined(separator: ", ")))" }
}
