/// A set of parameters that an optimizer updates with their own hyperparameters, as an entry of
/// PyTorch's `optimizer.param_groups`: for example no weight decay on biases and norms.
///
/// ```swift
/// let decay = model.namedParameters().filter { $0.name.hasSuffix("weight") }.map(\.tensor)
/// let noDecay = model.namedParameters().filter { !$0.name.hasSuffix("weight") }.map(\.tensor)
/// let optimizer = AdamW([ParameterGroup(decay), ParameterGroup(noDecay, weightDecay: 0)], lr: 1e-3)
/// ```
/// Hyperparameters are kept by PyTorch's names (`lr`, `weight_decay`, `momentum`, …; Adam's
/// `betas` as `beta1` and `beta2`; flags as 0 or 1); those a group does not set come from the
/// optimizer's arguments when the optimizer is created.
public struct ParameterGroup {
    /// The tensors of this group.
    public var parameters: [Tensor]
    /// The hyperparameters by name.
    public var options: [String: Double]

    /// - Parameters:
    ///   - parameters: The tensors of the group (leaves that require a gradient).
    ///   - lr: This group's learning rate (default: the optimizer's).
    ///   - weightDecay: This group's weight decay (default: the optimizer's).
    ///   - options: Other hyperparameters by PyTorch's name, such as `["momentum": 0.5]`.
    public init(_ parameters: [Tensor], lr: Double? = nil, weightDecay: Double? = nil, options: [String: Double] = [:]) {
        self.parameters = parameters
        self.options = options
        if let lr { self.options["lr"] = lr }
        if let weightDecay { self.options["weight_decay"] = weightDecay }
    }

    /// The learning rate.
    public var lr: Double {
        get { options["lr"] ?? 0 }
        set { options["lr"] = newValue }
    }

    /// The weight decay.
    public var weightDecay: Double {
        get { options["weight_decay"] ?? 0 }
        set { options["weight_decay"] = newValue }
    }

    /// The hyperparameter `name`, or nil.
    public subscript(name: String) -> Double? {
        get { options[name] }
        set { options[name] = newValue }
    }
}

/// An optimizer: updates parameters from their gradients, as PyTorch's `torch.optim.Optimizer`.
///
/// ```swift
/// let optimizer: any Optimizer = Adam(model.parameters(), lr: 1e-3)
/// optimizer.zeroGrad()
/// loss.backward()
/// optimizer.step()
/// ```
/// Conforming types: `SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad`. Parameters without a
/// gradient are skipped by `step()`; `zeroGrad()` sets every gradient to nil (PyTorch's
/// `set_to_none=True`). The state (moments, step counts, the groups' hyperparameters) saves to
/// a `StateDict` with PyTorch's layout flattened to keys: `state.3.exp_avg` for parameter 3's
/// first moment, `param_groups.0.lr`, `param_groups.0.params` (the group's parameter indices).
public protocol Optimizer: AnyObject {
    /// The parameter groups, each with its hyperparameters (a schedule changes `lr` here).
    var parameterGroups: [ParameterGroup] { get set }
    /// Applies one update from the current gradients.
    func step()
    /// The optimizer's state: per-parameter buffers and the groups' hyperparameters.
    func stateDict() -> StateDict
    /// Restores a state saved by `stateDict()` of the same optimizer over the same parameters;
    /// throws (changing nothing) for a state of another optimizer or other parameters.
    func loadStateDict(_ state: StateDict) throws
}

extension Optimizer {
    /// Every parameter, group after group (the numbering of the state dict).
    public var parameters: [Tensor] { parameterGroups.flatMap(\.parameters) }

    /// The learning rate of the first group; setting it sets every group's.
    public var lr: Double {
        get { parameterGroups.first?.lr ?? 0 }
        set { for i in parameterGroups.indices { parameterGroups[i].lr = newValue } }
    }

    /// Clears the gradients of every parameter (sets them to nil).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Why an optimizer or a schedule refused a state dict.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public let message: String
    /// The message.
    public var description: String { message }
}

/// The per-parameter buffers of an optimizer and the (de)serialization of its state, shared by
/// every optimizer: each names the buffers it keeps (`exp_avg`, …) and reads and writes them here.
final class OptimizerState {
    let kind: String
    private var buffers: [ObjectIdentifier: [String: Tensor]] = [:]

    init(kind: String) { self.kind = kind }

    /// The buffers of `p` (empty before its first step).
    subscript(p: Tensor) -> [String: Tensor] {
        get { buffers[ObjectIdentifier(p)] ?? [:] }
        set { buffers[ObjectIdentifier(p)] = newValue }
    }

