/// A reference-counted, 64-byte aligned buffer of elements that tensors (and their views) share.
public final class Storage {
    /// The raw memory.
    public let pointer: UnsafeMutableRawPointer
    /// Number of elements.
    public let count: Int
    /// The element type.
    public let dtype: DType

    /// Allocates `count` uninitialized elements of `dtype`.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        let bytes = max(count * dtype.byteSize, 64)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    /// Allocates `count` zeroed elements of `dtype`.
    convenience init(zeros count: Int, dtype: DType) {
        self.init(count: count, dtype: dtype)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: count * dtype.byteSize)
    }

    deinit { pointer.deallocate() }

    /// The memory typed as `T` (which must match `dtype`).
    @inline(__always) func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}
