/// Batch normalization (shared by BatchNorm1d and BatchNorm2d): normalizes each channel
/// (dim 1) with batch statistics in training and running statistics in evaluation, then
/// scales by γ (`weight`, init 1) and shifts by β (`bias`, init 0).
///
/// Buffers, as PyTorch: `running_mean` (init 0), `running_var` (init 1), `num_batches_tracked`
/// (int64). `momentum` nil uses the cumulative average (factor 1/num_batches_tracked).
public class BatchNorm: Module {
    /// The options given at creation.
    public let numFeatures: Int, eps: Double, momentum: Double?, affine: Bool, trackRunningStats: Bool
    /// γ and β (numFeatures each), or nil without `affine`.
    public let weight: Tensor?, bias: Tensor?
    /// The running statistics (numFeatures each) and the int64 count of training batches, or nil
    /// without `trackRunningStats`.
    public let runningMean: Tensor?, runningVar: Tensor?, numBatchesTracked: Tensor?
    /// The input ranks this layer accepts.
    /// The ranks whose batches are normalized together in training (`SyncBatchNorm`); nil:
    /// this process's batch alone.
    public internal(set) var processGroup: ProcessGroup?
    var ranks: Set<Int> { [2, 3, 4] }
    /// The rank of an unbatched input, run as a batch of one (none: it would be ambiguous).
    var unbatchedRank: Int? { nil }

    /// - Parameters:
    ///   - numFeatures: C, the channels (dim 1) normalized separately.
    ///   - eps: ε added to the variance, default 1e-5.
    ///   - momentum: The weight of each batch in the running statistics, default 0.1; nil for the
    ///     cumulative average.
    ///   - affine: Whether to learn γ and β (default true).
    ///   - trackRunningStats: Whether to keep running statistics for evaluation (default true).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true, trackRunningStats: Bool = true) {
        self.numFeatures = numFeatures; self.eps = eps; self.momentum = momentum
        self.affine = affine; self.trackRunningStats = trackRunningStats
        weight = affine ? Tensor.ones([numFeatures]) : nil
        bias = affine ? Tensor.zeros([numFeatures]) : nil
        runningMean = trackRunningStats ? Tensor.zeros([numFeatures]) : nil
        runningVar = trackRunningStats ? Tensor.ones([numFeatures]) : nil
        numBatchesTracked = trackRunningStats ? Tensor.zeros([], dtype: .int64) : nil
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
        registerBuffer("running_mean", runningMean)
        registerBuffer("running_var", runningVar)
        registerBuffer("num_batches_tracked", numBatchesTracked)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        if x.rank == unbatchedRank { return forward(x.unsqueeze(0)).squeeze(dim: 0) }
        check(ranks.contains(x.rank) && x.shape[1] == numFeatures,
              "[\(typeName)] expected input of shape \(expectedShape) with C = \(numFeatures), got \(Shape.describe(x.shape))")
        var factor = momentum ?? 0
        if isTraining, let count = numBatchesTracked {
            withNoGrad { count.addAssign(Tensor(Int64(1))) }
            if momentum == nil { factor = 1 / count.itemDouble }
        }
        let useBatchStats = isTraining || !trackRunningStats
        if useBatchStats, let processGroup, processGroup.worldSize > 1 {
            return syncBatchNorm(x, runningMean: isTraining ? runningMean : nil, runningVar: isTraining ? runningVar : nil,
                                 weight: weight, bias: bias, momentum: factor, eps: eps, group: processGroup)
        }
        return batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                         training: useBatchStats, momentum: factor, eps: eps)
    }

    var expectedShape: String { "(N, C) or (N, C, L)" }

    public override var extraDescription: String {
        "\(numFeatures), eps=\(eps), momentum=\(momentum.map { "\($0)" } ?? "None"), affine=\(affine ? "True" : "False"), track_running_stats=\(trackRunningStats ? "True" : "False")"
    }
}

/// Batch normalization of (N, C) or (N, C, L) inputs.
public final class BatchNorm1d: BatchNorm {
    override var ranks: Set<Int> { [2, 3] }
}

/// Batch normalization of (N, C, H, W) inputs.
public final class BatchNorm2d: BatchNorm {
    override var ranks: Set<Int> { [4] }
    override var unbatchedRank: Int? { 3 }
    override var expectedShape: String { "(N, C, H, W) or (C, H, W)" }
}
