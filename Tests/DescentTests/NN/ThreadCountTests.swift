import Descent
import Foundation
import XCTest

/// Which results depend on the thread count. Each op runs forward and backward with 1 and with
/// 2 threads on the same inputs; the largest difference, relative to the largest value, is what
/// README.md's "Determinism" section states.
final class ThreadCountTests: XCTestCase {
    /// The outputs and input gradients of `op` on inputs made from `seed`, with `threads`.
    static func run(threads: Int, _ op: ([Tensor]) -> Tensor, inputs shapes: [[Int]]) -> [[Float]] {
        let saved = Descent.threads
        defer { Descent.threads = saved }
        Descent.threads = threads
        Descent.manualSeed(42)
        let xs = shapes.map { Tensor.randn($0).requiringGrad() }
        let out = op(xs)
        (out * Tensor.randn(out.shape)).sum().backward()
        return [out.toArray(Float.self)] + xs.map { $0.grad!.toArray(Float.self) }
    }

    static func difference(_ a: [[Float]], _ b: [[Float]]) -> Double {
        var worst = 0.0
        for (x, y) in zip(a, b) {
            let scale = Double(x.map { abs($0) }.max() ?? 1)
            for (u, v) in zip(x, y) { worst = max(worst, Double(abs(u - v)) / max(scale, 1e-30)) }
        }
        return worst
    }

    /// The ops, and whether their results may change with the thread count: those built on
    /// matrix products (the BLAS splits its work by threads; convolutions also sum their weight
    /// gradient in per-chunk parts).
    static let ops: [(name: String, mayDiffer: Bool, shapes: [[Int]], op: ([Tensor]) -> Tensor)] = [
        ("matmul 256×512·512×256", true, [[256, 512], [512, 256]], { $0[0].matmul($0[1]) }),
        ("conv2d 3×3, 16→32, batch 16", true, [[16, 16, 12, 12], [32, 16, 3, 3]], { conv2d($0[0], $0[1], padding: 1) }),
        ("sum of 256K values", false, [[1 << 18]], { $0[0].sum() }),
        ("batchNorm2d, batch 16", false, [[16, 32, 12, 12]], { batchNorm($0[0], runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true) }),
        ("crossEntropy, 1024×200", false, [[1024, 200]], { crossEntropy($0[0], Tensor.randint([1024], high: 200)) }),
        ("relu, 256K values", false, [[1 << 18]], { $0[0].relu() }),
        ("LSTM, 10 steps, batch 32, 96 units", true, [[10, 32, 32]], { x in
            Descent.manualSeed(7)
            return LSTM(32, 96)(x[0]).output
        }),
        ("convTranspose2d 4×4 stride 2, 32→16", true, [[16, 32, 8, 8], [32, 16, 4, 4]], { convTranspose2d($0[0], $0[1], stride: 2, padding: 1) }),
    ]

    /// Same thread count: the same bits. 1 against 2 threads: the same bits, except for the
    /// matrix-product ops, which stay within 1e-5 of the largest value (measured here: at most
    /// 1.1e-6 with OpenBLAS, 2.3e-7 with the built-in GEMM).
    func testResultsAcrossThreadCounts() {
        for (name, mayDiffer, shapes, op) in Self.ops {
            let one = Self.run(threads: 1, op, inputs: shapes), two = Self.run(threads: 2, op, inputs: shapes)
            let again = Self.run(threads: 2, op, inputs: shapes)
            XCTAssertEqual(Self.difference(two, again), 0, "\(name): two runs with 2 threads differ")
            let across = Self.difference(one, two)
            if mayDiffer { XCTAssertLessThan(across, 1e-5, name) } else { XCTAssertEqual(across, 0, "\(name) depends on the thread count") }
        }
    }
}
