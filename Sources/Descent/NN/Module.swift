/// The base class of layers and models, as PyTorch's `nn.Module`.
///
/// A module registers its parameters, buffers and child modules by name (in order) with
/// `registerParameter`, `registerBuffer` and `registerModule`; from those come `parameters()`,
/// `stateDict()` with PyTorch's keys (`0.weight`, `bn.running_mean`, …), `loadStateDict`,
/// recursive `train()`/`eval()`, and a printed description like PyTorch's.
///
/// ```swift
/// final class TwoLayer: Module {
///     let fc1 = Linear(784, 128), fc2 = Linear(128, 10)
///     override init() {
///         super.init()
///         registerModule("fc1", fc1)
///         registerModule("fc2", fc2)
///     }
///     override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }
/// }
/// ```
open class Module: CustomStringConvertible {
    /// Whether the module is in training mode (dropout active, batch statistics in batch norm).
    public private(set) var isTraining = true
    private var parameterSlots: [(name: String, tensor: Tensor?)] = []
    private var bufferSlots: [(name: String, tensor: Tensor?)] = []
    private var childSlots: [(name: String, module: Module)] = []

    public init() {}

    /// The computation. Subclasses override it; call the module itself (`model(x)`).
    open func forward(_ input: Tensor) -> Tensor {
        checkFailure("[\(typeName)] forward(_:) is not implemented")
    }

    /// Runs `forward`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }

    // MARK: Registration

    /// Registers a parameter (a leaf that requires a gradient) under `name`; nil reserves the
    /// name (like PyTorch's `bias=None`). Returns the tensor.
    @discardableResult
    public func registerParameter(_ name: String, _ tensor: Tensor?) -> Tensor? {
        checkName(name)
        if let tensor, !tensor.requiresGrad, tensor.isLeaf { tensor.requiresGrad = true }
        replace(&parameterSlots, name, tensor)
        return tensor
    }

    /// Registers a buffer (state saved in the state dict but not trained), e.g. running statistics.
    @discardableResult
    public func registerBuffer(_ name: String, _ tensor: Tensor?) -> Tensor? {
        checkName(name)
        replace(&bufferSlots, name, tensor)
        return tensor
    }

    /// Registers a child module under `name`.
    public func registerModule(_ name: String, _ module: Module) {
        checkName(name)
        if let i = childSlots.firstIndex(where: { $0.name == name }) { childSlots[i].module = module } else { childSlots.append((name, module)) }
    }

    private func checkName(_ name: String) {
        check(!name.isEmpty && !name.contains("."), "[\(typeName)] invalid name '\(name)': it must be non-empty and contain no '.'")
    }

    private func replace(_ slots: inout [(name: String, tensor: Tensor?)], _ name: String, _ t: Tensor?) {
        if let i = slots.firstIndex(where: { $0.name == name }) { slots[i].tensor = t } else { slots.append((name, t)) }
    }

    /// The parameter registered as `name` on this module (not its children).
    public func parameter(_ name: String) -> Tensor? { parameterSlots.first { $0.name == name }?.tensor }
    /// The buffer registered as `name` on this module (not its children).
    public func buffer(_ name: String) -> Tensor? { bufferSlots.first { $0.name == name }?.tensor }

    // MARK: Traversal

    /// Direct children, in registration order.
    public var children: [Module] { childSlots.map(\.module) }
    /// Direct children with their names.
    public var namedChildren: [(name: String, module: Module)] { childSlots }

    /// This module and every descendant with its dotted path ("" for self), each once.
    public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(String, Module)] = [(prefix, self)]
        while let (name, m) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            out.append((name, m))
            for (childName, child) in m.childSlots.reversed() {
                stack.append((name.isEmpty ? childName : name + "." + childName, child))
            }
        }
        return out
    }

    /// Every parameter with its dotted name (shared parameters once), as PyTorch orders them.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Tensor)] = []
        for (path, m) in namedModules() {
            for (name, t) in m.parameterSlots {
                guard let t, seen.insert(ObjectIdentifier(t)).inserted else { continue }
                out.append((path.isEmpty ? name : path + "." + name, t))
            }
        }
        return out
    }

    /// Every parameter (for an optimizer).
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// Every buffer with its dotted name.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        namedModules().flatMap { path, m in
            m.bufferSlots.compactMap { name, t in t.map { (path.isEmpty ? name : path + "." + name, $0) } }
        }
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    // MARK: Modes

    /// Sets training mode on this module and all descendants; returns self.
    @discardableResult
    public func train(_ mode: Bool = true) -> Self {
        for (_, m) in namedModules() { m.isTraining = mode }
        return self
    }

    /// Sets evaluation mode (`train(false)`); returns self.
    @discardableResult
    public func eval() -> Self { train(false) }

    /// Clears the gradients of all parameters.
    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    // MARK: Description

    /// The class name, as PyTorch prints it.
    open var typeName: String { String(describing: type(of: self)) }

    /// The text inside the parentheses of this module's line, like PyTorch's `extra_repr`.
    open var extraDescription: String { "" }

    /// A multi-line description like PyTorch's `print(model)`.
    public var description: String {
        if childSlots.isEmpty { return "\(typeName)(\(extraDescription))" }
        var lines = ["\(typeName)(" + (extraDescription.isEmpty ? "" : extraDescription)]
        for (name, child) in childSlots {
            let text = child.description.split(separator: "\n", omittingEmptySubsequences: false)
                .enumerated().map { $0.offset == 0 ? String($0.element) : "  " + $0.element }.joined(separator: "\n")
            lines.append("  (\(name)): \(text)")
        }
        lines.append(")")
        return lines.joined(separator: "\n")
    }

    // MARK: State dict support

    /// This module's own (name, tensor) entries, parameters then buffers, as PyTorch saves them.
    var ownState: [(name: String, tensor: Tensor)] {
        parameterSlots.compactMap { n, t in t.map { (n, $0) } } + bufferSlots.compactMap { n, t in t.map { (n, $0) } }
    }
}
