import ArgumentParser
import Descent
import Foundation

/// Benchmarks. Each prints `name value` lines (and JSON with --json) for Scripts/bench_compare.py,
/// which runs them side by side with PyTorch.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time Descent's kernels and workloads (compare with Scripts/bench_compare.py).",
        subcommands: [Workloads.self, Gemm.self, BenchDistributed.self, BenchPlot.self]
    )
}

/// Median wall time of `body` in milliseconds after `warmup` runs.
func medianMilliseconds(reps: Int, warmup: Int = 3, _ body: () -> Void) -> Double {
    timesMilliseconds(reps: reps, warmup: warmup, body).median
}

/// The median and the best of `reps` timed runs after `warmup` untimed ones, in milliseconds.
/// On a shared, noisy machine the best run is the one least disturbed by other work.
func timesMilliseconds(reps: Int, warmup: Int = 3, _ body: () -> Void) -> (median: Double, best: Double) {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    times.sort()
    return (times[times.count / 2], times[0])
}

struct Gemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GFLOP/s of float32 matmul on the benchmark shapes, in the forms forward and backward use.")

    /// (M, N, K) shapes: a linear layer's batch, a recurrent step, a conv as GEMM, a square.
    static let shapes = [(64, 256, 784), (32, 512, 128), (64, 16384, 576), (1024, 1024, 1024)]

    @Option(help: "Timed repetitions per shape (median reported).") var reps = 20
    @Option(help: "Forms to run: any of nn, nt, tn (A·B, A·Bᵀ, Aᵀ·B), comma-separated.") var forms = "nn,nt,tn"
    @Option(help: "Shapes MxNxK, comma-separated (default: 64x256x784,32x512x128,64x16384x576,1024x1024x1024).") var shapes: String?
    @Option(help: "Kernel for float32: automatic, avx512, blas or portable.") var backend: MatmulBackend?
    @Flag(help: "Print one JSON object instead of lines.") var json = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard reps >= 1 else { throw ValidationError("--reps must be at least 1, got \(reps)") }
        let bad = forms.split(separator: ",").filter { !["nn", "nt", "tn"].contains($0) }
        guard bad.isEmpty else { throw ValidationError("unknown form(s) \(bad.joined(separator: ", ")); use nn, nt or tn") }
        _ = try selectedShapes()
    }

    /// The shapes of `--shapes`, or the default benchmark shapes.
    func selectedShapes() throws -> [(Int, Int, Int)] {
        guard let shapes else { return Self.shapes }
        return try shapes.split(separator: ",").map { text in
            let sizes = text.split(separator: "x").compactMap { Int($0) }
            guard sizes.count == 3, sizes.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--shapes: '\(text)' is not MxNxK with three positive sizes (e.g. 64x256x784)")
            }
            return (sizes[0], sizes[1], sizes[2])
        }
    }

    func run() throws {
        try common.apply()
        if let backend { MatmulBackend.current = backend }
        Descent.manualSeed(0)
        var results: [(String, Double)] = [], best: [(String, Double)] = []
        for (m, n, k) in try selectedShapes() {
            for form in forms.split(separator: ",").map(String.init) {
                // Operands stored so that the product has the requested form.
                let a = form == "tn" ? Tensor.randn([k, m]).t : Tensor.randn([m, k])
                let b = form == "nt" ? Tensor.randn([n, k]).t : Tensor.randn([k, n])
                let repeats = m * n * k > 500_000_000 ? max(3, reps / 2) : reps
                let ms = timesMilliseconds(reps: repeats) { _ = a.matmul(b) }
                let flop = 2 * Double(m) * Double(n) * Double(k)
                results.append(("gemm_\(m)x\(n)x\(k)_\(form)", flop / (ms.median / 1e3) / 1e9))
                best.append(("best_gemm_\(m)x\(n)x\(k)_\(form)", flop / (ms.best / 1e3) / 1e9))
            }
        }
        if json {
            let body = (results + best).map { "\"\($0.0)\": \(String(format: "%.3f", $0.1))" }.joined(separator: ", ")
            print("{\(body)}")
        } else {
            print("# GFLOP/s (median and best run), float32, threads \(Descent.threads), kernel \(MatmulBackend.resolved.rawValue)\(MatmulBackend.resolved == .blas ? " (\(BLAS.name), core \(BLAS.coreType))" : "")")
            print("# shape_form median best")
            for ((name, v), (_, b)) in zip(results, best) { print("\(name) \(String(format: "%.2f %.2f", v, b))") }
        }
    }
}

extension MatmulBackend: ExpressibleByArgument {}

/// The process's memory as the kernel counts it.
enum MemoryUsage {
    /// Peak resident set size of this program so far, in bytes: VmHWM of /proc/self/status
    /// (getrusage's ru_maxrss would also count a parent's memory at the fork that started
    /// this process: 550 MB under a Python script that has imported torch).
    static var peakResidentBytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
}
