import ArgumentParser
import Descent
import Foundation

/// Distributed scenarios for the tests, run as one process or under `mpirun -np N`:
/// `descent dist-check NAME`. Rank 0 prints `NAME: value` lines; not listed in --help.
struct DistCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dist-check", abstract: "Run a distributed scenario (for tests).", shouldDisplay: false)

    @Argument(help: "collectives, train, sampler, mismatch, raise or hang.") var scenario: String
    @Option(help: "train: the model, mlp or bn (BatchNorm, synchronized).") var model = "mlp"
    @Option(help: "train: micro-batches per step (the first ones under noSync).") var accumulate = 1
    @Option(help: "train: where rank 0 writes the final parameters.") var output: String?
    @Option(help: "hang: the collective timeout in seconds after the first barrier (60 before).") var timeout = 30.0

    func run() throws {
        let group = ProcessGroup.launcherWorldSize != nil ? try ProcessGroup.initialize(timeout: 60) : ProcessGroup.single
        defer { group.finalize() }
        func say(_ line: String) { if group.rank == 0 { print(line) } }
        switch scenario {
        case "collectives":
            let r = Double(group.rank)
            let sum = Tensor([r + 1, 10 * r], dtype: .float64), mean = Tensor([r + 1, 2 * r]), max = Tensor([r, -r])
            group.allReduce(sum)
            group.allReduce(mean, .mean)
            group.allReduce(max, .max)
            let fromOne = Tensor([r, r])
            group.broadcast(fromOne, from: group.worldSize - 1)
            let gathered = group.allGather(Tensor([r, r * r]))
            let bytes = group.allGather(bytes: Array(String(repeating: "x", count: group.rank + 1).utf8)).map(\.count)
            let text = String(decoding: group.broadcast(bytes: group.rank == 0 ? Array("from rank 0".utf8) : [], from: 0), as: UTF8.self)
            // Every rank checks what it received; rank 0 prints its values.
            let agree = Tensor([sum.sum().itemDouble, mean.sum().itemDouble, fromOne.sum().itemDouble], dtype: .float64)
            let low = agree.clone(), high = agree.clone()
            group.allReduce(high, .max)
            low.mulAssign(Tensor(-1, dtype: .float64))
            group.allReduce(low, .max)
            say("world: \(group.worldSize)")
            say("sum: \(sum.toArray(Double.self))")
            say("mean: \(mean.toArray(Float.self))")
            say("max: \(max.toArray(Float.self))")
            say("broadcast: \(fromOne.toArray(Float.self))")
            say("gather: \(gathered.toArray(Float.self))")
            say("gather-bytes: \(bytes)")
            say("broadcast-bytes: \(text)")
            say("ranks agree: \((high + low).abs().max().itemDouble == 0)")
        case "train": try train(group, say: say)
        case "sampler":
            let n = 10
            var counts = [Double](repeating: 0, count: n)
            let sampler = DistributedSampler(count: n, replicas: group.worldSize, rank: group.rank, seed: 7)
            for epoch in 0..<3 {
                sampler.epoch = epoch
                let mine = sampler.indices()
                var mineCounts = [Double](repeating: 0, count: n)
                for i in mine { mineCounts[i] += 1 }
                let seen = Tensor(mineCounts, dtype: .float64)
                group.allReduce(seen)
                counts = seen.toArray(Double.self)
                say("epoch \(epoch): per rank \(mine.count), times seen \(counts.map { Int($0) })")
            }
        case "mismatch":
            let width = group.rank == 1 ? 5 : 4
            do {
                _ = try DistributedDataParallel(Sequential([Linear(3, width), ReLU(), Linear(width, 2)]), group: group)
                say("wrapped")
            } catch {
                print("rank \(group.rank): \(error)")
                throw ExitCode(3)
            }
        case "raise":
            group.barrier()
            if group.rank == 1 { group.abort("Error: data file 'shard-1.csv': no such file") }
            group.allReduce(Tensor([1.0]))
            say("not reached")
        case "hang":
            group.barrier()
            group.timeout = timeout
            if group.rank == 1 { Thread.sleep(forTimeInterval: 600) }
            group.allReduce(Tensor([1.0]))
            say("not reached")
        default:
            throw ValidationError("unknown scenario '\(scenario)'")
        }
    }

    /// A few SGD steps on a fixed data set of 64 examples with global batches of 16 (each rank
    /// its share through DistributedSampler): one process and N ranks must end with the same
    /// parameters.
    func train(_ group: ProcessGroup, say: (String) -> Void) throws {
        guard 16 % (group.worldSize * accumulate) == 0 else { throw ValidationError("16 examples per step do not split over \(group.worldSize) ranks × \(accumulate)") }
        Descent.manualSeed(11)
        let images = Tensor.randn([64, 1, 6, 6])
        let labels = Tensor.randint([64], low: 0, high: 3)
        Descent.manualSeed(5)
        let net: Module = model == "bn"
            ? Sequential([Conv2d(1, 4, kernelSize: 3), BatchNorm2d(4), ReLU(), Flatten(), Linear(64, 3)])
            : Sequential([Flatten(), Linear(36, 16), Tanh(), Linear(16, 3)])
        if model == "bn" { SyncBatchNorm.convert(net, group: group) }
        let ddp = try DistributedDataParallel(net, group: group, bucketCapMB: 0.0002)
        let opt = SGD(ddp.parameters(), lr: 0.1, momentum: 0.9)
        let sampler = DistributedSampler(count: 64, replicas: group.worldSize, rank: group.rank, seed: 3)
        let perRank = 16 / group.worldSize
        for epoch in 0..<2 {
            sampler.epoch = epoch
            let mine = sampler.indices()
            for step in 0..<(mine.count / perRank) {
                let batch = Array(mine[(step * perRank)..<((step + 1) * perRank)])
                opt.zeroGrad()
                let micro = perRank / accumulate
                for m in 0..<accumulate {
                    let part = Tensor(batch[(m * micro)..<((m + 1) * micro)].map { $0 })
                    let pass = { (crossEntropy(ddp(images.indexSelect(dim: 0, index: part)), labels.indexSelect(dim: 0, index: part)) / Double(accumulate)).backward() }
                    if m < accumulate - 1 { ddp.noSync(pass) } else { pass() }
                }
                opt.step()
            }
        }
        say("buckets: \(ddp.buckets.count)")
        say("ranks identical: \(TrainLaunch.compare(net, over: group).differing == nil)")
        if group.rank == 0, let output { try net.stateDict().save(to: output) }
    }
}
