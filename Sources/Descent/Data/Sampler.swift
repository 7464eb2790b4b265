/// Gives a `DataLoader` the indices of each pass over a data set, as PyTorch's `Sampler`.
public protocol Sampler: AnyObject {
    /// How many indices each pass gives.
    var count: Int { get }
    /// The indices of the next pass, in order.
    func indices() -> [Int]
}

/// Each rank's share of every epoch, as PyTorch's `DistributedSampler`: all ranks draw the same
/// order (shuffled by `seed + epoch`), and rank r takes positions r, r + N, r + 2N, … of it.
///
/// The order is first made a multiple of the rank count N: without `dropLast` it is padded by
/// repeating its start (some examples are seen twice per epoch); with `dropLast` its tail is
/// dropped. Each rank then gets ``count`` = ⌈n / N⌉ (or ⌊n / N⌋) indices. With a per-rank batch
/// of B, step k's batches of the N ranks together are positions kNB..<(k+1)NB of the order: a
/// global batch of NB, as one process with batches of NB would see them.
///
/// ```swift
/// let sampler = DistributedSampler(count: train.count, replicas: group.worldSize, rank: group.rank, seed: 1)
/// let loader = DataLoader(train, batchSize: 64 / group.worldSize, sampler: sampler)
/// for epoch in 0..<epochs {
///     sampler.epoch = epoch          // set_epoch: a new order every epoch
///     for batch in loader { … }
/// }
/// ```
public final class DistributedSampler: Sampler {
    /// The data set's size.
    public let datasetCount: Int
    /// The number of ranks N, and this one.
    public let replicas: Int, rank: Int
    /// Whether each epoch's order is shuffled, and whether the tail is dropped instead of padded.
    public let shuffle: Bool, dropLast: Bool
    /// The seed of the shuffled orders (epoch e uses seed + e), the same on every rank.
    public let seed: UInt64
    /// The epoch whose order `indices()` gives (PyTorch's `set_epoch`).
    public var epoch = 0

    /// - Parameters:
    ///   - count: The data set's size.
    ///   - replicas: The number of ranks (`ProcessGroup.worldSize`).
    ///   - rank: This rank.
    ///   - shuffle: A new order every epoch (default), or the data set's order.
    ///   - seed: The order's seed, the same on every rank.
    ///   - dropLast: Drop the tail that does not divide evenly instead of padding.
    public init(count: Int, replicas: Int, rank: Int, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false) {
        check(count >= 0, "[DistributedSampler] count must not be negative, got \(count)")
        check(replicas >= 1, "[DistributedSampler] replicas must be at least 1, got \(replicas)")
        check(rank >= 0 && rank < replicas, "[DistributedSampler] invalid rank \(rank), rank should be in the interval [0, \(replicas - 1)]")
        datasetCount = count
        self.replicas = replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Indices per rank and epoch.
    public var count: Int {
        dropLast && datasetCount % replicas != 0 ? (datasetCount - replicas + replicas - 1) / replicas
            : (datasetCount + replicas - 1) / replicas
    }

    /// This rank's indices for ``epoch``.
    public func indices() -> [Int] {
        var order = Array(0..<datasetCount)
        if shuffle {
            var g = Generator(seed: seed &+ UInt64(epoch))
            order.shuffle(using: &g)
        }
        let total = count * replicas
        if total > order.count, !order.isEmpty {
            let start = order
            while order.count < total { order += start.prefix(total - order.count) }
        } else {
            order = Array(order.prefix(total))
        }
        return Swift.stride(from: rank, to: total, by: replicas).map { order[$0] }
    }
}
