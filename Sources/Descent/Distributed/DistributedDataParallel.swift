/// Data-parallel training over a ``ProcessGroup``, as PyTorch's `DistributedDataParallel`.
///
/// Each rank holds a replica of the model and trains on its own share of every global batch
/// (a ``DistributedSampler``). Wrapping broadcasts rank 0's parameters and buffers, so that all
/// replicas start equal; after each backward pass every parameter's gradient is the mean over
/// the ranks, so that the optimizer steps, identical on every rank, keep them equal. With each
/// rank's loss the mean over its B examples, the averaged gradient is that of the mean loss
/// over the N·B examples of the global batch: N ranks train as one process on the global batch.
///
/// Gradients are reduced in buckets of about `bucketCapMB` (25 MB, PyTorch's default) in a
/// fixed order (parameters from last to first, roughly the order backward produces them); a
/// bucket's all-reduce starts as soon as backward has produced all its gradients, while
/// backward goes on with earlier layers, and the pass ends when every bucket has arrived.
///
/// ```swift
/// let group = try ProcessGroup.initialize()
/// let model = try DistributedDataParallel(Net(), group: group)
/// let opt = SGD(model.parameters(), lr: 0.1)
/// for batch in loader {                     // this rank's share of each global batch
///     opt.zeroGrad()
///     crossEntropy(model(batch.inputs), batch.targets).backward()   // gradients averaged here
///     opt.step()
/// }
/// ```
///
/// BatchNorm layers use each rank's own batch statistics (`SyncBatchNorm.convert` makes them
/// use the global batch's); buffers (running statistics) are broadcast from rank 0 at every
/// training forward (`broadcastBuffers`), as PyTorch does. A parameter that gets no gradient on
/// a rank contributes zeros to the mean.
public final class DistributedDataParallel: Module {
    /// The wrapped model (its state dict's keys are this module's without the `module.` prefix).
    public let module: Module
    /// The ranks that average their gradients.
    public let group: ProcessGroup
    /// Broadcast rank 0's buffers at each forward in training mode (default true).
    public var broadcastBuffers: Bool
    private let reducer: GradientReducer

    /// Wraps `module`: checks that every rank's model has the same parameters and buffers
    /// (names, shapes, dtypes; throws naming the first difference) and broadcasts rank 0's.
    /// - Parameters:
    ///   - module: The model, built the same way on every rank.
    ///   - group: The ranks (default: `ProcessGroup.world`, else a group of one).
    ///   - bucketCapMB: Megabytes of gradients per all-reduce (default 25).
    ///   - broadcastBuffers: Broadcast rank 0's buffers at each training forward (default true).
    public init(_ module: Module, group: ProcessGroup? = nil, bucketCapMB: Double = 25, broadcastBuffers: Bool = true) throws {
        self.module = module
        self.group = group ?? ProcessGroup.world ?? .single
        self.broadcastBuffers = broadcastBuffers
        check(bucketCapMB > 0, "[DistributedDataParallel] bucketCapMB must be positive, got \(bucketCapMB)")
        try Self.verifySameModel(module, group: self.group)
        let parameters = module.parameters()
        reducer = GradientReducer(parameters: parameters, group: self.group, capBytes: Int(bucketCapMB * 1_048_576))
        super.init()
        registerModule("module", module)
        withNoGrad {
            for p in parameters { self.group.broadcast(p) }
            syncBuffers()
        }
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if isTraining && broadcastBuffers { withNoGrad { syncBuffers() } }
        return module(input)
    }

    /// Runs `body` (forward and backward passes) without averaging gradients: they accumulate
    /// on each rank, and the next backward outside `noSync` averages the sum (gradient
    /// accumulation over micro-batches).
    public func noSync<R>(_ body: () throws -> R) rethrows -> R {
        let was = reducer.enabled
        reducer.enabled = false
        defer { reducer.enabled = was }
        return try body()
    }

    /// Copies rank 0's floating-point buffers (running statistics) to every rank.
    public func syncBuffers() {
        guard group.worldSize > 1 else { return }
        for (_, b) in module.namedBuffers() where b.dtype.isFloatingPoint { group.broadcast(b) }
    }

    /// The buckets: how many, and the parameters in each (indices into `parameters()`).
    public var buckets: [[Int]] { reducer.buckets.map(\.parameterIndices) }

    public override var typeName: String { "DistributedDataParallel" }

    /// Every rank's list of parameters and buffers must be rank 0's.
    static func verifySameModel(_ module: Module, group: ProcessGroup) throws {
        let entries = module.namedParameters().map { "parameter '\($0.name)' of shape \(Shape.describe($0.tensor.shape)), \($0.tensor.dtype)" }
            + module.namedBuffers().map { "buffer '\($0.name)' of shape \(Shape.describe($0.tensor.shape)), \($0.tensor.dtype)" }
        for p in module.parameters() {
            check(p.isContiguous, "[DistributedDataParallel] parameters must be contiguous; one has shape \(Shape.describe(p.shape)) and strides \(p.strides)")
        }
        let all = group.allGather(bytes: Array(entries.joined(separator: "\n").utf8)).map {
            String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        for (r, other) in all.enumerated() where other != all[0] {
            let i = Array(zip(all[0], other)).firstIndex { $0.0 != $0.1 } ?? min(all[0].count, other.count)
            let mine = i < all[0].count ? all[0][i] : "nothing", theirs = i < other.count ? other[i] : "nothing"
            let counts = other.count == all[0].count ? "" : " (\(other.count) parameters and buffers against \(all[0].count))"
            throw DistributedError("DistributedDataParallel: the model on rank \(r) differs from rank 0's: entry \(i + 1) is \(theirs) "
                                   + "on rank \(r) but \(mine) on rank 0\(counts)")
        }
    }
}
