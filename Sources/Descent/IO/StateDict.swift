import Foundation

/// A model's state: names to tensors, in PyTorch's order and with PyTorch's keys, so that a
/// file saved here loads with `model.load_state_dict(safetensors.torch.load_file(path))`.
public struct StateDict: Sequence {
    /// The entries in order.
    public var entries: [(key: String, tensor: Tensor)]

    /// A state dict of the given (key, tensor) entries, in order.
    /// - Parameter entries: (key, tensor) pairs, keys unique.
    public init(_ entries: [(key: String, tensor: Tensor)] = []) { self.entries = entries }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }
    /// The number of entries.
    public var count: Int { entries.count }
    /// The tensor stored under `key`, if any.
    public subscript(key: String) -> Tensor? { entries.first { $0.key == key }?.tensor }
    /// The entries in order.
    public func makeIterator() -> IndexingIterator<[(key: String, tensor: Tensor)]> { entries.makeIterator() }

    /// Writes the state as a safetensors file, atomically (temporary file, then rename).
    public func save(to path: String, metadata: [String: String] = ["format": "pt"]) throws {
        try SafeTensors(tensors: entries.map { ($0.key, $0.tensor) }, metadata: metadata).save(to: path)
    }

    /// Reads a state dict from a safetensors file (written by Descent or by PyTorch).
    public static func load(from path: String) throws -> StateDict {
        StateDict(try SafeTensors.load(from: path).tensors.map { ($0.name, $0.tensor) })
    }
}
