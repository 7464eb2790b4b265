/// Averages the gradients of data-parallel replicas in buckets, overlapped with backward
/// (`DistributedDataParallel`'s engine, PyTorch's `Reducer`).
///
/// A hook on each parameter copies its gradient into its bucket's flat buffer as soon as
/// backward has accumulated it; once a bucket is full, and every bucket before it has started,
/// its in-place all-reduce starts. When the backward pass ends, buckets not yet started (a
/// parameter without a gradient on this rank contributes zeros) start in order, all are waited
/// for, divided by the rank count, and copied back into the parameters' `grad`.
final class GradientReducer {
    struct Bucket {
        var parameterIndices: [Int]
        var offsets: [Int]
        var buffer: Tensor
        var pending = 0
        var request: Kernels.MPI.Request?
    }

    let parameters: [Tensor]
    let group: ProcessGroup
    private(set) var buckets: [Bucket] = []
    /// Off inside `noSync`.
    var enabled = true
    private var location: [ObjectIdentifier: (bucket: Int, slot: Int)] = [:]
    private var arrived: [Bool]
    private var nextToStart = 0
    private var inPass = false
    private var hooks: [GradHookHandle] = []

    init(parameters: [Tensor], group: ProcessGroup, capBytes: Int) {
        self.parameters = parameters
        self.group = group
        arrived = [Bool](repeating: false, count: parameters.count)
        // Buckets from the last parameter to the first, one dtype per bucket.
        var current: [Int] = [], bytes = 0
        func close() {
            guard !current.isEmpty else { return }
            var offsets: [Int] = [], total = 0
            for i in current {
                offsets.append(total)
                total += parameters[i].count
            }
            buckets.append(Bucket(parameterIndices: current, offsets: offsets,
                                  buffer: Tensor.zeros([total], dtype: parameters[current[0]].dtype)))
            current = []
            bytes = 0
        }
        for i in parameters.indices.reversed() {
            let p = parameters[i]
            if let first = current.first, parameters[first].dtype != p.dtype || bytes >= capBytes { close() }
            current.append(i)
            bytes += p.count * p.dtype.byteSize
        }
        close()
        for (b, bucket) in buckets.enumerated() {
            for (slot, i) in bucket.parameterIndices.enumerated() { location[ObjectIdentifier(parameters[i])] = (b, slot) }
        }
        guard group.worldSize > 1 else { return }
        for p in parameters {
            hooks.append(p.registerPostAccumulateGradHook { [weak self] p in self?.gradientReady(p) })
        }
    }

    deinit { for h in hooks { h.remove() } }

    /// The slice of a bucket's buffer that holds one parameter's gradient.
    private func slice(_ b: Int, _ slot: Int) -> Tensor {
        let bucket = buckets[b], p = parameters[bucket.parameterIndices[slot]]
        return Tensor(storage: bucket.buffer.storage, shape: p.shape, strides: Shape.contiguousStrides(p.shape),
                      offset: bucket.buffer.offset + bucket.offsets[slot])
    }

    private func gradientReady(_ p: Tensor) {
        guard enabled, let (b, slot) = location[ObjectIdentifier(p)] else { return }
        if !inPass { beginPass() }
        let index = buckets[b].parameterIndices[slot]
        guard !arrived[index], let grad = p.grad else { return }
        arrived[index] = true
        Kernels.copy(grad, into: slice(b, slot))
        buckets[b].pending -= 1
        startReadyBuckets()
        // Let MPI progress the buckets in flight while backward goes on.
        for i in 0..<nextToStart where buckets[i].request != nil { _ = group.poll(&buckets[i].request!) }
    }

    private func beginPass() {
        inPass = true
        nextToStart = 0
        for i in buckets.indices { buckets[i].pending = buckets[i].parameterIndices.count }
        for i in arrived.indices { arrived[i] = false }
        Autograd.queueCallback { [weak self] in self?.finishPass() }
    }

    private func startReadyBuckets() {
        while nextToStart < buckets.count && buckets[nextToStart].pending == 0 {
            buckets[nextToStart].request = group.start(buckets[nextToStart].buffer)
            nextToStart += 1
        }
    }

    private func finishPass() {
        inPass = false
        for b in nextToStart..<buckets.count {
            for (slot, i) in buckets[b].parameterIndices.enumerated() where !arrived[i] {
                if let grad = parameters[i].grad { Kernels.copy(grad, into: slice(b, slot)) } else { Kernels.fill(slice(b, slot), 0) }
            }
            buckets[b].pending = 0
        }
        startReadyBuckets()
        for b in buckets.indices {
            group.wait(&buckets[b].request!)
            buckets[b].request = nil
            buckets[b].buffer.mulAssign(Tensor(1 / Double(group.worldSize), dtype: buckets[b].buffer.dtype))
            for (slot, i) in buckets[b].parameterIndices.enumerated() {
                parameters[i].grad = Kernels.copyToContiguous(slice(b, slot))
            }
        }
    }
}
