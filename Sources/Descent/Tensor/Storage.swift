import Foundation

/// A reference-counted, 64-byte aligned buffer of elements that tensors (and their views) share.
public final class Storage {
    /// The raw memory.
    public let pointer: UnsafeMutableRawPointer
    /// Number of elements.
    public let count: Int
    /// The element type.
    public let dtype: DType
    private let capacity: Int

    /// Allocates `count` uninitialized elements of `dtype`.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        (pointer, capacity) = BufferCache.allocate(bytes: count * dtype.byteSize)
    }

    /// Allocates `count` zeroed elements of `dtype`.
    convenience init(zeros count: Int, dtype: DType) {
        self.init(count: count, dtype: dtype)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: count * dtype.byteSize)
    }

    deinit { BufferCache.release(pointer, capacity: capacity) }

    /// The memory typed as `T` (which must match `dtype`).
    @inline(__always) func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

/// Keeps freed large buffers for reuse, so that a training step does not map, fault in and
/// unmap fresh pages for every intermediate tensor (which costs more than the arithmetic on
/// them). Sizes are rounded up to classes 2^k·{1, 1.25, 1.5, 1.75}; at most `limit` bytes are
/// kept, and small buffers go straight to the system allocator.
enum BufferCache {
    static let minimumCached = 1 << 16
    nonisolated(unsafe) static var limit = 1 << 30
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0
    /// Bytes of large buffers (≥ 64 KiB) currently held by storages (for memory tests).
    nonisolated(unsafe) private(set) static var liveLargeBytes = 0
    private static let lock = NSLock()

    /// The capacity a request of `bytes` is served with.
    static func sizeClass(_ bytes: Int) -> Int {
        let b = max(bytes, 64)
        if b < minimumCached { return b }
        let top = Int.bitWidth - 1 - b.leadingZeroBitCount  // 2^top <= b
        let quarter = 1 << (top - 2)
        return (b + quarter - 1) / quarter * quarter
    }

    static func allocate(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let cap = sizeClass(bytes)
        if cap >= minimumCached {
            lock.lock()
            liveLargeBytes += cap
            if let p = free[cap]?.popLast() {
                cachedBytes -= cap
                lock.unlock()
                return (p, cap)
            }
            lock.unlock()
        }
        return (UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64), cap)
    }

    static func release(_ p: UnsafeMutableRawPointer, capacity: Int) {
        if capacity >= minimumCached {
            lock.lock()
            liveLargeBytes -= capacity
            if cachedBytes + capacity <= limit {
                free[capacity, default: []].append(p)
                cachedBytes += capacity
                lock.unlock()
                return
            }
            lock.unlock()
        }
        p.deallocate()
    }

    /// Returns every cached buffer to the system.
    static func empty() {
        lock.lock()
        for (_, list) in free { for p in list { p.deallocate() } }
        free = [:]
        cachedBytes = 0
        lock.unlock()
    }
}
