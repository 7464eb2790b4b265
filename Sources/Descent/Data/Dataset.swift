// Data sets as PyTorch's `torch.utils.data`: a dataset of (input, target) examples, tensors
// held in memory, subsets and random splits. `DataLoader` batches them.

/// One example of a data set: an input and its target (a class index, a value, …).
public struct Example {
    /// The input, e.g. an image (C, H, W).
    public var input: Tensor
    /// The target, e.g. a 0-d int64 class index.
    public var target: Tensor

    /// - Parameters:
    ///   - input: The input.
    ///   - target: The target.
    public init(input: Tensor, target: Tensor) { self.input = input; self.target = target }
}

/// A batch of examples: the inputs and the targets stacked along a new first dim.
public struct Batch {
    /// The inputs, (B, …).
    public var inputs: Tensor
    /// The targets, (B, …).
    public var targets: Tensor

    /// - Parameters:
    ///   - inputs: The inputs, (B, …).
    ///   - targets: The targets, (B, …).
    public init(inputs: Tensor, targets: Tensor) { self.inputs = inputs; self.targets = targets }

    /// The number of examples.
    public var count: Int { inputs.shape.first ?? 0 }

    /// The default collate step (PyTorch's `default_collate` for tensors): stacks the inputs
    /// and the targets of `examples` (which must have equal shapes) along a new first dim.
    public static func collate(_ examples: [Example]) -> Batch {
        check(!examples.isEmpty, "[collate] expected at least one example")
        return Batch(inputs: Tensor.stack(examples.map(\.input)), targets: Tensor.stack(examples.map(\.target)))
    }
}

/// A data set: `count` examples read by index, as PyTorch's map-style `Dataset`.
///
/// Conform a type of your own to feed `DataLoader` from any source; `batch(at:)` has a default
/// (read each example, stack them) that a data set held in tensors replaces with one gather.
public protocol Dataset {
    /// The number of examples.
    var count: Int { get }
    /// The example at `index` (0 ..< count).
    subscript(index: Int) -> Example { get }
    /// The examples at `indices` as one batch.
    func batch(at indices: [Int]) -> Batch
}

extension Dataset {
    /// Reads each example and stacks them (`Batch.collate`).
    public func batch(at indices: [Int]) -> Batch { Batch.collate(indices.map { self[$0] }) }
}

/// Examples held as the rows of two tensors (PyTorch's `TensorDataset`): example i is
/// (inputs[i], targets[i]).
public struct TensorDataset: Dataset {
    /// The inputs, (N, …).
    public let inputs: Tensor
    /// The targets, (N, …).
    public let targets: Tensor

    /// - Parameters:
    ///   - inputs: The inputs, one example per row of dim 0.
    ///   - targets: The targets, as many rows as `inputs`.
    public init(inputs: Tensor, targets: Tensor) {
        check(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
              "[TensorDataset] inputs \(Shape.describe(inputs.shape)) and targets \(Shape.describe(targets.shape)) must have the same size in dim 0")
        self.inputs = inputs.detach()
        self.targets = targets.detach()
    }

    /// The number of examples.
    public var count: Int { inputs.shape[0] }

    /// Row `index` of the inputs and of the targets.
    public subscript(index: Int) -> Example {
        check(index >= 0 && index < count, "[TensorDataset] index \(index) is out of range for \(count) examples")
        return Example(input: inputs[index], target: targets[index])
    }

    /// Rows `indices` of both tensors, gathered at once.
    public func batch(at indices: [Int]) -> Batch {
        let index = Tensor(indices)
        return Batch(inputs: inputs.indexSelect(dim: 0, index: index), targets: targets.indexSelect(dim: 0, index: index))
    }
}

/// The examples of `base` at `indices`, in that order (PyTorch's `Subset`).
public struct Subset<Base: Dataset>: Dataset {
    /// The whole data set.
    public let base: Base
    /// The indices into `base` that make up this subset.
    public let indices: [Int]

    /// - Parameters:
    ///   - base: The whole data set.
    ///   - indices: Indices into `base` (each in 0 ..< base.count).
    public init(_ base: Base, indices: [Int]) {
        check(indices.allSatisfy { $0 >= 0 && $0 < base.count }, "[Subset] an index is out of range for \(base.count) examples")
        self.base = base
        self.indices = indices
    }

    /// The number of examples.
    public var count: Int { indices.count }
    /// Example `indices[index]` of the base.
    public subscript(index: Int) -> Example { base[indices[index]] }
    /// The base's batch of the mapped indices.
    public func batch(at indices: [Int]) -> Batch { base.batch(at: indices.map { self.indices[$0] }) }
}

/// Splits `dataset` at random into subsets of the given sizes (PyTorch's `random_split`),
/// drawing the permutation from `generator`.
/// - Parameters:
///   - dataset: The data set to split.
///   - lengths: The sizes of the parts, summing to `dataset.count`.
///   - generator: The random source (the global `generator` by default).
public func randomSplit<D: Dataset>(_ dataset: D, lengths: [Int], generator: inout Generator) -> [Subset<D>] {
    check(lengths.allSatisfy { $0 >= 0 } && lengths.reduce(0, +) == dataset.count,
          "[randomSplit] the lengths \(lengths) must be non-negative and sum to the data set's \(dataset.count) examples")
    var order = Array(0..<dataset.count)
    order.shuffle(using: &generator)
    var start = 0
    return lengths.map { n in
        defer { start += n }
        return Subset(dataset, indices: Array(order[start..<start + n]))
    }
}

/// Splits `dataset` at random into parts of the given fractions of it (summing to 1); the
/// examples left by rounding down go one each to the first parts, as PyTorch does.
/// - Parameters:
///   - dataset: The data set to split.
///   - fractions: The shares of the parts, each in [0, 1], summing to 1.
///   - generator: The random source (the global `generator` by default).
public func randomSplit<D: Dataset>(_ dataset: D, fractions: [Double], generator: inout Generator) -> [Subset<D>] {
    check(fractions.allSatisfy { $0 >= 0 && $0 <= 1 } && Swift.abs(fractions.reduce(0, +) - 1) < 1e-9,
          "[randomSplit] the fractions \(fractions) must be in [0, 1] and sum to 1")
    var lengths = fractions.map { Int(($0 * Double(dataset.count)).rounded(.down)) }
    var rest = dataset.count - lengths.reduce(0, +)
    var i = 0
    while rest > 0 { lengths[i % lengths.count] += 1; rest -= 1; i += 1 }
    return randomSplit(dataset, lengths: lengths, generator: &generator)
}

/// `randomSplit(_:lengths:generator:)` drawing from the global generator.
public func randomSplit<D: Dataset>(_ dataset: D, lengths: [Int]) -> [Subset<D>] {
    randomSplit(dataset, lengths: lengths, generator: &Descent.generator)
}

/// `randomSplit(_:fractions:generator:)` drawing from the global generator.
public func randomSplit<D: Dataset>(_ dataset: D, fractions: [Double]) -> [Subset<D>] {
    randomSplit(dataset, fractions: fractions, generator: &Descent.generator)
}
