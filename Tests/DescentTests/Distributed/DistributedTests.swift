@testable import Descent
import XCTest

/// The parts of distributed training that run in one process: the sampler (against PyTorch's),
/// the gradient hooks the reducer starts from, a group of one, and SyncBatchNorm's arithmetic.
/// Several ranks under mpirun: Tests/DescentCLITests/DistributedTrainingTests.
final class DistributedTests: XCTestCase {
    func testSamplerMatchesPyTorch() throws {
        let file = try Fixtures.load("distributed.safetensors")
        var cases = 0
        for n in [10, 7, 3, 12] {
            for replicas in 1...4 {
                for drop in [false, true] {
                    let name = "sampler/n\(n)_replicas\(replicas)_drop\(drop ? 1 : 0)"
                    for rank in 0..<replicas {
                        let sampler = DistributedSampler(count: n, replicas: replicas, rank: rank, shuffle: false, dropLast: drop)
                        let expected = try XCTUnwrap(file[name + "/rank\(rank)"]).toArray(Int64.self).filter { $0 >= 0 }.map(Int.init)
                        XCTAssertEqual(sampler.indices(), expected, "\(name) rank \(rank)")
                        XCTAssertEqual(sampler.count, try XCTUnwrap(file[name + "/count\(rank)"]).toArray(Int64.self).first.map(Int.init), name)
                    }
                    cases += 1
                }
            }
        }
        XCTAssertEqual(cases, file.metadata.count)
    }

    func testShuffledShardsCoverEveryExampleEachEpoch() {
        for replicas in [2, 3] {
            let samplers = (0..<replicas).map { DistributedSampler(count: 11, replicas: replicas, rank: $0, seed: 9) }
            var orders: [[Int]] = []
            for epoch in 0..<3 {
                for s in samplers { s.epoch = epoch }
                let shards = samplers.map { $0.indices() }
                XCTAssertEqual(Set(shards.joined()), Set(0..<11), "epoch \(epoch)")
                XCTAssertEqual(shards.joined().count, samplers[0].count * replicas)
                orders.append(shards[0])
            }
            XCTAssertNotEqual(orders[0], orders[1], "a new order every epoch")
        }
        // The loader draws its batches from the sampler.
        let data = DataLoaderTests.numbers(10)
        let sampler = DistributedSampler(count: 10, replicas: 3, rank: 1, shuffle: false)
        let loader = DataLoader(data, batchSize: 2, sampler: sampler)
        XCTAssertEqual(loader.count, 2)
        XCTAssertEqual(loader.map { $0.targets.toArray(Int64.self) }, [[1, 4], [7, 0]])
    }

    func testPostAccumulateHookSeesTheSummedGradient() {
        let w = Tensor([1.0, 2.0]).requiringGrad()
        var seen: [[Float]] = []
        let handle = w.registerPostAccumulateGradHook { seen.append($0.grad!.toArray(Float.self)) }
        (w * w).sum().backward()
        (w * 3).sum().backward()
        XCTAssertEqual(seen, [[2, 4], [5, 7]])
        handle.remove()
        (w * 1).sum().backward()
        XCTAssertEqual(seen.count, 2)
    }

    func testGroupOfOneAndDataParallelWrapper() throws {
        let group = ProcessGroup.single
        let t = Tensor([1.0, 2.0])
        group.allReduce(t, .mean)
        group.broadcast(t)
        XCTAssertEqual(t.toArray(Float.self), [1, 2])
        XCTAssertEqual(group.allGather(t).shape, [1, 2])
        XCTAssertEqual(group.allGather(bytes: [1, 2, 3]), [[1, 2, 3]])
        Descent.manualSeed(3)
        let net = Sequential([Linear(3, 200), ReLU(), Linear(200, 2)])
        let ddp = try DistributedDataParallel(net, group: group, bucketCapMB: 0.001)
        // Buckets from the last parameter to the first, each closed once it holds 1 KB or more
        // (bias 8 B + weight 1600 B; bias 800 B + weight 2400 B).
        XCTAssertEqual(ddp.buckets, [[3, 2], [1, 0]])
        XCTAssertEqual(ddp.namedParameters().map(\.name), ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"])
        let x = Tensor.randn([4, 3])
        XCTAssertEqual(ddp(x).toArray(Float.self), net(x).toArray(Float.self))
    }

    /// SyncBatchNorm's composite (statistics through allReducedSum) against the fused batchNorm
    /// in float64: outputs, input and parameter gradients, running statistics.
    func testSyncBatchNormArithmeticMatchesBatchNorm() {
        Descent.manualSeed(4)
        let x = Tensor.randn([4, 3, 5, 2], dtype: .float64).requiringGrad()
        let w = Tensor.randn([3], dtype: .float64).requiringGrad(), b = Tensor.randn([3], dtype: .float64).requiringGrad()
        let g = Tensor.randn([4, 3, 5, 2], dtype: .float64)
        let m1 = Tensor.zeros([3], dtype: .float64), v1 = Tensor.ones([3], dtype: .float64)
        let m2 = m1.clone(), v2 = v1.clone()
        let y1 = batchNorm(x, runningMean: m1, runningVar: v1, weight: w, bias: b, training: true, momentum: 0.1, eps: 1e-5)
        (y1 * g).sum().backward()
        let grads1 = [x.grad!, w.grad!, b.grad!]
        x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
        let y2 = syncBatchNorm(x, runningMean: m2, runningVar: v2, weight: w, bias: b, momentum: 0.1, eps: 1e-5, group: .single)
        (y2 * g).sum().backward()
        assertClose(y2, y1, rtol: 1e-12, atol: 1e-12)
        for (a, e) in zip([x.grad!, w.grad!, b.grad!], grads1) { assertClose(a, e, rtol: 1e-10, atol: 1e-12) }
        assertClose(m2, m1, rtol: 1e-12, atol: 1e-14)
        assertClose(v2, v1, rtol: 1e-12, atol: 1e-14)
        assertGradcheck("syncBatchNorm", [x, w, b]) { t in
            syncBatchNorm(t[0], runningMean: nil, runningVar: nil, weight: t[1], bias: t[2], momentum: 0.1, eps: 1e-5, group: .single)
        }
        assertGradcheck("allReducedSum", [x]) { t in ProcessGroup.single.allReducedSum(t[0] * t[0]) }
        // Converting makes every BatchNorm of a model synchronize; in a group of one it is BatchNorm.
        let net = Sequential([Conv2d(3, 3, kernelSize: 1), BatchNorm2d(3)])
        SyncBatchNorm.convert(net, group: .single)
        XCTAssertTrue((net.children[1] as! BatchNorm).processGroup === ProcessGroup.single)
    }

    func testNoLauncherMeansNoWorld() {
        XCTAssertNil(ProcessGroup.launcherWorldSize)
        XCTAssertNil(ProcessGroup.world)
    }
}
