/// Hooks into the backward pass, as PyTorch's `register_post_accumulate_grad_hook` and the
/// engine's queued callbacks: what data-parallel training needs to start reducing a bucket of
/// gradients while backward is still computing the rest.

/// A registered hook; `remove()` unregisters it.
public final class GradHookHandle {
    private weak var node: GradNode?
    private let id: Int

    init(node: GradNode, id: Int) {
        self.node = node
        self.id = id
    }

    /// Unregisters the hook.
    public func remove() { node?.postAccumulateHooks.removeAll { $0.id == id } }
}

extension Tensor {
    /// Calls `hook` with this leaf each time backward has added a gradient into its `grad`
    /// (after the addition: `grad` holds the sum so far). PyTorch's
    /// `register_post_accumulate_grad_hook`. Hooks run on the thread that runs backward, in
    /// the order they were registered.
    @discardableResult
    public func registerPostAccumulateGradHook(_ hook: @escaping (Tensor) -> Void) -> GradHookHandle {
        check(isLeaf && requiresGrad, "[registerPostAccumulateGradHook] only a leaf tensor that requires grad accumulates a gradient")
        let node = ensureGradNode()
        let id = (node.postAccumulateHooks.map(\.id).max() ?? 0) + 1
        node.postAccumulateHooks.append((id, hook))
        return GradHookHandle(node: node, id: id)
    }
}

extension Autograd {
    /// Runs `callback` once the backward pass in progress on this thread has finished (after
    /// every gradient reached its leaf), as PyTorch's `Variable._execution_engine.queue_callback`.
    static func queueCallback(_ callback: @escaping () -> Void) {
        ThreadState.current.backwardCallbacks.append(callback)
    }

    /// Runs and clears the callbacks queued during a backward pass.
    static func runQueuedCallbacks() {
        let state = ThreadState.current
        while !state.backwardCallbacks.isEmpty {
            let callbacks = state.backwardCallbacks
            state.backwardCallbacks = []
            for callback in callbacks { callback() }
        }
    }
}
