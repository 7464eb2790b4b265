import Descent
import Foundation
import XCTest

/// Several models trained and evaluated at once on different threads of a program give the
/// same numbers, bit for bit, as each alone: grad mode and the default generator are per
/// thread, the kernels' scratch and the thread pool are shared safely. And the same seed and
/// thread count give the same weights run after run.
final class ThreadingTests: XCTestCase {
    /// Trains a small CNN (conv, batch norm, dropout, linear) for a few epochs from `seed`, with
    /// evaluation under `withNoGrad` between epochs; returns every parameter's values and the
    /// evaluation outputs.
    static func trainAndEvaluate(seed: UInt64) -> [Float] {
        Descent.manualSeed(seed)
        let x = Tensor.randn([48, 1, 8, 8]), y = Tensor.randint([48], high: 10)
        let model = Sequential {
            Conv2d(1, 6, kernelSize: 3, padding: 1); BatchNorm2d(6); ReLU(); MaxPool2d(2)
            Dropout(p: 0.2); Flatten(); Linear(6 * 4 * 4, 10)
        }
        let optimizer = Adam(model.parameters(), lr: 0.01)
        let loader = DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 16, shuffle: true)
        var evaluations: [Float] = []
        for _ in 0..<3 {
            model.train()
            for batch in loader {
                let loss = crossEntropy(model(batch.inputs), batch.targets)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
            model.eval()
            let out = withNoGrad { model(x.narrow(dim: 0, start: 0, length: 8)) }
            XCTAssertFalse(out.requiresGrad)
            evaluations += out.toArray(Float.self)
        }
        return model.parameters().flatMap { $0.toArray(Float.self) } + evaluations
    }

    func testFourModelsOnFourThreadsMatchEachAlone() {
        let seeds: [UInt64] = [1, 2, 3, 4]
        let alone = seeds.map { Self.trainAndEvaluate(seed: $0) }
        XCTAssertNotEqual(alone[0], alone[1], "different seeds should give different models")
        let together = Results(count: seeds.count), group = DispatchGroup()
        for (i, seed) in seeds.enumerated() {
            group.enter()
            let thread = Thread {
                let result = Self.trainAndEvaluate(seed: seed)
                together.set(i, result)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        for i in seeds.indices { XCTAssertEqual(together.get(i), alone[i], "model \(i) trained on its own thread differs") }
        // The main thread's grad mode and generator were not touched by the others.
        XCTAssertTrue(isGradEnabled)
    }

    /// withNoGrad on one thread leaves another thread recording.
    func testGradModeIsPerThread() {
        let inside = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        let otherRecords = Results(count: 1)
        Thread {
            let x = Tensor.randn([3]).requiringGrad()
            inside.wait()  // the main thread is inside withNoGrad now
            otherRecords.set(0, [(x * 2).requiresGrad ? 1 : 0])
            checked.signal()
        }.start()
        withNoGrad {
            inside.signal()
            checked.wait()
            XCTAssertFalse((Tensor.randn([3]).requiringGrad() * 2).requiresGrad)
        }
        XCTAssertEqual(otherRecords.get(0), [1])
    }

    /// Same seed, same thread count: the same bits, twice, on the main thread.
    func testSameSeedSameWeights() {
        XCTAssertEqual(Self.trainAndEvaluate(seed: 9), Self.trainAndEvaluate(seed: 9))
    }

    /// Results written by other threads.
    final class Results: @unchecked Sendable {
        private var values: [[Float]]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: [], count: count) }
        func set(_ i: Int, _ v: [Float]) { lock.lock(); values[i] = v; lock.unlock() }
        func get(_ i: Int) -> [Float] { lock.lock(); defer { lock.unlock() }; return values[i] }
    }
}
