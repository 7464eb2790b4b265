import Descent
import XCTest

final class DataLoaderTests: XCTestCase {
    /// 10 examples whose input is (i, 10i) and target i.
    static func numbers(_ n: Int = 10) -> TensorDataset {
        let x = Tensor(shape: [n, 2], scalars: (0..<n).flatMap { [Float($0), Float(10 * $0)] })
        return TensorDataset(inputs: x, targets: Tensor.arange(0, Double(n), dtype: .int64))
    }

    private func order(_ loader: DataLoader<TensorDataset>) -> [[Int64]] {
        loader.map { batch in
            XCTAssertEqual(batch.inputs.select(dim: 1, index: 0).toArray(Int64.self), batch.targets.toArray(Int64.self))
            return batch.targets.toArray(Int64.self)
        }
    }

    func testBatchesCoverEveryExampleOnce() {
        let data = Self.numbers()
        for (prefetch, shuffle) in [(false, false), (true, false), (false, true), (true, true)] {
            let loader = DataLoader(data, batchSize: 3, shuffle: shuffle, prefetch: prefetch)
            XCTAssertEqual(loader.count, 4)
            let batches = order(loader)
            XCTAssertEqual(batches.map(\.count), [3, 3, 3, 1])
            XCTAssertEqual(batches.joined().sorted(), Array(0..<10))
            if !shuffle { XCTAssertEqual(Array(batches.joined()), Array(0..<10)) }
        }
        let dropped = DataLoader(data, batchSize: 3, dropLast: true)
        XCTAssertEqual(dropped.count, 3)
        XCTAssertEqual(order(dropped).map(\.count), [3, 3, 3])
        XCTAssertEqual(DataLoader(data, batchSize: 20).count, 1)
        XCTAssertEqual(DataLoader(data, batchSize: 20, dropLast: true).count, 0)
    }

    /// The same seed gives the same orders; every pass draws a new one.
    func testShuffleIsSeededAndReshufflesEveryEpoch() {
        let data = Self.numbers(50)
        let a = DataLoader(data, batchSize: 50, shuffle: true, generator: Generator(seed: 7))
        let b = DataLoader(data, batchSize: 50, shuffle: true, generator: Generator(seed: 7))
        let a1 = order(a), a2 = order(a), b1 = order(b), b2 = order(b)
        XCTAssertEqual(a1, b1)
        XCTAssertEqual(a2, b2)
        XCTAssertNotEqual(a1, a2, "a second pass reshuffles")
        XCTAssertNotEqual(a1[0], Array(0..<50), "shuffled")
        // Without a generator, the global seed fixes the orders.
        Descent.manualSeed(3)
        let c = order(DataLoader(data, batchSize: 50, shuffle: true))
        Descent.manualSeed(3)
        XCTAssertEqual(order(DataLoader(data, batchSize: 50, shuffle: true)), c)
    }

    /// Leaving a pass early stops the background reader (no hang, no leak of the pass).
    func testLeavingAPassEarly() {
        let loader = DataLoader(Self.numbers(100), batchSize: 2, prefetch: true)
        for _ in 0..<20 {
            for (i, _) in loader.enumerated() where i == 3 { break }
        }
        XCTAssertEqual(order(loader).count, 50)
    }

    func testCollateAndExamples() {
        let data = Self.numbers()
        XCTAssertEqual(data[4].input.scalars, [4, 40])
        XCTAssertEqual(data[4].target.itemDouble, 4)
        // The default batch of a TensorDataset equals stacking its examples.
        let fast = data.batch(at: [2, 7, 5]), slow = Batch.collate([data[2], data[7], data[5]])
        XCTAssertEqual(fast.inputs.scalars, slow.inputs.scalars)
        XCTAssertEqual(fast.targets.toArray(Int64.self), slow.targets.toArray(Int64.self))
        // A custom collate step.
        let loader = DataLoader(data, batchSize: 4, collate: { examples in
            Batch(inputs: Tensor.stack(examples.map(\.input)) * 2, targets: Tensor.stack(examples.map(\.target)))
        })
        XCTAssertEqual(Array(loader)[1].inputs.scalars, [8, 80, 10, 100, 12, 120, 14, 140])
    }

    func testRandomSplit() {
        let data = Self.numbers(10)
        var g = Generator(seed: 1)
        let parts = randomSplit(data, lengths: [7, 3], generator: &g)
        XCTAssertEqual(parts.map(\.count), [7, 3])
        XCTAssertEqual((parts[0].indices + parts[1].indices).sorted(), Array(0..<10))
        XCTAssertEqual(parts[1].batch(at: [0, 1, 2]).targets.toArray(Int64.self), parts[1].indices.map { Int64($0) })
        var g2 = Generator(seed: 1)
        XCTAssertEqual(randomSplit(data, lengths: [7, 3], generator: &g2)[0].indices, parts[0].indices, "seeded")
        // Fractions: 10 × (0.33, 0.33, 0.34) → 3, 3, 3 and one left, to the first part.
        var g3 = Generator(seed: 2)
        XCTAssertEqual(randomSplit(data, fractions: [0.33, 0.33, 0.34], generator: &g3).map(\.count), [4, 3, 3])
    }
}
