/// Builds a list of modules from a block, for `Sequential { … }`.
@resultBuilder
public enum ModuleBuilder {
    /// One module of the block.
    public static func buildExpression(_ module: Module) -> [Module] { [module] }
    /// Several modules at once (an array built in the block).
    public static func buildExpression(_ modules: [Module]) -> [Module] { modules }
    /// The block's modules in order.
    public static func buildBlock(_ parts: [Module]...) -> [Module] { parts.flatMap { $0 } }
    /// The modules of an `if` without `else`, when it ran.
    public static func buildOptional(_ part: [Module]?) -> [Module] { part ?? [] }
    /// The modules of an `if` branch.
    public static func buildEither(first part: [Module]) -> [Module] { part }
    /// The modules of an `else` branch.
    public static func buildEither(second part: [Module]) -> [Module] { part }
    /// The modules of a `for` loop.
    public static func buildArray(_ parts: [[Module]]) -> [Module] { parts.flatMap { $0 } }
}

/// Runs its children in order, each on the previous one's output. Children are named "0",
/// "1", … (parameter-free ones included), so state-dict keys match PyTorch's `nn.Sequential`.
///
/// ```swift
/// let model = Sequential {
///     Linear(784, 128)
///     ReLU()
///     Linear(128, 10)
/// }
/// ```
public final class Sequential: Module {
    /// The children in order.
    public private(set) var layers: [Module]

    /// - Parameter layers: The modules to run in order, named "0", "1", ….
    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
        for (i, m) in layers.enumerated() { registerModule(String(i), m) }
    }

    /// - Parameter build: A block listing the modules in order (`if`, `for` allowed).
    public convenience init(@ModuleBuilder _ build: () -> [Module]) { self.init(build()) }

    /// Appends a module (named by its index).
    public func append(_ module: Module) {
        registerModule(String(layers.count), module)
        layers.append(module)
    }

    /// The child at `index`.
    public subscript(index: Int) -> Module { layers[index] }
    /// The number of children.
    public var count: Int { layers.count }

    public override func forward(_ input: Tensor) -> Tensor {
        layers.reduce(input) { $1($0) }
    }
}

/// Holds modules in a list, registered as "0", "1", … (like `nn.ModuleList`); it has no
/// `forward` of its own.
public final class ModuleList: Module {
    /// The modules in order.
    public private(set) var modules: [Module]

    /// - Parameter modules: The modules to hold, named "0", "1", ….
    public init(_ modules: [Module] = []) {
        self.modules = modules
        super.init()
        for (i, m) in modules.enumerated() { registerModule(String(i), m) }
    }

    /// Appends a module (named by its index).
    public func append(_ module: Module) {
        registerModule(String(modules.count), module)
        modules.append(module)
    }

    /// The module at `index`.
    public subscript(index: Int) -> Module { modules[index] }
    /// The number of modules.
    public var count: Int { modules.count }
}
