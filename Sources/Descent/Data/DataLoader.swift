import Foundation

/// Batches of a data set, in order or shuffled, as PyTorch's `DataLoader`.
///
/// ```swift
/// let loader = DataLoader(digits.train, batchSize: 64, shuffle: true)
/// for epoch in 1...10 {
///     for batch in loader {                      // a new order every epoch
///         let loss = crossEntropy(model(batch.inputs), batch.targets)
///         …
///     }
/// }
/// ```
/// With `shuffle`, each pass (each `for` loop) draws a new order from the loader's generator
/// (a copy of the given one, or one seeded from the global generator when the loader is made),
/// so the orders are fixed by the seed. With `prefetch` (the default), the next batch is read on
/// a background thread while the caller works on the current one; `Dataset.batch(at:)` (or the
/// `collate` step) must then be safe to call from another thread, as reading tensors is.
public final class DataLoader<D: Dataset>: Sequence {
    /// The data set.
    public let dataset: D
    /// Examples per batch.
    public let batchSize: Int
    /// Whether each pass visits the examples in a new random order.
    public let shuffle: Bool
    /// Whether a last, smaller batch is dropped.
    public let dropLast: Bool
    /// Whether batches are read ahead on a background thread.
    public let prefetch: Bool
    private let collate: (([Example]) -> Batch)?
    /// Where each pass's order comes from instead of `shuffle` (a `DistributedSampler`), if any.
    public let sampler: (any Sampler)?
    /// The source of the shuffled orders (advanced by each pass).
    public var generator: Descent.Generator

    /// - Parameters:
    ///   - dataset: The examples.
    ///   - batchSize: Examples per batch, default 1.
    ///   - shuffle: Visit the examples in a new random order each pass, default false.
    ///   - dropLast: Drop the last batch when it is smaller than `batchSize`, default false.
    ///   - generator: The source of the orders (default: seeded from the global generator now).
    ///   - prefetch: Read the next batch on a background thread, default true.
    ///   - sampler: Gives each pass's indices (then `shuffle` must be false), as PyTorch's
    ///     `sampler=`; default none.
    ///   - collate: Turns a list of examples into a batch (default: `Dataset.batch(at:)`, which
    ///     stacks them).
    public init(_ dataset: D, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false, generator: Descent.Generator? = nil,
                prefetch: Bool = true, sampler: (any Sampler)? = nil, collate: (([Example]) -> Batch)? = nil) {
        check(batchSize >= 1, "[DataLoader] batchSize must be at least 1, got \(batchSize)")
        check(sampler == nil || !shuffle, "[DataLoader] sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.prefetch = prefetch
        self.collate = collate
        self.generator = generator ?? Descent.Generator(seed: Descent.generator.next())
    }

    /// Batches per pass.
    public var count: Int {
        let n = sampler?.count ?? dataset.count
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// The example indices of each batch of the next pass (drawing a new order with `shuffle`).
    func nextOrder() -> [[Int]] {
        var order = sampler?.indices() ?? Array(0..<dataset.count)
        if shuffle { order.shuffle(using: &generator) }
        return (0..<count).map { b in Array(order[(b * batchSize)..<Swift.min((b + 1) * batchSize, order.count)]) }
    }

    private func read(_ indices: [Int]) -> Batch {
        if let collate { return collate(indices.map { dataset[$0] }) }
        return dataset.batch(at: indices)
    }

    /// One pass over the data set.
    public func makeIterator() -> Iterator {
        let batches = nextOrder()
        return Iterator(batches: batches, read: read, background: prefetch && batches.count > 1)
    }

    /// One pass: the batches in order, read ahead on a background thread with `prefetch`.
    public final class Iterator: IteratorProtocol {
        private let batches: [[Int]]
        private let read: ([Int]) -> Batch
        private var position = 0
        private let queue: Prefetcher?

        init(batches: [[Int]], read: @escaping ([Int]) -> Batch, background: Bool) {
            self.batches = batches
            self.read = read
            queue = background ? Prefetcher(batches: batches, read: read) : nil
        }

        deinit { queue?.cancel() }

        /// The next batch, or nil at the end of the pass.
        public func next() -> Batch? {
            if let queue { return queue.take() }
            guard position < batches.count else { return nil }
            defer { position += 1 }
            return read(batches[position])
        }
    }
}

/// Reads batches on a background thread, at most two ahead of the consumer.
private final class Prefetcher: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Batch] = []
    private var produced = 0, taken = 0
    private var cancelled = false
    private let total: Int
    private let depth = 2

    init(batches: [[Int]], read: @escaping ([Int]) -> Batch) {
        total = batches.count
        let thread = Thread { [self] in
            for indices in batches {
                condition.lock()
                while ready.count >= depth && !cancelled { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let batch = read(indices)
                condition.lock()
                ready.append(batch)
                produced += 1
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.name = "Descent.DataLoader"
        thread.start()
    }

    /// The next batch in order, waiting for it; nil after the last.
    func take() -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        guard taken < total else { return nil }
        while ready.isEmpty { condition.wait() }
        taken += 1
        let batch = ready.removeFirst()
        condition.broadcast()
        return batch
    }

    /// Stops the thread after the batch it is reading (the pass was left early).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
