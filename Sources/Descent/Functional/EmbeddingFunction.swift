/// Looks up row `i` of `weight` (num, dim) for each int64 index `i`, as PyTorch's `F.embedding`:
/// indices (*) → (*, dim). Rows looked up at `paddingIdx` receive no gradient.
public func embedding(_ indices: Tensor, weight: Tensor, paddingIdx: Int? = nil) -> Tensor {
    check(indices.dtype == .int64, "[embedding] expected int64 indices, got \(indices.dtype)")
    check(weight.rank == 2, "[embedding] expected a weight of shape (num_embeddings, embedding_dim), got \(Shape.describe(weight.shape))")
    let flat = indices.reshape([-1])
    var rows = weight.indexSelect(dim: 0, index: flat)
    if let pad = paddingIdx {
        // Rows looked up at the padding index carry no gradient.
        let isPad = flat.eq(Double(pad)).to(weight.dtype).unsqueeze(1)
        rows = rows * (1 - isPad) + weight.detach().indexSelect(dim: 0, index: flat) * isPad
    }
    return rows.reshape(indices.shape + [weight.shape[1]])
}
