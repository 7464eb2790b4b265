/// The base class of layers and models, as PyTorch's `nn.Module`.
///
/// A module's parameters, buffers and child modules have names, in order; from those come
/// `parameters()`, `stateDict()` with PyTorch's keys (`0.weight`, `bn.running_mean`, …),
/// `loadStateDict`, recursive `train()`/`eval()`, and a printed description like PyTorch's.
///
/// As in PyTorch, stored properties register themselves: a property holding a `Module` becomes
/// a child, and one holding a leaf `Tensor` that requires a gradient becomes a parameter, under
/// the property's name, in declaration order (superclass properties first). This happens once,
/// at the first use of the module's structure (`parameters()`, `stateDict()`, `print`, …),
/// so nothing a subclass stores can be forgotten. Register by hand (`registerParameter`,
/// `registerBuffer`, `registerModule`) to choose another name or order, for buffers (tensors
/// without gradient, such as running statistics), and for modules held in a collection (or
/// use `ModuleList`); an array of modules none of which is registered stops with a message.
///
/// ```swift
/// final class TwoLayer: Module {
///     let fc1 = Linear(784, 128), fc2 = Linear(128, 10)   // children "fc1" and "fc2"
///     override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }
/// }
/// ```
open class Module: CustomStringConvertible {
    /// Whether the module is in training mode (dropout active, batch statistics in batch norm).
    public private(set) var isTraining = true
    private var parameterSlots: [(name: String, tensor: Tensor?)] = []
    private var bufferSlots: [(name: String, tensor: Tensor?)] = []
    private var childSlots: [(name: String, module: Module)] = []
    private var propertiesRegistered = false

    /// A module with no parameters, buffers or children yet; stored properties register
    /// themselves at first use (see the type's documentation).
    public init() {}

    /// The computation. Subclasses override it; call the module itself (`model(x)`).
    open func forward(_ input: Tensor) -> Tensor {
        checkFailure("[\(typeName)] forward(_:) is not implemented")
    }

    /// Runs `forward`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let state = ThreadState.current
        guard state.detectAnomaly else { return forward(input) }
        state.modules.append(String(describing: type(of: self)))
        defer { state.modules.removeLast() }
        return forward(input)
    }

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

    /// Registers, once, the stored properties of subclasses that hold a module or a parameter
    /// and were not registered by hand (see the type's documentation).
    private func registerProperties() {
        guard !propertiesRegistered else { return }
        propertiesRegistered = true
        var mirrors: [Mirror] = []
        var next: Mirror? = Mirror(reflecting: self)
        while let mirror = next, mirror.subjectType != Module.self {
            mirrors.append(mirror)
            next = mirror.superclassMirror
        }
        var known = Set(childSlots.map { ObjectIdentifier($0.module) })
        known.formUnion((parameterSlots + bufferSlots).compactMap { $0.tensor.map(ObjectIdentifier.init) })
        for mirror in mirrors.reversed() {
            for case let (label?, value) in mirror.children where !label.contains("$") {
                switch value {
                case let module as Module where module !== self && !known.contains(ObjectIdentifier(module)):
                    registerModule(label, module)
                    known.insert(ObjectIdentifier(module))
                case let tensor as Tensor where tensor.requiresGrad && tensor.isLeaf && !known.contains(ObjectIdentifier(tensor)):
                    registerParameter(label, tensor)
                    known.insert(ObjectIdentifier(tensor))
                case let modules as [Module] where !modules.isEmpty && !modules.contains(where: { known.contains(ObjectIdentifier($0)) }):
                    checkFailure("[\(typeName)] property '\(label)' holds \(modules.count) modules that are not registered: keep them in a ModuleList (as PyTorch's nn.ModuleList) or register each with registerModule")
                default: continue
                }
            }
        }
    }

    /// The parameter registered as `name` on this module (not its children).
    public func parameter(_ name: String) -> Tensor? {
        registerProperties()
        return parameterSlots.first { $0.name == name }?.tensor
    }
    /// The buffer registered as `name` on this module (not its children).
    public func buffer(_ name: String) -> Tensor? { bufferSlots.first { $0.name == name }?.tensor }

    // MARK: Traversal

    /// Direct children, in registration order.
    public var children: [Module] { namedChildren.map(\.module) }
    /// Direct children with their names.
    public var namedChildren: [(name: String, module: Module)] {
        registerProperties()
        return childSlots
    }

    /// This module and every descendant with its dotted path ("" for self), each once.
    public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(String, Module)] = [(prefix, self)]
        while let (name, m) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            out.append((name, m))
            for (childName, child) in m.namedChildren.reversed() {
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
        registerProperties()
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
        registerProperties()
        return parameterSlots.compactMap { n, t in t.map { (n, $0) } } + bufferSlots.compactMap { n, t in t.map { (n, $0) } }
    }
}

extension Module {
    /// Runs `body` on `x`, or on `x` with a batch dim of 1 added (and removed from the result)
    /// when `x` is unbatched, one dim short of `batchedRank` (PyTorch's layers take both).
    func batchingUnbatched(_ x: Tensor, batchedRank: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        x.rank == batchedRank - 1 ? body(x.unsqueeze(0)).squeeze(dim: 0) : body(x)
    }

    /// Stops unless `x` has the dtype of the layer's `weight` (PyTorch refuses a float64 input
    /// to a float32 layer too).
    func checkInputType(_ x: Tensor, _ weight: Tensor) {
        check(x.dtype == weight.dtype, "[\(typeName)] expected input of dtype \(weight.dtype) (the layer's), got \(x.dtype)")
    }
}
