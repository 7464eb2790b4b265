extension Tensor {
    /// Whether gradients flow to this tensor: a leaf marked so, or the result of an op on such.
    /// Only leaves can be changed, and only floating-point tensors can require a gradient.
    public var requiresGrad: Bool {
        get { isLeafRequiringGrad || (gradNode.map { !$0.isAccumulator } ?? false) }
        set {
            check(isLeaf, "[requiresGrad] can only be changed on a leaf tensor; use detach() for a non-leaf")
            check(!newValue || dtype.isFloatingPoint,
                  "[requiresGrad] only floating-point tensors can require gradients, got \(dtype)")
            isLeafRequiringGrad = newValue
            if !newValue { gradNode = nil }
        }
    }

    /// Whether this tensor was created by the user rather than by an op that recorded a graph.
    public var isLeaf: Bool { gradNode.map { $0.isAccumulator } ?? true }

    /// The name of the op that produced this tensor in the graph, or nil for a leaf.
    public var gradFn: String? { isLeaf ? nil : gradNode?.op }

    /// Sets `requiresGrad` and returns self, for chaining: `Tensor.randn([3]).requiringGrad()`.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// A tensor sharing this one's data, cut from the graph (never requires a gradient).
    public func detach() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Keeps the gradient of this non-leaf in `grad` during `backward()`.
    public func retainGrad() {
        if isLeaf { return }
        gradNode?.retained = self
    }

    /// Clears the accumulated gradient (`grad = nil`, as PyTorch's `set_to_none=True`).
    public func zeroGrad() { grad = nil }

    /// Computes the gradient of this tensor with respect to every leaf that requires one,
    /// adding it to the leaves' `grad`.
    ///
    /// - Parameters:
    ///   - gradient: dL/d(self), same shape as self; nil for a one-element tensor (means 1).
    ///   - retainGraph: keep the graph for another backward pass. Otherwise the graph is freed
    ///     as the pass goes, and a second pass through it stops with an error.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        check(requiresGrad, "[backward] the tensor does not require grad and has no grad_fn")
        let seed: Tensor
        if let gradient {
            check(gradient.shape == shape,
                  "[backward] gradient of shape \(Shape.describe(gradient.shape)) does not match the tensor's shape \(Shape.describe(shape))")
            seed = gradient.dtype == dtype ? gradient : gradient.to(dtype)
        } else {
            check(count == 1, "[backward] grad can be implicitly created only for one-element outputs; got shape \(Shape.describe(shape)); pass a gradient")
            seed = Tensor.full(shape, 1, dtype: dtype)
        }
        Autocast.disabled { withNoGrad { Autograd.run(from: ensureGradNode(), seed: seed, retainGraph: retainGraph) } }
    }

    /// The node gradients flow into: the op's node, or the leaf's accumulating node.
    func ensureGradNode() -> GradNode {
        if let gradNode { return gradNode }
        check(isLeafRequiringGrad, "[autograd] tensor does not require grad")
        let node = GradNode(accumulating: self)
        gradNode = node
        return node
    }

    /// Whether an op on these inputs must record a graph node.
    @inline(__always) static func needsGrad(_ a: Tensor) -> Bool {
        GradMode.enabled && (a.isLeafRequiringGrad || a.gradNode != nil)
    }

    @inline(__always) static func needsGrad(_ a: Tensor, _ b: Tensor) -> Bool {
        GradMode.enabled && (a.isLeafRequiringGrad || a.gradNode != nil || b.isLeafRequiringGrad || b.gradNode != nil)
    }

    static func needsGrad(_ ts: [Tensor]) -> Bool {
        GradMode.enabled && ts.contains { $0.isLeafRequiringGrad || $0.gradNode != nil }
    }

    /// Records the op that produced `self` from `inputs`. `backward` maps the output gradient to
    /// one gradient per input (nil where none is needed); gradients of broadcast inputs may be
    /// returned in the output's shape: the engine sums them back to each input's shape.
    /// Backward rules must save detached outputs (`detach()`), never `self`, to avoid a cycle.
    func record(_ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) {
        let edges = inputs.map { t -> GradNode.Edge? in
            t.requiresGrad ? GradNode.Edge(node: t.ensureGradNode(), shape: t.shape, dtype: t.dtype) : nil
        }
        let state = ThreadState.current
        // A node recorded inside an autocast product computes its backward products on bfloat16
        // values too (ThreadState.bfloat16Operands).
        let node = GradNode(op: op, inputs: edges,
                            backward: state.bfloat16Operands ? { g in Kernels.withBFloat16Operands { backward(g) } } : backward)
        gradNode = node
        if state.detectAnomaly {
            let site = CallSite()
            node.callSite = site
            node.inputShapes = inputs.map(\.shape)
            Anomaly.checkForward(op, output: self, inputs: inputs, site: site)
        }
    }
}

