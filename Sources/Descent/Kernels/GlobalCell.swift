/// A process-wide value read on every op (the grad mode, the thread count, the GEMM backend).
/// It lives behind a pointer allocated once, so reading it costs a load, not the dynamic
/// exclusivity bookkeeping Swift does for every access to a global `var`.
final class GlobalCell<T> {
    private let pointer: UnsafeMutablePointer<T>
    init(_ value: T) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: value)
    }
    var value: T {
        @inline(__always) get { pointer.pointee }
        @inline(__always) set { pointer.pointee = newValue }
    }
}
