/// One node of the autograd graph: the backward rule of the op that produced a tensor, and
/// edges to the nodes of its inputs. A leaf that requires a gradient has an accumulating node
/// (`variable` set) that adds incoming gradients to the leaf's `grad`.
final class GradNode {
    /// An input of the op: the node to send its gradient to, and the input's shape (the engine
    /// sums a broadcast gradient back to it).
    struct Edge {
        let node: GradNode
        let shape: [Int]
        let dtype: DType
    }

    /// The op's name, for error messages and `gradFn`.
    let op: String
    /// Maps the gradient of the output to the gradients of the inputs (nil where not needed).
    var backward: ((Tensor) -> [Tensor?])?
    /// One edge per op input; nil for inputs that do not require a gradient.
    var inputs: [Edge?]
    /// For accumulating (leaf) nodes: the leaf.
    weak var variable: Tensor?
    /// A non-leaf whose `retainGrad()` asked to keep its gradient.
    weak var retained: Tensor?
    /// Set once the backward pass freed this node's saved state.
    var released = false
    /// For views that take a window of their input (narrow, select): the window's dim and
    /// start. Their backward returns the gradient of the window only, and the engine adds it
    /// into the input's gradient in place instead of materializing a zero-padded copy.
    var window: (dim: Int, start: Int)?
    /// Under anomaly detection: where the op was called, and its inputs' shapes.
    var callSite: CallSite?
    var inputShapes: [[Int]] = []
    /// For accumulating (leaf) nodes: hooks called after each gradient is added (Hooks.swift).
    var postAccumulateHooks: [(id: Int, hook: (Tensor) -> Void)] = []

    init(op: String, inputs: [Edge?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }

    init(accumulating variable: Tensor) {
        op = "AccumulateGrad"
        inputs = []
        self.variable = variable
    }

    var isAccumulator: Bool { op == "AccumulateGrad" }

    /// Drops the saved tensors and edges.
    func release() {
        backward = nil
        inputs = []
        released = true
    }

    /// Frees a long chain of nodes iteratively, so that dropping a 100,000-op graph cannot
    /// overflow the stack through nested deinitializers.
    deinit {
        backward = nil
        guard !inputs.isEmpty else { return }
        var pending = inputs.compactMap { $0?.node }
        inputs = []
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) {
                node.backward = nil
                pending.append(contentsOf: node.inputs.compactMap { $0?.node })
                node.inputs = []
            }
        }
    }
}