/// The backward engine: an iterative topological sort and one reverse sweep.
enum Autograd {
    static func run(from root: GradNode, seed: Tensor, retainGraph: Bool) {
        // Post-order DFS without recursion: inputs come before their consumers.
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>([ObjectIdentifier(root)])
        var stack: [(GradNode, Int)] = [(root, 0)]
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let edge = node.inputs[next], visited.insert(ObjectIdentifier(edge.node)).inserted {
                    stack.append((edge.node, 0))
                }
            } else {
                order.append(node)
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        // Gradient buffers the engine allocated itself and that nothing else references: only
        // these are accumulated into in place.
        var owned = Set<ObjectIdentifier>()
        for node in order.reversed() {
            guard var g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            let ownedByEngine = owned.remove(ObjectIdentifier(g)) != nil
            if node.isAccumulator {
                if let v = node.variable {
                    accumulate(consume g, into: v, canTake: ownedByEngine)
                    for (_, hook) in node.postAccumulateHooks { hook(v) }
                }
                continue
            }
            check(!node.released, "[backward] trying to backward through the graph a second time (\(node.op)): its saved tensors were freed after the first backward; pass retainGraph: true to the first call")
            if let r = node.retained { accumulate(g, into: r) }
            // A gradient nothing else references (not the seed, not retained, not checked
            // afterwards by anomaly detection) may be overwritten by the rule.
            let state = ThreadState.current, outer = state.disposableGradient
            let alone = node.retained == nil && node.callSite == nil && holdsOnlyReference(&g)
            state.disposableGradient = alone ? ObjectIdentifier(g) : nil
            var inputGrads = node.backward!(g)
            state.disposableGradient = outer
            if node.callSite != nil { Anomaly.checkBackward(node, received: g, returned: inputGrads) }
            for (i, edge) in node.inputs.enumerated() where i < inputGrads.count {
                // Taken out of the array, so that a gradient the rule made fresh is held here alone.
                guard let edge, let ig = inputGrads[i] else { continue }
                inputGrads[i] = nil
                let key = ObjectIdentifier(edge.node)
                if let window = node.window {
                    // Add the window's gradient into a full-size buffer of the input's shape.
                    var buffer = grads[key]
                    if buffer == nil || !owned.contains(ObjectIdentifier(buffer!)) {
                        let fresh = buffer.map { Kernels.copyToContiguous($0.dtype == edge.dtype ? $0 : $0.to(edge.dtype)) }
                            ?? Tensor.zeros(edge.shape, dtype: edge.dtype)
                        owned.insert(ObjectIdentifier(fresh))
                        grads[key] = fresh
                        buffer = fresh
                    }
                    let b = buffer!
                    let target = Tensor(storage: b.storage, shape: ig.shape, strides: b.strides,
                                        offset: b.offset + window.start * b.strides[window.dim])
                    Kernels.addInPlace(target, ig.dtype == edge.dtype ? ig : ig.to(edge.dtype))
                    continue
                }
                var gi: Tensor
                if ig.shape == edge.shape { gi = consume ig } else { gi = ig.sumToShape(edge.shape) }
                if gi.dtype != edge.dtype { gi = gi.to(edge.dtype) }
                if var existing = grads.removeValue(forKey: key) {
                    // Summed in place into a buffer of the engine's, or into one nothing else holds.
                    if owned.contains(ObjectIdentifier(existing)) || holdsOnlyReference(&existing) {
                        existing.holdsBFloat16Values = false
                        Kernels.addInPlace(existing, gi)
                        owned.insert(ObjectIdentifier(existing))
                        grads[key] = existing
                    } else if holdsOnlyReference(&gi) {
                        gi.holdsBFloat16Values = false
                        Kernels.addInPlace(gi, existing)
                        owned.insert(ObjectIdentifier(gi))
                        grads[key] = gi
                    } else {
                        let sum = existing + gi
                        owned.insert(ObjectIdentifier(sum))
                        grads[key] = sum
                    }
                } else {
                    grads[key] = gi
                }
            }
            if !retainGraph { node.release() }
        }
        runQueuedCallbacks()
    }

    /// Adds `g` to `t.grad`. The first gradient is copied so that no gradient aliases another,
    /// unless `canTake` (a buffer the engine allocated and nothing else references) or `g` is
    /// provably alone: this is the only reference to the tensor, and the tensor the only
    /// reference to its storage, so no view, saved tensor or user's tensor shares it (a product's
    /// fresh weight gradient, say).
    static func accumulate(_ g: consuming Tensor, into t: Tensor, canTake: Bool = false) {
        if let existing = t.grad {
            t.grad = existing + g
            return
        }
        let alone = holdsOnlyReference(&g)
        // A kernel's mark on its fresh output (`holdsBFloat16Values`) is for autocast's rounding
        // that follows at once, never for a gradient users hold and may change in place.
        g.holdsBFloat16Values = false
        t.grad = (canTake || alone) && g.isContiguous ? g : Kernels.copyToContiguous(g)
    }

    /// Whether the backward rule now running may write its result over its incoming gradient `g`:
    /// the engine held the only reference to it (`ThreadState.disposableGradient`).
    static func mayOverwrite(_ g: Tensor) -> Bool { ThreadState.current.disposableGradient == ObjectIdentifier(g) }

    /// Whether `t` is the only reference to its tensor, and the tensor the only reference to its
    /// whole, contiguous storage: no view, saved tensor or user's tensor shares it, so that it may
    /// be written in place.
    static func holdsOnlyReference(_ t: inout Tensor) -> Bool {
        isKnownUniquelyReferenced(&t) && isKnownUniquelyReferenced(&t.storage) && t.storage.count == t.count && t.isContiguous
    }
}
