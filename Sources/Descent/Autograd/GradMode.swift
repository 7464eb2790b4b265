/// Whether ops record the autograd graph: a setting of the calling thread, as in PyTorch.
enum GradMode {
    static var enabled: Bool {
        @inline(__always) get { ThreadState.current.gradEnabled }
        set { ThreadState.current.gradEnabled = newValue }
    }
}

/// Runs `body` with gradient recording off: ops inside record nothing (no graph, no saved
/// tensors), as under PyTorch's `torch.no_grad()`. The setting is the calling thread's: other
/// threads keep recording.
@discardableResult
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.enabled
    GradMode.enabled = false
    defer { GradMode.enabled = previous }
    return try body()
}

/// Runs `body` with gradient recording on (inside a `withNoGrad` block, for example).
@discardableResult
public func withGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.enabled
    GradMode.enabled = true
    defer { GradMode.enabled = previous }
    return try body()
}

/// Whether ops currently record the autograd graph.
public var isGradEnabled: Bool { GradMode.enabled }
