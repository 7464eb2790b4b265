// A module's state dict: reading its parameters and buffers under PyTorch's keys, and loading
// them back with PyTorch's strict and non-strict rules. (IO/StateDict.swift reads and writes
// the files; it knows nothing of modules.)

/// Why `loadStateDict` refused a state dict: every missing, unexpected or wrongly shaped key.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    /// Keys the module expected and the state dict lacked.
    public let missing: [String]
    /// Keys the state dict had and the module does not.
    public let unexpected: [String]
    /// Keys whose tensors have the wrong shape: (key, expected shape, found shape).
    public let mismatched: [String]
    /// PyTorch's wording: `error loading state dict: missing keys: …; unexpected keys: …`.
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { parts.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        if !mismatched.isEmpty { parts.append("size mismatch: " + mismatched.joined(separator: "; ")) }
        return "error loading state dict: " + parts.joined(separator: "; ")
    }
}

/// The keys a non-strict `loadStateDict` skipped, as PyTorch's `_IncompatibleKeys`.
public struct IncompatibleKeys: Equatable, Sendable {
    /// Keys of the module that the state dict did not have (left unchanged).
    public let missing: [String]
    /// Keys of the state dict that the module does not have (ignored).
    public let unexpected: [String]
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
    /// dtypes), as PyTorch's `load_state_dict`. With `strict` (the default), any missing or
    /// unexpected key is an error; a shape mismatch always is. Nothing is changed when an error
    /// is thrown. Returns the keys that were missing from `state` and those it had that this
    /// module has not (both empty after a strict load), as PyTorch's `_IncompatibleKeys`.
    @discardableResult
    public func loadStateDict(_ state: StateDict, strict: Bool = true) throws -> IncompatibleKeys {
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
        return IncompatibleKeys(missing: missing, unexpected: unexpected)
    }
}
