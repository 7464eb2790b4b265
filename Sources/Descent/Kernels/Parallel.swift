import CDescentKernels

/// The library's single thread setting and its parallel loops.
enum Parallel {
    /// Threads used by Descent's own loops and by BLAS (see `Descent.threads`).
    static let threadsCell = GlobalCell<Int>({
        let n = Int(dk_available_cpus())
        return n > 0 ? n : max(1, System.activeProcessorCount)
    }())
    static var threads: Int {
        @inline(__always) get { threadsCell.value }
        set { threadsCell.value = newValue }
    }

    /// Work below this many elements per thread is not worth a thread hand-off.
    static let grain = 32_768

    /// Runs `body` over `0..<n` split into contiguous ranges, one per thread, when the work
    /// (`n * cost` element-operations) is large enough; otherwise runs it once inline.
    @inline(__always)
    static func forRange(_ n: Int, cost: Int = 1, chunksPerThread: Int = 4, _ body: (Range<Int>) -> Void) {
        // Up to `chunksPerThread` chunks per thread, each worth at least `grain`: threads that
        // finish early take the remaining chunks (the pool hands them out dynamically).
        let chunks = min(n, chunksPerThread * threads, max(1, n * cost / grain))
        if chunks <= 1 || threads <= 1 {
            if n > 0 { body(0..<n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let job = Job { i in
                let lo = n * i / chunks, hi = n * (i + 1) / chunks
                if lo < hi { body(lo..<hi) }
            }
            let ctx = Unmanaged.passUnretained(job).toOpaque()
            dk_parallel_for(Int64(chunks), Int32(threads), { ctx, i in
                Unmanaged<Job>.fromOpaque(ctx!).takeUnretainedValue().run(Int(i))
            }, ctx)
            withExtendedLifetime(job) {}
        }
    }

    /// A parallel loop's body, handed to the C pool through an opaque pointer.
    private final class Job {
        let run: (Int) -> Void
        init(_ run: @escaping (Int) -> Void) { self.run = run }
    }
}

enum System {
    static var activeProcessorCount: Int {
        #if os(Linux)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if os(Linux)
import Glibc
#else
import Darwin
#endif
