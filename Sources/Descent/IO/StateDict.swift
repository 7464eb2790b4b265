import Foundation

/// A model's state: names to tensors, in PyTorch's order and with PyTorch's keys, so that a
/// file saved here loads with `model.load_state_dict(safetensors.torch.load_file(path))`.
public struct StateDict: Sequence {
    /// The entries in order.
    public var entries: [(key: String, tensor: Tensor)]

    public init(_ entries: [(key: String, tensor: Tensor)] = []) { self.entries = entries }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public subscript(key: String) -> Tensor? { entries.first { $0.key == key }?.tensor }
    public func makeIterator() -> IndexingIterator<[(key: String, tensor: Tensor)]> { entries.makeIterator() }

    /// Writes the state as a safetensors file, atomically (temporary file, then rename).
    public func save(to path: String, metadata: [String: String] = ["format": "pt"]) throws {
        try SafeTensors(tensors: entries.map { ($0.key, $0.tensor) }, metadata: metadata).save(to: path)
    }

    /// Reads a state dict from a safetensors file (written by Descent or by PyTorch).
    public static func load(from path: String) throws -> StateDict {
        StateDict(try SafeTensors.load(path).tensors.map { ($0.name, $0.tensor) })
    }
}

/// Why `loadStateDict` refused a state dict: every missing, unexpected or wrongly shaped key.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    public let missing: [String]
    public let unexpected: [String]
    /// Keys whose tensors have the wrong shape: (key, expected shape, found shape).
    public let mismatched: [String]
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { parts.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        if !mismatched.isEmpty { parts.append("size mismatch: " + mismatched.joined(separator: "; ")) }
        return "error loading state dict: " + parts.joined(separator: "; ")
    }
}

extension Module {
    /// Parameters and buffers by dotted key (`0.weight`, `1.running_mean`, …), as PyTorch.
    /// The tensors are detached views sharing the module's storage.
    public func stateDict() -> StateDict {
        var out: [(String, Tensor)] = []
        for (path, m) in namedModules() {
            for (name, t) in m.ownState {
                out.append((path.isEmpty ? name : path + "." + name, t.detach()))
            }
        }
        return StateDict(out)
    }

    /// Copies values from `state` into this module's parameters and buffers (converting
    /// dtypes). With `strict` (the default), any missing or unexpected key is an error; a
    /// shape mismatch always is. Nothing is changed when an error is thrown.
    public func loadStateDict(_ state: StateDict, strict: Bool = true) throws {
        var targets: [String: Tensor] = [:]
        var order: [String] = []
        for (path, m) in namedModules() {
            for (name, t) in m.ownState {
                let key = path.isEmpty ? name : path + "." + name
                targets[key] = t
                order.append(key)
            }
        }
        let given = Dictionary(state.entries.map { ($0.key, $0.tensor) }, uniquingKeysWith: { _, b in b })
        let missing = order.filter { given[$0] == nil }
        let unexpected = state.keys.filter { targets[$0] == nil }
        let mismatched = order.compactMap { key -> String? in
            guard let src = given[key], let dst = targets[key], src.shape != dst.shape else { return nil }
            return "\(key): expected \(Shape.describe(dst.shape)), found \(Shape.describe(src.shape))"
        }
        if !mismatched.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError(missing: strict ? missing : [], unexpected: strict ? unexpected : [], mismatched: mismatched)
        }
        withNoGrad {
            for key in order { if let src = given[key] { targets[key]!.assign(src) } }
        }
    }
}