    /// The groups with the optimizer's defaults filled in, each parameter once.
    static func groups(_ groups: [ParameterGroup], defaults: [String: Double], kind: String) -> [ParameterGroup] {
        var seen = Set<ObjectIdentifier>()
        return groups.map { group in
            var g = group
            for (k, v) in defaults where g.options[k] == nil { g.options[k] = v }
            for p in g.parameters {
                check(seen.insert(ObjectIdentifier(p)).inserted, "[\(kind)] a parameter appears in more than one parameter group")
                check(p.dtype.isFloatingPoint, "[\(kind)] can only optimize floating-point tensors, got \(p.dtype)")
            }
            return g
        }
    }

    /// `state.{i}.{name}` for each parameter i's buffers, `param_groups.{g}.{option}` and
    /// `param_groups.{g}.params`.
    func stateDict(_ groups: [ParameterGroup]) -> StateDict {
        var entries: [(key: String, tensor: Tensor)] = []
        var index = 0
        for (g, group) in groups.enumerated() {
            for p in group.parameters {
                for (name, t) in self[p].sorted(by: { $0.key < $1.key }) {
                    entries.append(("state.\(index).\(name)", t.clone()))
                }
                index += 1
            }
            for (name, value) in group.options.sorted(by: { $0.key < $1.key }) {
                entries.append(("param_groups.\(g).\(name)", Tensor(value, dtype: .float64)))
            }
            let first = index - group.parameters.count
            entries.append(("param_groups.\(g).params", Tensor((first..<index).map { Int64($0) })))
        }
        return StateDict(entries)
    }

    /// Restores buffers and hyperparameters from `state`; `allowed` are the buffer names this
    /// optimizer keeps, `together` those every parameter with a state must have (every
    /// parameter, with `everyParameter`). Nothing changes when it throws.
    func load(_ state: StateDict, into groups: inout [ParameterGroup], allowed: Set<String>, together: Set<String>,
              everyParameter: Bool = false) throws {
        func fail(_ m: String) -> OptimizerStateError { OptimizerStateError(message: "[\(kind)] cannot load this state dict: \(m)") }
        let parameters = groups.flatMap(\.parameters)
        var newBuffers: [Int: [String: Tensor]] = [:]
        var newOptions: [Int: [String: Double]] = [:]
        var groupParams: [Int: [Int64]] = [:]
        for (key, t) in state {
            let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
            guard parts.count == 3, let i = Int(parts[1]) else { throw fail("unexpected key '\(key)'") }
            switch parts[0] {
            case "state":
                guard i >= 0 && i < parameters.count else {
                    throw fail("'\(key)' is for parameter \(i), but the optimizer has \(parameters.count) parameters")
                }
                guard allowed.contains(parts[2]) else {
                    throw fail("'\(key)' is a buffer of another optimizer (\(kind) keeps \(allowed.sorted().joined(separator: ", ")))")
                }
                if parts[2] != "step" && t.shape != parameters[i].shape {
                    throw fail("'\(key)' has shape \(Shape.describe(t.shape)), but parameter \(i) has shape \(Shape.describe(parameters[i].shape))")
                }
                newBuffers[i, default: [:]][parts[2]] = t
            case "param_groups":
                guard i >= 0 && i < groups.count else { throw fail("'\(key)' is for group \(i), but the optimizer has \(groups.count) groups") }
                if parts[2] == "params" {
                    groupParams[i] = t.dtype == .int64 ? t.toArray(Int64.self) : []
                } else {
                    guard t.count == 1 else { throw fail("'\(key)' should hold one number, got shape \(Shape.describe(t.shape))") }
                    newOptions[i, default: [:]][parts[2]] = t.itemDouble
                }
            default:
                throw fail("unexpected key '\(key)'")
            }
        }
        for i in parameters.indices where newBuffers[i] != nil || everyParameter {
            let missing = together.subtracting(newBuffers[i]?.keys.map { $0 } ?? [])
            guard missing.isEmpty else { throw fail("parameter \(i) has no \(missing.sorted().joined(separator: ", "))") }
        }
        var first = 0
        for (g, group) in groups.enumerated() {
            let expected = (first..<first + group.parameters.count).map { Int64($0) }
            guard groupParams[g] == expected else {
                throw fail("group \(g) should hold parameters \(expected.first ?? 0)..<\(first + group.parameters.count), the state dict has \(groupParams[g].map { "\($0)" } ?? "none")")
            }
            first += group.parameters.count
        }
        for g in groups.indices { for (k, v) in newOptions[g] ?? [:] { groups[g].options[k] = v } }
        buffers = [:]
        for (i, b) in newBuffers { self[parameters[i]] = b.mapValues { $0.to(parameters[i].dtype).clone() } }
    }
}
