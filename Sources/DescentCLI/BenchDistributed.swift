import ArgumentParser
import Descent
import Foundation

/// Step times of data-parallel training and the cost model of DISTRIBUTED.md. Alone, it times
/// each workload's step on one process and predicts the step on 2–64 nodes; under
/// `mpirun -np N` it times the data-parallel step (the global batch split over the ranks), the
/// step without communication, and all-reduces of several sizes, fits the all-reduce's
/// latency and bandwidth, and compares the model's step time with the measured one.
struct BenchDistributed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed", abstract: "Data-parallel step times, all-reduce fit and the cost model's predictions (alone or under mpirun).")

    @Option(help: "Timed repetitions (median reported).") var reps = 20
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard reps >= 1 else { throw ValidationError("--reps must be at least 1, got \(reps)") }
    }

    /// A workload: its model, global batch and input shape (as torch_reference.py's).
    struct Workload {
        let name: String, batch: Int, input: [Int], build: () -> Module
    }

    static let workloads = [
        Workload(name: "cnn_train_b64", batch: 64, input: [1, 28, 28]) { Workloads.cnn(batchNorm: false) },
        Workload(name: "resnet_train_b32_32x32", batch: 32, input: [3, 32, 32]) { BenchModels.resnet() },
    ]

    /// Link assumptions of the predictions: bandwidth in bytes/s and the per-message latency α.
    static let links: [(name: String, bytesPerSecond: Double, latency: Double)] = [
        ("10 Gb/s Ethernet, α = 25 µs", 10e9 / 8, 25e-6), ("100 Gb/s (RDMA), α = 5 µs", 100e9 / 8, 5e-6),
    ]

    /// Ring all-reduce of `bytes` over `n` ranks: 2(n−1)/n · bytes / bandwidth + 2(n−1)·α.
    static func ringAllReduce(bytes: Double, ranks n: Int, bytesPerSecond: Double, latency: Double) -> Double {
        n <= 1 ? 0 : 2 * Double(n - 1) / Double(n) * bytes / bytesPerSecond + 2 * Double(n - 1) * latency
    }

    func run() throws {
        try common.apply()
        let launch = try TrainLaunch.start()
        try launch.run { try measure(launch) }
    }

    func measure(_ launch: TrainLaunch) throws {
        let group = launch.group, n = group.worldSize
        func say(_ line: String) { if launch.isLeader { print(line) } }
        say("\(n) process\(n == 1 ? "" : "es") × \(Descent.threads) thread\(Descent.threads == 1 ? "" : "s")" + (n > 1 ? " (\(group.backend))" : ""))
        // All-reduce times of several sizes, and a straight-line fit t = a + b·bytes.
        var fit: (latency: Double, bytesPerSecond: Double)? = nil
        if n > 1 {
            var points: [(Double, Double)] = []
            for floats in [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22] {
                let t = Tensor.zeros([floats])
                group.barrier()
                let ms = medianMilliseconds(reps: reps) { group.allReduce(t) }
                let slowest = Tensor([ms], dtype: .float64)
                group.allReduce(slowest, .max)
                points.append((Double(floats * 4), slowest.toArray(Double.self)[0] / 1e3))
                say(String(format: "all-reduce %9d bytes: %8.3f ms", floats * 4, slowest.toArray(Double.self)[0]))
            }
            // Least squares on relative errors (weights 1/t²), so that the small sizes fix the
            // latency as much as the large ones fix the bandwidth.
            let w = points.map { 1 / ($0.1 * $0.1) }, sw = w.reduce(0, +)
            let mx = zip(w, points).map { $0 * $1.0 }.reduce(0, +) / sw, my = zip(w, points).map { $0 * $1.1 }.reduce(0, +) / sw
            let b = zip(w, points).map { $0 * ($1.0 - mx) * ($1.1 - my) }.reduce(0, +) / zip(w, points).map { $0 * ($1.0 - mx) * ($1.0 - mx) }.reduce(0, +)
            let a = my - b * mx
            // For a ring: a = 2(n−1)·α, b = 2(n−1)/n / bandwidth.
            fit = (max(a, 0) / Double(2 * (n - 1)), 2 * Double(n - 1) / Double(n) / b)
            say(String(format: "fit: α = %.1f µs, bandwidth = %.2f GB/s (this machine's shared memory)", fit!.latency * 1e6, fit!.bytesPerSecond / 1e9))
        }
        for w in Self.workloads {
            Descent.manualSeed(0)
            let local = w.batch / n
            let model = w.build()
            let x = Tensor.randn([local] + w.input), y = Tensor.randint([local], high: 10)
            let bytes = Double(model.parameters().reduce(0) { $0 + $1.count } * 4)
            group.barrier()
            let compute = medianMilliseconds(reps: reps, Workloads.trainStep(model, x, y))
            var line = String(format: "%@: global batch %d, %.0f KB of gradients; step without communication %.2f ms", w.name, w.batch, bytes / 1024, compute)
            if n > 1 {
                let ddp = try DistributedDataParallel(model, group: group)
                group.barrier()
                let step = medianMilliseconds(reps: reps, Workloads.trainStep(ddp, x, y))
                let slowest = Tensor([step, compute], dtype: .float64)
                group.allReduce(slowest, .max)
                let (s, c) = (slowest.toArray(Double.self)[0], slowest.toArray(Double.self)[1])
                let predicted = c + 1e3 * Self.ringAllReduce(bytes: bytes, ranks: n, bytesPerSecond: fit!.bytesPerSecond, latency: fit!.latency)
                line = String(format: "%@: global batch %d (%d per rank), %.0f KB of gradients; data-parallel step %.2f ms, without communication %.2f ms; model %.2f ms",
                              w.name, w.batch, local, bytes / 1024, s, c, predicted)
            }
            say(line)
            guard n == 1 else { continue }
            // Weak scaling on nodes like this one: each node keeps the workload's batch.
            for link in Self.links {
                let cells = [2, 4, 8, 16, 32, 64].map { nodes -> String in
                    let step = compute + 1e3 * Self.ringAllReduce(bytes: bytes, ranks: nodes, bytesPerSecond: link.bytesPerSecond, latency: link.latency)
                    return String(format: "%d: %.2f ms (%.0f%%)", nodes, step, 100 * compute / step)
                }
                say("  predicted step (efficiency) on N nodes, \(link.name): " + cells.joined(separator: ", "))
            }
        }
    }
}
