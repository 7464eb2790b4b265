import Foundation
import XCTest
@testable import Descent

/// The thread pool (threadpool.c): every task of every job runs exactly once, also with more
/// threads than CPUs (workers that wake late must not run a finished job's tasks), with jobs
/// started from several threads at once (all but one run serially) and with nested loops.
final class ParallelTests: XCTestCase {
    private final class Counts: @unchecked Sendable {
        let values: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            values = .allocate(capacity: count)
            values.initialize(repeating: 0, count: count)
        }
        deinit { values.deallocate() }
        func add(_ range: Range<Int>) { for i in range { values[i] += 1 } }
        var all: [Int] { Array(UnsafeBufferPointer(start: values, count: count)) }
    }

    func testEveryTaskRunsOnceAcrossManyJobs() {
        let saved = Descent.threads
        defer { Descent.threads = saved }
        for threads in [2, 5] {
            Descent.threads = threads
            let counts = Counts(64)
            for _ in 0..<5000 {
                Parallel.forRange(counts.count, cost: Parallel.grain) { counts.add($0) }
            }
            XCTAssertEqual(counts.all, [Int](repeating: 5000, count: 64), "threads \(threads)")
        }
    }

    func testConcurrentAndNestedJobs() {
        let saved = Descent.threads
        defer { Descent.threads = saved }
        Descent.threads = 3
        let callers = 4, jobs = 500, n = 24
        let counts = (0..<callers).map { _ in Counts(n * n) }
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            for _ in 0..<jobs {
                Parallel.forRange(n, cost: Parallel.grain) { outer in
                    for i in outer {
                        // A nested loop runs serially on the task's thread.
                        Parallel.forRange(n, cost: Parallel.grain) { inner in counts[c].add((i * n + inner.lowerBound)..<(i * n + inner.upperBound)) }
                    }
                }
            }
        }
        for c in 0..<callers { XCTAssertEqual(counts[c].all, [Int](repeating: jobs, count: n * n), "caller \(c)") }
    }

    /// After a job on 5 threads, a job on 2 uses at most 2 threads (the caller and one worker),
    /// although the pool keeps 4 workers.
    func testAJobUsesOnlyItsThreads() {
        let saved = Descent.threads
        defer { Descent.threads = saved }
        Descent.threads = 5
        Parallel.forRange(64, cost: Parallel.grain) { _ in }
        Descent.threads = 2
        let lock = NSLock()
        var seen = Set<Int>()
        for _ in 0..<2000 {
            Parallel.forRange(8, cost: Parallel.grain) { _ in
                let id = Int(bitPattern: UInt(pthread_self()))
                lock.lock(); seen.insert(id); lock.unlock()
                for _ in 0..<200 { _ = Parallel.threads }  // long enough for idle workers to try
            }
        }
        XCTAssertLessThanOrEqual(seen.count, 2)
        XCTAssertGreaterThanOrEqual(seen.count, 1)
    }
}
