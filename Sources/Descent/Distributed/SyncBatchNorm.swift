/// Batch normalization whose statistics are those of the global batch: the mean and variance
/// of each channel over every rank's examples, as PyTorch's `SyncBatchNorm`. With it, N ranks
/// with batches of B normalize exactly as one process with a batch of N·B.
///
/// In training mode each forward all-reduces two per-channel sums (Σx, then Σ(x − mean)²) and
/// each backward two more (through ``ProcessGroup/allReducedSum(_:)``); in eval mode, or in a
/// group of one, it is a `BatchNorm`. Input: (N, C, …). ``convert(_:group:)`` makes every
/// BatchNorm of a model synchronize, as PyTorch's `convert_sync_batchnorm`.
public final class SyncBatchNorm: BatchNorm {
    override var ranks: Set<Int> { [2, 3, 4, 5] }
    override var expectedShape: String { "(N, C, …)" }

    /// - Parameters: as `BatchNorm`'s, and `group`: the ranks whose batches are normalized
    ///   together (default: `ProcessGroup.world`, else a group of one).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, group: ProcessGroup? = nil) {
        super.init(numFeatures, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
        processGroup = group ?? ProcessGroup.world ?? .single
    }

    /// Makes every `BatchNorm` layer of `module` normalize with the global batch's statistics
    /// of `group` (default: `ProcessGroup.world`, else a group of one); returns `module`.
    @discardableResult
    public static func convert(_ module: Module, group: ProcessGroup? = nil) -> Module {
        for (_, m) in module.namedModules() {
            if let bn = m as? BatchNorm { bn.processGroup = group ?? ProcessGroup.world ?? .single }
        }
        return module
    }
}

/// Training-mode batch normalization with statistics all-reduced over `group`: composed of
/// differentiable ops and `allReducedSum`, so its backward all-reduces too.
func syncBatchNorm(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                   momentum: Double, eps: Double, group: ProcessGroup) -> Tensor {
    let c = x.shape[1]
    let dims = [0] + Array(2..<x.rank)
    let statShape = [1, c] + [Int](repeating: 1, count: x.rank - 2)
    let count = Tensor(Double(x.count / max(c, 1)), dtype: .float64)
    group.allReduce(count)
    let total = count.itemDouble
    check(total > 1, "[SyncBatchNorm] expected more than 1 value per channel when training, got \(Int(total)) over all ranks")
    let mean = group.allReducedSum(x.sum(dims: dims)) / total
    let centered = x - mean.reshape(statShape)
    let variance = group.allReducedSum((centered * centered).sum(dims: dims)) / total
    if let runningMean, let runningVar {
        withNoGrad {
            runningMean.assign(runningMean * (1 - momentum) + mean.detach().to(runningMean.dtype) * momentum)
            runningVar.assign(runningVar * (1 - momentum) + variance.detach().to(runningVar.dtype) * (total / (total - 1) * momentum))
        }
    }
    var y = centered * (variance + eps).rsqrt().reshape(statShape)
    if let weight { y = y * weight.to(x.dtype).reshape(statShape) }
    if let bias { y = y + bias.to(x.dtype).reshape(statShape) }
    return y
}
