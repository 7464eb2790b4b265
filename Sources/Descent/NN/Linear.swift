/// y = x·Wᵀ + b over the last dim.
///
/// Shapes: input (*, inFeatures) → output (*, outFeatures). `weight` is (outFeatures,
/// inFeatures), `bias` (outFeatures). Default initialization (PyTorch's): weight and bias
/// U(−1/√inFeatures, 1/√inFeatures).
public final class Linear: Module {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures >= 0 && outFeatures >= 0, "[Linear] sizes must be non-negative, got \(inFeatures) and \(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = inFeatures > 0 ? 1 / Double(inFeatures).squareRoot() : 0
        weight = Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound)
        self.bias = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures,
                     "[Linear] expected input with last dimension \(inFeatures), got shape \(Shape.describe(x.shape))")
        let y = x.matmul(weight.t)
        return bias.map { y + $0 } ?? y
    }

    public override var extraDescription: String {
        "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(bias != nil ? "True" : "False")"
    }
}

/// Flattens dims `startDim...endDim` (by default all but the batch dim).
public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public init(startDim: Int = 1, endDim: Int = -1) { self.startDim = startDim; self.endDim = endDim; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.flatten(startDim: startDim, endDim: endDim) }
    public override var extraDescription: String { "start_dim=\(startDim), end_dim=\(endDim)" }
}

/// Expands dim `dim` into `sizes` (the inverse of Flatten).
public final class Unflatten: Module {
    public let dim: Int, sizes: [Int]
    public init(dim: Int, sizes: [Int]) { self.dim = dim; self.sizes = sizes; super.init() }
    public override func forward(_ x: Tensor) -> Tensor {
        let d = Shape.normalize(dim, rank: x.rank, op: "Unflatten")
        precondition(sizes.reduce(1, *) == x.shape[d] || sizes.contains(-1),
                     "[Unflatten] sizes \(sizes) do not multiply to \(x.shape[d]), the size of dim \(d) of \(Shape.describe(x.shape))")
        return x.reshape(Array(x.shape[..<d]) + sizes + Array(x.shape[(d + 1)...]))
    }
    public override var extraDescription: String { "dim=\(dim), unflattened_size=(\(sizes.map(String.init).joined(separator: ", ")))" }
}

/// In training, zeroes each element with probability `p` and scales the rest by 1/(1−p)
/// (inverted dropout), drawing from `Descent.generator`; in eval, the identity.
public final class Dropout: Module {
    public let p: Double
    public init(p: Double = 0.5) {
        precondition(p >= 0 && p <= 1, "[Dropout] probability has to be between 0 and 1, but got \(p)")
        self.p = p
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { x.dropout(p: p, training: isTraining) }
    public override var extraDescription: String { "p=\(p), inplace=False" }
}

extension Tensor {
    /// Inverted dropout: zero with probability `p`, scale the rest by 1/(1−p), when `training`.
    public func dropout(p: Double, training: Bool = true) -> Tensor {
        precondition(p >= 0 && p <= 1, "[dropout] probability has to be between 0 and 1, but got \(p)")
        guard training && p > 0 else { return self }
        if p == 1 { return self * Tensor.zeros(shape, dtype: dtype) }
        let keep = Tensor.rand(shape, dtype: dtype).ge(p)
        return self * (keep / (1 - p))
    }
}

/// A lookup table: row `i` of `weight` for each int64 index `i`.
///
/// Shapes: indices (*) → (*, embeddingDim). `weight` (numEmbeddings, embeddingDim), default
/// N(0, 1); the `paddingIdx` row starts at zero and receives no gradient.
public final class Embedding: Module {
    public let numEmbeddings: Int, embeddingDim: Int, paddingIdx: Int?
    public let weight: Tensor

    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil) {
        self.numEmbeddings = numEmbeddings
        self.embeddingDim = embeddingDim
        let pad = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        if let pad { precondition(pad >= 0 && pad < numEmbeddings, "[Embedding] paddingIdx must be within num_embeddings") }
        self.paddingIdx = pad
        let w = Tensor.randn([numEmbeddings, embeddingDim])
        if let pad { w[pad].fill(0) }
        weight = w
        super.init()
        registerParameter("weight", weight)
    }

    public override func forward(_ indices: Tensor) -> Tensor {
        precondition(indices.dtype == .int64, "[Embedding] expected int64 indices, got \(indices.dtype)")
        let flat = indices.reshape([-1])
        var rows = weight.indexSelect(dim: 0, index: flat)
        if let pad = paddingIdx {
            // Rows looked up at the padding index carry no gradient.
            let isPad = flat.eq(Double(pad)).to(weight.dtype).unsqueeze(1)
            rows = rows * (1 - isPad) + weight.detach().indexSelect(dim: 0, index: flat) * isPad
        }
        return rows.reshape(indices.shape + [embeddingDim])
    }

    public override var extraDescription: String {
        "\(numEmbeddings), \(embeddingDim)" + (paddingIdx.map { ", padding_idx=\($0)" } ?? "")
    }
}

/// Layer normalization over the last dims (`normalizedShape`):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β, with the biased variance. γ = 1, β = 0 initially.
public final class LayerNorm: Module {
    public let normalizedShape: [Int], eps: Double
    public let weight: Tensor?, bias: Tensor?

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", self.bias)
    }

    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let n = normalizedShape.count
        precondition(x.rank >= n && Array(x.shape.suffix(n)) == normalizedShape,
                     "[LayerNorm] expected input with trailing shape \(Shape.describe(normalizedShape)), got \(Shape.describe(x.shape))")
        let dims = Array((x.rank - n)..<x.rank)
        let mean = x.mean(dims: dims, keepDim: true)
        let centered = x - mean
        var y = centered * ((centered * centered).mean(dims: dims, keepDim: true) + eps).rsqrt()
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }

    public override var extraDescription: String {
        "(\(normalizedShape.map(String.init).joined(separator: ", "))\(normalizedShape.count == 1 ? "," : "")), eps=\(eps), elementwise_affine=\(weight != nil ? "True" : "False")"
    }
}
