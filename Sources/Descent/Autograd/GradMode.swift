/// Whether ops record the autograd graph.
enum GradMode {
    static let cell = GlobalCell(true)
    static var enabled: Bool {
        @inline(__always) get { cell.value }
        set { cell.value = newValue }
    }
}

/// Runs `body` with gradient recording off: ops inside record nothing (no graph, no saved
/// tensors), as under PyTorch's `torch.no_grad()`.
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
