/// A lookup table: row `i` of `weight` for each int64 index `i`.
///
/// Shapes: indices (*) → (*, embeddingDim). `weight` (numEmbeddings, embeddingDim), default
/// N(0, 1); the `paddingIdx` row starts at zero and receives no gradient.
public final class Embedding: Module {
    /// The table's size and the padding row (non-negative), as given at creation.
    public let numEmbeddings: Int, embeddingDim: Int, paddingIdx: Int?
    /// The table, (numEmbeddings, embeddingDim).
    public let weight: Tensor

    /// - Parameters:
    ///   - numEmbeddings: The number of rows (valid indices are 0..<numEmbeddings).
    ///   - embeddingDim: The length of each row.
    ///   - paddingIdx: A row that starts at zero and gets no gradient (negative counts from the end).
    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil) {
        self.numEmbeddings = numEmbeddings
        self.embeddingDim = embeddingDim
        let pad = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        if let pad { check(pad >= 0 && pad < numEmbeddings, "[Embedding] paddingIdx must be within num_embeddings") }
        self.paddingIdx = pad
        let w = Tensor.randn([numEmbeddings, embeddingDim])
        if let pad { w[pad].fill(0) }
        weight = w
        super.init()
        registerParameter("weight", weight)
    }

    public override func forward(_ indices: Tensor) -> Tensor {
        check(indices.dtype == .int64, "[Embedding] expected int64 indices, got \(indices.dtype)")
        return embedding(indices, weight: weight, paddingIdx: paddingIdx)
    }

    public override var extraDescription: String {
        "\(numEmbeddings), \(embeddingDim)" + (paddingIdx.map { ", padding_idx=\($0)" } ?? "")
    }
}
